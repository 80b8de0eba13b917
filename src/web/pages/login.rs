//! Signing in and out. The login form is protected against cross-site posting with a
//! double-submit token (a cookie and a hidden field that must match); failed logins are
//! logged without the password and rate limited per account and per client address.

use axum::Form;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::net::SocketAddr;

use super::layout::{error_summary, field_error, page};
use crate::web::AppState;
use crate::web::auth::{Caller, MaybeCaller, cookie};

const LOGIN_COOKIE: &str = "insats-login";

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
}

fn login_page(email: &str, token: &str, errors: &[(String, String)]) -> Markup {
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
            (error_summary(errors))
            form.stack method="post" action="/logga-in" novalidate {
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

fn login_cookie(state: &AppState, value: &str) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={value}; Path=/logga-in; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("a valid cookie")
}

/// The login form, with a fresh double-submit token.
pub async fn show(State(state): State<AppState>, MaybeCaller(caller): MaybeCaller) -> Response {
    if caller.user().is_some() {
        return Redirect::to("/").into_response();
    }
    let token = crate::accounts::random_token();
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, login_cookie(&state, &token));
    (headers, login_page("", &token, &[])).into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || expected != form.csrf {
        tracing::warn!(client = %client.ip(), "refused a login without a valid form token");
        return super::error_page(
            StatusCode::FORBIDDEN,
            "Formuläret har gått ut",
            "Inloggningsformuläret var för gammalt. Ladda om sidan och försök igen.",
        );
    }
    let email = form.email.trim().to_lowercase();
    let keys = vec![format!("account:{email}"), format!("ip:{}", client.ip())];
    if let Err(wait) = state.accounts.limiter.check(&keys) {
        tracing::warn!(client = %client.ip(), "login attempts rate limited");
        let mut response = super::error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "För många försök",
            "Du har försökt logga in för många gånger. Vänta en minut och försök igen.",
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_str(&wait.as_secs().max(1).to_string()).expect("digits"),
        );
        return response;
    }
    let user = match state.accounts.check_password(&email, &form.password).await {
        Ok(user) => user,
        Err(error) => {
            tracing::error!(%error, "login failed on the database");
            return super::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Insats svarar inte",
                "Databasen svarar inte just nu. Försök igen om en stund.",
            );
        }
    };
    let Some(user) = user else {
        state.accounts.limiter.record_failure(&keys);
        tracing::warn!(client = %client.ip(), "failed login");
        let errors = vec![(
            "password".to_owned(),
            "Fel e-postadress eller lösenord.".to_owned(),
        )];
        let token = crate::accounts::random_token();
        let mut response = (
            StatusCode::UNAUTHORIZED,
            login_page(&email, &token, &errors),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::SET_COOKIE, login_cookie(&state, &token));
        return response;
    };
    let (session, _) = match state.accounts.start_session(user.user_id).await {
        Ok(session) => session,
        Err(error) => {
            tracing::error!(%error, "could not start a session");
            return super::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Insats svarar inte",
                "Databasen svarar inte just nu. Försök igen om en stund.",
            );
        }
    };
    tracing::info!(user = %user.user_id, "signed in");
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.session_cookie_header(&session));
    response
}

/// Ends the session (the middleware has checked its CSRF token).
pub async fn logout(State(state): State<AppState>, MaybeCaller(caller): MaybeCaller) -> Response {
    if let Caller::Session(session) = &caller
        && let Err(error) = state.accounts.end_session(&session.id_hash).await
    {
        tracing::error!(%error, "could not end a session");
    }
    let mut response = Redirect::to("/logga-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, state.clear_session_cookie());
    response
}
