//! The accessibility statement (tillgänglighetsredogörelse), with a form to report a
//! problem. Open to everyone, signed in or not.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::components::{FormErrors, first, form_fields, input, textarea};
use super::page;
use crate::web::AppState;
use crate::web::auth::MaybeCaller;

fn statement_body(errors: &FormErrors, sent: bool, csrf: Option<&str>) -> maud::Markup {
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
        p { "Hittar du något som inte fungerar för dig? Beskriv det här, så återkommer verksamhetsutvecklaren för integration." }
        @if sent { p.notice role="status" { "Tack! Din rapport är skickad." } }
        (super::layout::error_summary(&errors.0))
        form.stack method="post" action="/tillganglighet" {
            @if let Some(token) = csrf { input type="hidden" name="csrf" value=(token); }
            (input("page", "Vilken sida gäller det?", "text", "", errors, None))
            (textarea("problem", "Vad fungerade inte?", "", errors, None))
            button type="submit" { "Skicka rapporten" }
        }
        h2 { "Tillsyn" }
        p { "Myndigheten för digital förvaltning (Digg) har tillsyn över lagen om tillgänglighet till digital offentlig service." }
    }
}

pub async fn statement_page(
    caller: &crate::web::auth::Caller,
    errors: &FormErrors,
    sent: bool,
) -> maud::Markup {
    let viewer = match caller {
        crate::web::auth::Caller::Session(session) => {
            Some((session.user.clone(), session.csrf_token.clone()))
        }
        _ => None,
    };
    let body = statement_body(errors, sent, viewer.as_ref().map(|(_, csrf)| csrf.as_str()));
    match &viewer {
        Some((user, csrf)) => page(
            "Tillgänglighetsredogörelse",
            Some(&super::Viewer { user, csrf }),
            body,
        ),
        None => page("Tillgänglighetsredogörelse", None, body),
    }
}

pub async fn statement(MaybeCaller(caller): MaybeCaller) -> maud::Markup {
    statement_page(&caller, &FormErrors::default(), false).await
}

pub async fn report(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    body: Bytes,
) -> Response {
    let fields = form_fields(&body);
    match state
        .insats
        .report_accessibility_problem(first(&fields, "page"), first(&fields, "problem"))
        .await
    {
        Ok(_) => statement_page(&caller, &FormErrors::default(), true)
            .await
            .into_response(),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                statement_page(&caller, &errors, false).await,
            )
                .into_response(),
            None => super::components::refused(error),
        },
    }
}
