//! Throwaway databases for the tests and benchmarks: each one a fresh copy of a migrated
//! template, dropped when it goes out of scope.
//!
//! The server is found once per process, in this order:
//! 1. `INSATS_TEST_DATABASE_URL`, a superuser URL (e.g. `postgres://postgres@127.0.0.1:5432/postgres`);
//! 2. a PostgreSQL on `127.0.0.1:5432` that lets the `postgres` user in;
//! 3. a managed cluster under `target/insats-test-data` (or `INSATS_TEST_DATA_DIR`), started
//!    on first use and left running for the next test run (stop it with `pg_ctl stop -D …`).

use anyhow::Context;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::OnceCell;

use super::{MIGRATOR, ManagedPostgres};

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The test server's superuser connection options (to its `postgres` database).
static SERVER: OnceCell<PgConnectOptions> = OnceCell::const_new();
/// The migrated template's name, once made.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// A database that exists until this value is dropped.
pub struct ScratchDatabase {
    pub pool: PgPool,
    name: String,
    options: PgConnectOptions,
}

impl ScratchDatabase {
    /// A fresh, migrated database with a pool of `pool_size` connections configured as
    /// Insats configures its own.
    pub async fn create(pool_size: u32) -> anyhow::Result<Self> {
        let server = server().await?;
        let template = TEMPLATE.get_or_try_init(|| make_template(server)).await?;
        Self::copy(template, "", pool_size).await
    }

    /// A fresh copy of the database `source`, which this process made and kept with
    /// [`ScratchDatabase::keep_copy`] (nobody may be connected to it).
    pub async fn copy_of(source: &str, pool_size: u32) -> anyhow::Result<Self> {
        // Copied file by file: the kept databases are large, the migrated template is not.
        Self::copy(source, "STRATEGY FILE_COPY", pool_size).await
    }

    async fn copy(source: &str, strategy: &str, pool_size: u32) -> anyhow::Result<Self> {
        let server = server().await?;
        let name = format!("insats_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(server).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {source} {strategy}"
        )))
        .execute(&mut admin)
        .await
        .with_context(|| format!("Failed to create a database from {source}"))?;
        admin.close().await?;
        let options = server.clone().database(&name);
        let pool = super::pool(options.clone(), pool_size);
        Ok(Self {
            pool,
            name,
            options,
        })
    }

    /// Whether the database `name` exists on the scratch server.
    pub async fn exists(name: &str) -> anyhow::Result<bool> {
        let mut admin = PgConnection::connect_with(server().await?).await?;
        let exists =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut admin)
                .await?;
        admin.close().await?;
        Ok(exists)
    }

    /// Keeps a copy of this database as `name` (replacing one of that name) that outlives
    /// this value, for [`ScratchDatabase::copy_of`]. The pool's connections are closed for
    /// the copy and the pool opened again.
    pub async fn keep_copy(&mut self, name: &str) -> anyhow::Result<()> {
        let server = server().await?;
        self.pool.close().await;
        let mut admin = PgConnection::connect_with(server).await?;
        for statement in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!(
                "CREATE DATABASE {name} TEMPLATE {} STRATEGY FILE_COPY",
                self.name
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut admin)
                .await
                .with_context(|| format!("Failed to keep a copy as {name}"))?;
        }
        admin.close().await?;
        let size = self.pool.options().get_max_connections();
        self.pool = super::pool(self.options.clone(), size);
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection options for this database, as the server's superuser.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// A `DATABASE_URL` for this database, for an `insats` child process.
    pub fn url(&self) -> String {
        let options = &self.options;
        let user = options.get_username();
        match options.get_socket() {
            Some(socket) => format!(
                "postgres://{user}@localhost/{}?host={}",
                self.name,
                socket.display()
            ),
            None => format!(
                "postgres://{user}@{}:{}/{}",
                options.get_host(),
                options.get_port(),
                self.name
            ),
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let Some(server) = SERVER.get().cloned() else {
            return;
        };
        let name = std::mem::take(&mut self.name);
        // Drop may run inside a runtime, which cannot block on another; use a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect_with(&server).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop a test database: {error:#}");
        }
    }
}

async fn server() -> anyhow::Result<&'static PgConnectOptions> {
    SERVER.get_or_try_init(find_server).await
}

async fn find_server() -> anyhow::Result<PgConnectOptions> {
    if let Ok(url) = std::env::var("INSATS_TEST_DATABASE_URL") {
        return PgConnectOptions::from_str(&url)
            .context("INSATS_TEST_DATABASE_URL is not a valid URL");
    }
    let local = PgConnectOptions::from_str(DEFAULT_SERVER)?;
    let probe =
        tokio::time::timeout(Duration::from_secs(2), PgConnection::connect_with(&local)).await;
    if let Ok(Ok(connection)) = probe {
        connection.close().await?;
        return Ok(local);
    }
    let data_dir = std::env::var_os("INSATS_TEST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/insats-test-data")
        });
    let managed = tokio::task::spawn_blocking(move || ManagedPostgres::start(&data_dir)).await??;
    let options = managed.connect_options().database("postgres");
    // Left running for the next test process; see the module docs.
    managed.keep_running();
    Ok(options)
}

/// Creates `insats_template_<migrations>` once per set of migrations, under an advisory
/// lock so that concurrent test processes make it once.
async fn make_template(server: &PgConnectOptions) -> anyhow::Result<String> {
    let mut fingerprint = Sha256::new();
    for migration in MIGRATOR.iter() {
        fingerprint.update(migration.version.to_be_bytes());
        fingerprint.update(&*migration.checksum);
    }
    let name = format!(
        "insats_template_{}",
        &hex::encode(fingerprint.finalize())[..16]
    );

    let mut admin = PgConnection::connect_with(server).await?;
    sqlx::query("SELECT pg_advisory_lock(7215630)")
        .execute(&mut admin)
        .await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let building = format!("{name}_building");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
            .execute(&mut admin)
            .await?;
        let mut connection =
            PgConnection::connect_with(&server.clone().database(&building)).await?;
        MIGRATOR
            .run(&mut connection)
            .await
            .context("Failed to migrate the test template")?;
        connection.close().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {name}"
        )))
        .execute(&mut admin)
        .await?;
    }
    sqlx::query("SELECT pg_advisory_unlock(7215630)")
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(name)
}
