//! Building and running the HTTP server.

use anyhow::Context;
use sqlx::PgPool;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crate::database;
use crate::privacy::Keyring;
use crate::projections::runtime::Runtime;
use crate::web::{self, AppState};

/// A bound, not yet running, Insats server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    projections: Arc<Mutex<Option<Runtime>>>,
}

impl Application {
    /// Binds `addr` (port 0 picks a free port) and prepares the state. The schema is
    /// brought up to date in the background, retrying while the database is unreachable;
    /// until then `/healthz` answers 503.
    pub async fn build(addr: SocketAddr, pool: PgPool, keyring: Keyring) -> anyhow::Result<Self> {
        Self::build_with(addr, pool, keyring, crate::web::Settings::default()).await
    }

    /// Like [`Application::build`], with the web settings from the configuration.
    pub async fn build_with(
        addr: SocketAddr,
        pool: PgPool,
        keyring: Keyring,
        settings: crate::web::Settings,
    ) -> anyhow::Result<Self> {
        crate::accounts::password::init_allocator();
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("Failed to listen on {addr}"))?;
        let state = AppState::new(pool, settings, keyring);
        let projections = Arc::new(Mutex::new(None));
        tokio::spawn(prepare_database(state.clone(), projections.clone()));
        Ok(Self {
            listener,
            state,
            projections,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr(), "Insats is listening");
        let app = web::router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("The HTTP server failed");
        let runtime = self.projections.lock().await.take();
        if let Some(runtime) = runtime {
            runtime.stop().await;
        }
        served
    }
}

/// Applies the migrations and, on first start, imports the bundled plan; retries with
/// back-off until the database answers. Then starts the projections.
async fn prepare_database(state: AppState, projections: Arc<Mutex<Option<Runtime>>>) {
    let mut delay = Duration::from_millis(250);
    loop {
        let prepared = async {
            database::migrate(&state.pool).await?;
            state
                .services
                .privacy()
                .keyring()
                .check(&state.pool)
                .await?;
            state.services.import_bundled_plan_if_empty().await?;
            anyhow::Ok(())
        };
        match prepared.await {
            Ok(()) => {
                let runtime =
                    Runtime::start(state.pool.clone(), state.events.notifier().subscribe());
                *projections.lock().await = Some(runtime);
                state.schema_ready.store(true, Ordering::Release);
                tokio::spawn(seal_periodically(state.events.clone()));
                tokio::spawn(forget_old_submissions(state.pool.clone()));
                match notifier(&state) {
                    Ok(Some(notifier)) => {
                        tokio::spawn(crate::notifications::run_periodically(
                            notifier,
                            NOTIFY_EVERY,
                        ));
                    }
                    Ok(None) => tracing::info!(
                        "mail is off (no INSATS_SMTP_URL): reminders are only in the app"
                    ),
                    Err(error) => {
                        tracing::error!(error = %format!("{error:#}"), "reminder mails cannot start")
                    }
                }
                if let Some(kolada) = state.settings.daily_kolada.clone() {
                    tokio::spawn(fetch_indicators_daily(state.clone(), kolada));
                }
                return;
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), retry_in = ?delay, "the database is not ready");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// How often reminders are decided and the outbox sent.
const NOTIFY_EVERY: Duration = Duration::from_secs(30);

/// The reminders' notifier for this instance's settings; `None` when mail is off.
pub fn notifier(state: &AppState) -> anyhow::Result<Option<crate::notifications::Notifier>> {
    let Some(mail) = &state.settings.mail else {
        return Ok(None);
    };
    let mailer = crate::notifications::Mailer::new(mail)?;
    Ok(Some(crate::notifications::Notifier::new(
        state.pool.clone(),
        state.queries.clone(),
        Some(mailer),
        state.settings.link_base(),
        crate::web::pages::todo::link,
    )))
}

/// How often this instance looks for events to seal, and how old the last seal may grow
/// before a stretch shorter than [`crate::event_log::seal::EVERY`] events is sealed.
const SEAL_CHECK_EVERY: Duration = Duration::from_secs(60);
const SEAL_AT_LEAST_EVERY: Duration = Duration::from_secs(600);

/// Appends the global seals while Insats runs. Every instance does this; the seals
/// stream's expected version lets only one of them append each seal.
async fn seal_periodically(events: crate::event_log::EventStore) {
    use crate::event_log::seal::{EVERY, Sealed};
    loop {
        tokio::time::sleep(SEAL_CHECK_EVERY).await;
        match events.seal(EVERY, SEAL_AT_LEAST_EVERY).await {
            Ok(Sealed::Appended { seals, up_to }) => {
                tracing::info!(seals, position = up_to.position, "sealed the log");
            }
            Ok(Sealed::NothingDue { .. }) => {}
            Err(crate::event_log::AppendError::WrongExpectedVersion { .. }) => {
                tracing::debug!("another instance sealed the log first");
            }
            Err(error) => tracing::warn!(error = %error, "sealing the log failed"),
        }
    }
}

/// Removes, once an hour, the submission keys older than they are kept
/// (`app::submission::KEPT_DAYS`). Any instance may; the deletes do not conflict.
async fn forget_old_submissions(pool: PgPool) {
    loop {
        match crate::app::submission::forget_old(&pool).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(forgotten, "forgot old submission keys"),
            Err(error) => tracing::warn!(error = %error, "forgetting old submission keys failed"),
        }
        tokio::time::sleep(Duration::from_secs(60 * 60)).await;
    }
}

/// The advisory lock that makes one instance at a time fetch the indicators.
const INDICATORS_LOCK: i64 = 0x696e_6469_6361_746f;

/// Fetches the Kolada indicators once a day, on the instance that holds
/// [`INDICATORS_LOCK`] (on a connection of its own, so the lock goes with the instance);
/// the others try for the lock every ten minutes.
async fn fetch_indicators_daily(state: AppState, settings: crate::kolada::Settings) {
    let kolada = match crate::kolada::Kolada::new(settings) {
        Ok(kolada) => kolada,
        Err(error) => {
            tracing::error!(error = %error, "the daily fetch of the indicators cannot start");
            return;
        }
    };
    loop {
        let mut connection = match state.pool.acquire().await {
            Ok(connection) => connection.detach(),
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(600)).await;
                continue;
            }
        };
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(INDICATORS_LOCK)
            .fetch_one(&mut connection)
            .await
            .unwrap_or(false);
        if !leader {
            drop(connection);
            tokio::time::sleep(Duration::from_secs(600)).await;
            continue;
        }
        loop {
            let ctx = crate::app::CommandContext::new(crate::domain::actor::Actor::system());
            let this_year = state.services.today().year();
            match state
                .services
                .fetch_kolada(
                    &ctx,
                    &kolada,
                    &state.settings.units,
                    2015..=this_year,
                    |_| {},
                )
                .await
            {
                Ok((read, recorded)) => tracing::info!(
                    read,
                    recorded = recorded.recorded,
                    revised = recorded.revised,
                    "fetched the indicators from Kolada"
                ),
                Err(error) => {
                    tracing::warn!(error = %error, "fetching the indicators from Kolada failed; nothing was recorded")
                }
            }
            tokio::time::sleep(Duration::from_secs(24 * 60 * 60)).await;
            // The lock's connection must still be there for this instance to stay the one.
            if sqlx::query("SELECT 1")
                .execute(&mut connection)
                .await
                .is_err()
            {
                break;
            }
        }
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
