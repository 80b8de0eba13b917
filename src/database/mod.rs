//! The connection to PostgreSQL: the configured server or the managed local cluster, the
//! pool with the timeouts the event log relies on, and the embedded migrations.

pub mod managed;
pub mod scratch;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::str::FromStr;
use std::time::Duration;

use crate::config::Config;
pub use managed::ManagedPostgres;

/// Migrations embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// No statement of Insats runs longer than this unless it says so (`SET LOCAL`).
pub const STATEMENT_TIMEOUT: &str = "30s";
/// A transaction left idle is ended, so it cannot hold the log's read horizon back.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "10s";

/// A connection idle this long is asked whether it still lives before it is used again.
/// One in steady use is not: sqlx would otherwise send a round trip of its own before
/// every statement, and it already sends one after every statement as the connection goes
/// back to the pool (which is where a connection broken while in use is found).
pub const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// The database Insats works against.
pub struct Database {
    pub pool: PgPool,
    /// Present when Insats runs its own cluster; stops it when dropped.
    pub managed: Option<ManagedPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or creates and starts the managed cluster. The pool
    /// connects lazily, so a server that is down now is retried later, not fatal.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let (options, managed) = match &config.database_url {
            Some(url) => (
                PgConnectOptions::from_str(url)
                    .context("DATABASE_URL is not a valid PostgreSQL URL")?,
                None,
            ),
            None => {
                let data_dir = config.data_dir.clone();
                let managed =
                    tokio::task::spawn_blocking(move || ManagedPostgres::start(&data_dir))
                        .await
                        .context("The managed PostgreSQL start-up was interrupted")??;
                create_managed_database(&managed).await?;
                (managed.connect_options(), Some(managed))
            }
        };
        let pool = pool(options, config.pool_size);
        Ok(Self { pool, managed })
    }

    /// Closes the pool, then stops the managed cluster if this process started it.
    pub async fn close(mut self) {
        self.pool.close().await;
        if let Some(mut managed) = self.managed.take() {
            let _ = tokio::task::spawn_blocking(move || managed.stop()).await;
        }
    }
}

/// The pool, with the session settings every connection of Insats gets.
pub fn pool(options: PgConnectOptions, size: u32) -> PgPool {
    let options = options.application_name("insats").options([
        ("statement_timeout", STATEMENT_TIMEOUT),
        (
            "idle_in_transaction_session_timeout",
            IDLE_IN_TRANSACTION_TIMEOUT,
        ),
        ("timezone", "UTC"),
        // Insats's queries are short and planned against small estimates on fresh
        // read-model tables; JIT compilation costs them 100–300 ms each and gains nothing.
        ("jit", "off"),
    ]);
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_WHEN_IDLE_FOR {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options)
}

/// Applies the embedded migrations.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("Failed to apply the database migrations")
}

/// The managed cluster has only the `postgres` database at first.
async fn create_managed_database(managed: &ManagedPostgres) -> anyhow::Result<()> {
    let mut connection =
        PgConnection::connect_with(&managed.connect_options().database("postgres"))
            .await
            .context("Failed to connect to the managed PostgreSQL")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(managed::MANAGED_DATABASE)
            .fetch_one(&mut connection)
            .await?;
    if !exists {
        sqlx::query("CREATE DATABASE insats")
            .execute(&mut connection)
            .await
            .context("Failed to create the insats database in the managed PostgreSQL")?;
    }
    connection.close().await?;
    Ok(())
}
