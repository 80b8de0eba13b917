//! The accessibility statement (tillgänglighetsredogörelse), with a form to report a
//! problem. Open to everyone, signed in or not.
//!
//! A report's text is sealed and erasable like every free text. A visitor who is not
//! signed in is held to a signed form token (no cross-site posts) and to limits per
//! address and in total per hour, so nobody can fill the log from outside.

use crate::web::paths;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use std::time::Duration;

use super::components::{FormErrors, first, form_fields, input, textarea};
use super::page;
use crate::accounts::Limit;
use crate::web::AppState;
use crate::web::auth::{Caller, MaybeCaller};
use crate::web::client::ClientAddress;
use crate::web::extract::FormBody;
use crate::web::form_token::Form as TokenForm;

/// Reports one address may send in an hour without signing in.
pub const PER_ADDRESS: Limit = Limit {
    max: 5,
    window: Duration::from_secs(60 * 60),
};
/// Reports all visitors who are not signed in may send in an hour, together.
pub const IN_TOTAL: Limit = Limit {
    max: 60,
    window: Duration::from_secs(60 * 60),
};

fn statement_body(errors: &FormErrors, sent: bool, token: &str) -> maud::Markup {
    html! {
        h1 { "Tillgänglighetsredogörelse" }
        p { "Insats är Växjö kommunkoncerns system för att följa upp integrationsplanen. Vi vill att alla ska kunna använda det, oavsett funktionsnedsättning." }
        h2 { "Hur tillgängligt är Insats?" }
        p { "Insats är byggt för att uppfylla WCAG 2.1 på nivå AA: sidorna har rubriker i ordning, landmärken, etiketter på alla fält, synligt fokus, tillräcklig kontrast, felmeddelanden vid fälten och fungerar med tangentbord och på mobil. Allt fungerar utan JavaScript. Varje sida kontrolleras automatiskt med axe-core i våra tester." }
        h2 { "Kända brister" }
        ul {
            li { "Diagrammet över informationsflödet är en bild; samma siffror finns i tabellen under diagrammet." }
            li { "Värmekartan över insatser per strategi och område visar också antalet i varje ruta, men färgskalan kan vara svår att skilja för den som ser färger dåligt." }
        }
        h2 { "Rapportera ett problem" }
        p { "Hittar du något som inte fungerar för dig? Beskriv det här, så återkommer verksamhetsutvecklaren för integration. Skriv inte mer om dig själv än vad som behövs för att förstå problemet." }
        @if sent { p.notice role="status" { "Tack! Din rapport är skickad." } }
        (super::layout::error_summary(&errors.0))
        form.stack method="post" action=(paths::Accessibility) {
            input type="hidden" name="csrf" value=(token);
            (input("page", "Vilken sida gäller det?", "text", "", errors, None))
            (textarea("problem", "Vad fungerade inte?", "", errors, Some("Högst 2 000 tecken.")))
            button type="submit" { "Skicka rapporten" }
        }
        h2 { "Tillsyn" }
        p { "Myndigheten för digital förvaltning (Digg) har tillsyn över lagen om tillgänglighet till digital offentlig service." }
    }
}

/// The statement with the form: a signed-in viewer's form carries the session's token,
/// anyone else's a fresh form token (with its cookie).
fn statement_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    errors: &FormErrors,
    sent: bool,
) -> Response {
    match caller {
        Caller::Session(session) => {
            let viewer = super::Viewer {
                user: &session.user,
                csrf: &session.csrf_token,
                todo: None,
            };
            let body = statement_body(errors, sent, &session.csrf_token);
            (
                status,
                page("Tillgänglighetsredogörelse", Some(&viewer), body),
            )
                .into_response()
        }
        _ => {
            let token = state.form_tokens.issue(TokenForm::AccessibilityReport);
            let mut headers = HeaderMap::new();
            headers.insert(
                header::SET_COOKIE,
                state
                    .form_tokens
                    .cookie(TokenForm::AccessibilityReport, &token),
            );
            let body = statement_body(errors, sent, &token);
            (
                status,
                headers,
                page("Tillgänglighetsredogörelse", None, body),
            )
                .into_response()
        }
    }
}

pub async fn statement(
    _: paths::Accessibility,
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
) -> Response {
    statement_page(
        &state,
        &caller,
        StatusCode::OK,
        &FormErrors::default(),
        false,
    )
}

pub async fn report(
    _: paths::Accessibility,
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let reporter = match &caller {
        // The session's CSRF token was checked by the middleware.
        Caller::Session(session) => Some(crate::app::CommandContext::new(session.user.actor())),
        _ => {
            if !state.form_tokens.check(
                TokenForm::AccessibilityReport,
                &headers,
                first(&fields, "csrf"),
            ) {
                tracing::warn!(%client, "refused an accessibility report without a valid form token");
                return super::error_page(
                    StatusCode::FORBIDDEN,
                    "Formuläret har gått ut",
                    "Formuläret var för gammalt. Ladda om sidan och försök igen.",
                );
            }
            let keys = [
                (format!("report-address:{client}"), PER_ADDRESS),
                ("report-total".to_owned(), IN_TOTAL),
            ];
            if let Err(wait) = state.reports.attempt(&keys) {
                tracing::warn!(%client, "anonymous accessibility reports rate limited");
                let mut response = super::error_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "För många rapporter just nu",
                    "Insats har tagit emot många rapporter på kort tid. Försök igen om en stund, eller kontakta Växjö kommun på annat sätt.",
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&wait.as_secs().max(1).to_string()).expect("digits"),
                );
                return response;
            }
            None
        }
    };
    match state
        .services
        .report_accessibility_problem(
            reporter.as_ref(),
            first(&fields, "page"),
            first(&fields, "problem"),
        )
        .await
    {
        Ok(_) => statement_page(
            &state,
            &caller,
            StatusCode::OK,
            &FormErrors::default(),
            true,
        ),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => statement_page(
                &state,
                &caller,
                StatusCode::UNPROCESSABLE_ENTITY,
                &errors,
                false,
            ),
            None => super::components::refused(error),
        },
    }
}
