//! The web layer: the JSON API, the HTML pages and the health check, over one state.

pub mod api;
pub mod auth;
pub mod client;
pub mod extract;
pub mod form_token;
mod health;
pub mod idempotency;
pub mod metrics;
pub mod pages;
pub mod paths;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use axum::http::HeaderValue;
use axum::middleware;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::accounts::Accounts;
use crate::app::Services;
use crate::event_log::EventStore;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 256 * 1024;

/// How this instance is set up for the web, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Cookies with `Secure` and the `__Host-` prefix (off only for plain HTTP on a host
    /// other than localhost, `INSATS_INSECURE_COOKIES=1`).
    pub secure_cookies: bool,
    /// Where people reach Insats (`INSATS_PUBLIC_URL`), for links in mail; served over
    /// HTTPS when it starts with `https://`, and then browsers are told to keep to it.
    pub public_url: Option<String>,
    /// The proxies whose `X-Forwarded-For` and `Forwarded` are believed.
    pub trusted_proxies: client::TrustedProxies,
    pub sessions: crate::accounts::SessionLimits,
    /// The municipality whose key indicators are shown, and its comparison units.
    pub units: crate::app::Units,
    /// Kolada, when the server fetches the indicators once a day by itself
    /// (`INSATS_INDICATORS_FETCH_DAILY`).
    pub daily_kolada: Option<crate::kolada::Settings>,
    /// The mail server for reminders (`INSATS_SMTP_URL`, `INSATS_MAIL_FROM`); without it,
    /// reminders are only in the app.
    pub mail: Option<crate::notifications::MailSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            public_url: None,
            trusted_proxies: client::TrustedProxies::default(),
            sessions: crate::accounts::SessionLimits::default(),
            units: crate::app::Units::default(),
            daily_kolada: None,
            mail: None,
        }
    }
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let minutes = |n: u64| std::time::Duration::from_secs(n * 60);
        anyhow::ensure!(
            config.session_idle_minutes >= 1 && config.session_max_hours >= 1,
            "INSATS_SESSION_IDLE_MINUTES and INSATS_SESSION_MAX_HOURS must be at least 1"
        );
        Ok(Self {
            secure_cookies: !config.insecure_cookies,
            public_url: config
                .public_url
                .as_deref()
                .map(|url| url.trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty()),
            trusted_proxies: client::TrustedProxies::parse(&config.trusted_proxies)
                .map_err(anyhow::Error::msg)?,
            sessions: crate::accounts::SessionLimits {
                idle: minutes(config.session_idle_minutes),
                lifetime: minutes(config.session_max_hours * 60),
            },
            units: config.units()?,
            daily_kolada: config.indicators_fetch_daily.then(|| config.kolada()),
            mail: config.mail()?,
        })
    }

    /// Where people reach Insats, for links in mail (`INSATS_PUBLIC_URL`, or this machine).
    pub fn link_base(&self) -> &str {
        self.public_url
            .as_deref()
            .unwrap_or("http://localhost:8080")
    }

    /// Whether Insats is served over HTTPS (its public address says so).
    pub fn https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub events: EventStore,
    pub services: Services,
    /// The read side, for pages and API alike.
    pub queries: crate::queries::Queries,
    pub accounts: Accounts,
    pub settings: Arc<Settings>,
    /// Set once the migrations have been applied and the plan is in place.
    pub schema_ready: Arc<AtomicBool>,
    /// Request latencies and counts for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Parts of pages kept rendered while their read models stand still.
    pub rendered: pages::rendered::Rendered,
    /// Tokens of the forms sent without a session (login, accessibility report).
    pub form_tokens: form_token::FormTokens,
    /// Anonymous accessibility reports, per address and in all.
    pub reports: crate::accounts::Limiter,
    /// The latest verification of each strategy's record, for the auditor's page.
    pub verifications: pages::audit::Verifications,
}

impl AppState {
    pub fn new(pool: PgPool, settings: Settings, keyring: crate::privacy::Keyring) -> Self {
        let events = EventStore::new(pool.clone());
        let form_tokens = form_token::FormTokens::new(&keyring, settings.secure_cookies);
        let services = Services::new(events.clone(), keyring);
        Self {
            accounts: Accounts::new(pool.clone(), services.clone())
                .with_session_limits(settings.sessions),
            queries: crate::queries::Queries::new(pool.clone(), services.clone()),
            services,
            events,
            pool,
            settings: Arc::new(settings),
            schema_ready: Arc::new(AtomicBool::new(false)),
            metrics: metrics::Metrics::default(),
            rendered: pages::rendered::Rendered::default(),
            form_tokens,
            reports: crate::accounts::Limiter::default(),
            verifications: pages::audit::Verifications::default(),
        }
    }

    pub fn session_cookie(&self) -> &'static str {
        if self.settings.secure_cookies {
            auth::SESSION_COOKIE
        } else {
            auth::INSECURE_SESSION_COOKIE
        }
    }

    /// `Set-Cookie` for a new session: HttpOnly, SameSite=Lax, on `/`, Secure.
    pub fn session_cookie_header(&self, value: &str) -> HeaderValue {
        let secure = if self.settings.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
            self.session_cookie()
        ))
        .expect("a session id is a valid header value")
    }

    pub fn clear_session_cookie(&self) -> HeaderValue {
        let secure = if self.settings.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
            self.session_cookie()
        ))
        .expect("a valid header value")
    }
}

/// The cause of a failed request (a fault in Insats or the database out of reach), carried
/// from the handler to [`log_failures`] in the response's extensions: so it is logged once,
/// inside the request's span (path, request id), with its whole chain of causes.
#[derive(Clone, Debug)]
pub struct Failure(Arc<anyhow::Error>);

impl Failure {
    /// The failure in `error`, if it is one (a refusal is not).
    pub fn of(error: crate::app::AppError) -> Option<Self> {
        match error {
            crate::app::AppError::Internal(error) => Some(Self(Arc::new(error))),
            _ => None,
        }
    }
}

/// Logs each failed request once, with the cause its answer carries.
async fn log_failures(
    request: Request<axum::body::Body>,
    next: middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    if let Some(Failure(error)) = response.extensions().get::<Failure>() {
        tracing::error!(
            status = response.status().as_u16(),
            error = %format!("{error:#}"),
            "the request failed"
        );
    }
    response
}

/// No inline scripts or styles, nothing from other origins, never in a frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .merge(api::router())
        .merge(pages::router())
        .fallback(fallback)
        .layer(middleware::from_fn(log_failures))
        .layer(middleware::from_fn(idempotency::api_keys))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(refuse_oversized))
        .layer(header("content-security-policy", CONTENT_SECURITY_POLICY))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("referrer-policy", "same-origin"))
        .layer(header("x-frame-options", "DENY"))
        .layer(middleware::from_fn_with_state(state.clone(), caching_and_transport))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("");
                // The path, never the query string: it can hold search text.
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Nothing Insats answers may be kept by a browser or a proxy (pages and API answers hold
/// personal data), except its own static files; and over HTTPS, browsers are told to
/// use nothing else for a year.
async fn caching_and_transport(
    State(state): State<AppState>,
    request: Request<axum::body::Body>,
    next: middleware::Next,
) -> axum::response::Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !is_static {
        headers.insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    if state.settings.https() {
        headers.insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// A body declared larger than [`BODY_LIMIT`] is refused with 413 before any handler runs,
/// also where the handler would not have read it. (Bodies without a length are cut off at
/// the limit by `DefaultBodyLimit` when they are read.)
async fn refuse_oversized(
    request: Request<axum::body::Body>,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    // The one form that takes a file (a report PDF for the auditor) may be larger.
    let upload = request.uri().path() == crate::web::paths::AuditReportCheck.to_string();
    let limit = if upload {
        extract::UPLOAD_LIMIT
    } else {
        BODY_LIMIT
    };
    if declared.is_some_and(|length| length > limit as u64) {
        return if request.uri().path().starts_with("/api/") {
            api::error::ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "Kroppen är för stor.",
            )
            .into_response()
        } else if upload {
            pages::error_page(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "Filen är för stor",
                "Filen är större än Insats tar emot (32 MB). En rapport från Insats är mindre än så: kontrollera att det är rätt fil.",
            )
        } else {
            pages::error_page(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "För mycket text",
                "Formuläret innehöll mer än Insats tar emot på en gång. Korta texten och försök igen.",
            )
        };
    }
    next.run(request).await
}

/// Unknown addresses: the API's error shape under `/api/`, a page elsewhere.
async fn fallback(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        api::not_found().await.into_response()
    } else {
        pages::error_page(
            axum::http::StatusCode::NOT_FOUND,
            "Sidan finns inte",
            "Adressen finns inte i Insats. Kontrollera stavningen eller gå till startsidan.",
        )
    }
}
