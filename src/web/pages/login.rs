//! Signing in and out. The login form is protected against cross-site posting with a
//! signed double-submit token (`web::form_token`); an attempt is counted before its
//! password is checked, per account and client address and per address
//! (`accounts::rate_limit`); the password checks that run at once are bounded
//! (`accounts::password`). Failed logins are logged without the password.

use crate::web::paths;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::time::Duration;

use super::layout::{error_summary, field_error, page};
use crate::accounts::CheckError;
use crate::web::AppState;
use crate::web::auth::{Caller, MaybeCaller};
use crate::web::client::ClientAddress;
use crate::web::extract::{Form, Query};
use crate::web::form_token::Form as TokenForm;

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
}

/// `?slut=inaktiv` or `?slut=tid`: why the last session ended.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    pub slut: Option<String>,
}

fn login_page(
    email: &str,
    token: &str,
    errors: &[(String, String)],
    notice: Option<&str>,
) -> Markup {
    let error = |field: &str| {
        errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    };
    page(
        "Logga in",
        None,
        html! {
            h1 { "Logga in" }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            (error_summary(errors))
            form.stack method="post" action=(paths::Login) novalidate {
                input type="hidden" name="csrf" value=(token);
                div.field {
                    label for="email" { "E-postadress" }
                    (field_error("email", error("email")))
                    input id="email" name="email" type="email" autocomplete="username" required value=(email)
                        aria-invalid=[error("email").map(|_| "true")]
                        aria-describedby=[error("email").map(|_| "email-fel")];
                }
                div.field {
                    label for="password" { "Lösenord" }
                    (field_error("password", error("password")))
                    input id="password" name="password" type="password" autocomplete="current-password" required
                        aria-invalid=[error("password").map(|_| "true")]
                        aria-describedby=[error("password").map(|_| "password-fel")];
                }
                button type="submit" { "Logga in" }
            }
        },
    )
}

/// The login page with a fresh token (and its cookie), with `status`.
fn fresh_form(
    state: &AppState,
    status: StatusCode,
    email: &str,
    errors: &[(String, String)],
    notice: Option<&str>,
) -> Response {
    let token = state.form_tokens.issue(TokenForm::Login);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        state.form_tokens.cookie(TokenForm::Login, &token),
    );
    (status, headers, login_page(email, &token, errors, notice)).into_response()
}

/// The login form, with a fresh token; says why the last session ended, when it did.
pub async fn show(
    _: paths::Login,
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Query(query): Query<LoginQuery>,
) -> Response {
    if caller.user().is_some() {
        return Redirect::to(&paths::Start.to_string()).into_response();
    }
    let notice = match query.slut.as_deref() {
        Some("inaktiv") => Some(
            "Du loggades ut eftersom du inte hade använt Insats på en stund. Logga in igen för att fortsätta.",
        ),
        Some("tid") => Some(
            "Du loggades ut eftersom det var länge sedan du loggade in. Logga in igen för att fortsätta.",
        ),
        _ => None,
    };
    fresh_form(&state, StatusCode::OK, "", &[], notice)
}

fn wait_page(status: StatusCode, title: &str, message: &str, wait: Duration) -> Response {
    let mut response = super::error_page(status, title, message);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&wait.as_secs().max(1).to_string()).expect("digits"),
    );
    response
}

pub async fn submit(
    _: paths::Login,
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !state
        .form_tokens
        .check(TokenForm::Login, &headers, &form.csrf)
    {
        tracing::warn!(%client, "refused a login without a valid form token");
        return super::error_page(
            StatusCode::FORBIDDEN,
            "Formuläret har gått ut",
            "Inloggningsformuläret var för gammalt. Ladda om sidan och försök igen.",
        );
    }
    let email = form.email.trim().to_lowercase();
    // Counted before the password is checked: guesses sent at once are counted at once.
    if let Err(wait) = state.accounts.limiter.attempt(&email, client) {
        tracing::warn!(%client, "login attempts rate limited");
        return wait_page(
            StatusCode::TOO_MANY_REQUESTS,
            "För många försök",
            "Du har försökt logga in för många gånger. Vänta en minut och försök igen.",
            wait,
        );
    }
    let user = match state.accounts.check_password(&email, &form.password).await {
        Ok(user) => user,
        Err(CheckError::Busy(_)) => {
            tracing::warn!(%client, "too many logins at once; one was turned away");
            return wait_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Många loggar in just nu",
                "Insats tar emot många inloggningar just nu. Vänta några sekunder och försök igen.",
                Duration::from_secs(2),
            );
        }
        Err(CheckError::Database(error)) => {
            tracing::error!(error = %error, "login failed on the database");
            return super::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Insats svarar inte",
                "Databasen svarar inte just nu. Försök igen om en stund.",
            );
        }
    };
    let Some(user) = user else {
        tracing::warn!(%client, "failed login");
        let errors = vec![(
            "password".to_owned(),
            "Fel e-postadress eller lösenord.".to_owned(),
        )];
        return fresh_form(&state, StatusCode::UNAUTHORIZED, &email, &errors, None);
    };
    state.accounts.limiter.succeeded(&email, client);
    let (session, _) = match state.accounts.start_session(user.user_id).await {
        Ok(session) => session,
        Err(error) => {
            tracing::error!(error = %error, "could not start a session");
            return super::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Insats svarar inte",
                "Databasen svarar inte just nu. Försök igen om en stund.",
            );
        }
    };
    tracing::info!(user = %user.user_id, "signed in");
    let mut response = Redirect::to(&paths::Start.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.session_cookie_header(&session));
    response
}

/// Ends the session (the middleware has checked its CSRF token).
pub async fn logout(
    _: paths::Logout,
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
) -> Response {
    if let Caller::Session(session) = &caller
        && let Err(error) = state.accounts.end_session(&session.id_hash).await
    {
        tracing::error!(error = %error, "could not end a session");
    }
    let mut response = Redirect::to(&paths::Login.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.clear_session_cookie());
    response
}
