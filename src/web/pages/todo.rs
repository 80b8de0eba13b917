//! "Att göra": what is due for the signed-in person, oldest first, each with a link to
//! where it is done; their choice of reminder mails; and, for the coordinator, the
//! reminders' rules. A thing leaves the list when it is done, not when it is looked at.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::HashMap;

use super::components::{FormErrors, csrf, first, form_fields, input, refused, see_other};
use super::{After, PageUser, page};
use crate::domain::actor::Role;
use crate::domain::reminders::{Due, ReminderRules, Rule};
use crate::web::AppState;
use crate::web::extract::{FormBody, Query};
use crate::web::paths;

/// How many things the list shows at most; the rest are counted.
const SHOWN: usize = 200;

/// Where something due is done, as a path in Insats (the page links and mails use it).
pub fn link(due: &Due) -> String {
    match due.rule {
        Rule::StatusReportSoon | Rule::StatusReportLate => paths::Owner.to_string(),
        Rule::ItemWaiting => paths::item(&due.subject).to_string(),
        Rule::StrategySilent => paths::strategy(due.subject.clone()).to_string(),
        Rule::ReviewMissing => paths::AreaReview {
            area: due.subject.clone(),
        }
        .to_string(),
        Rule::CaseAssigned => paths::case(&due.subject).to_string(),
    }
}

/// `/att-gora`
pub async fn list(
    _: paths::Todo,
    State(state): State<AppState>,
    user: PageUser,
    Query(after): Query<After>,
) -> Response {
    super::settle(&state, after.efter, &crate::queries::todo::READS).await;
    todo_page(
        &state,
        &user,
        after.efter.is_some(),
        &HashMap::new(),
        &FormErrors::default(),
    )
    .await
}

async fn todo_page(
    state: &AppState,
    user: &PageUser,
    saved: bool,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Response {
    let todos = match state.queries.todo(&user.actor()).await {
        Ok(todos) => todos,
        Err(error) => return refused(error),
    };
    let follow_up = match state.services.follow_up().await {
        Ok(follow_up) => follow_up,
        Err(error) => return refused(error),
    };
    let mut viewer = user.viewer();
    viewer.todo = Some(todos.len());
    let status = if errors.0.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = page(
        "Att göra",
        Some(&viewer),
        html! {
            h1 { "Att göra" }
            @if saved {
                p.notice role="status" { "Sparat." }
            }
            (crate::web::pages::layout::error_summary(&errors.0))
            @if todos.is_empty() {
                p { "Du har inget som väntar just nu." }
            } @else {
                p { "Det här väntar på dig, det äldsta först. En sak försvinner från listan när den är gjord: när statusrapporten är inlämnad, skrivelsen besvarad, tidslinjen granskad eller ärendet avslutat." }
                ol.todo {
                    @for todo in todos.iter().take(SHOWN) {
                        li {
                            a href=(link(&todo.due)) { (todo.what) }
                            ": " (todo.about)
                        }
                    }
                }
                @if todos.len() > SHOWN {
                    p.hint { "Och " (todos.len() - SHOWN) " saker till. De äldsta visas först." }
                }
            }
            (mail_form(state, user, values, errors))
            @if user.role() == Role::Samordnare {
                (rules_form(user, &follow_up.reminders, values, errors))
            }
        },
    );
    (status, body).into_response()
}

fn mail_form(
    state: &AppState,
    user: &PageUser,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    let chosen = values
        .get("mail_choice")
        .and_then(|v| v.first())
        .map(String::as_str)
        .unwrap_or(user.user.mail_choice.as_str());
    let choices = [
        ("immediate", "Direkt, ett mejl så snart något blir aktuellt"),
        ("digest", "En sammanfattning per dag (på morgonen)"),
        ("none", "Inga mejl, bara listan här"),
    ];
    html! {
        h2 id="epost" { "Påminnelser med e-post" }
        @if state.settings.mail.is_none() {
            p.hint { "E-post är avstängd i den här installationen. Ditt val gäller när den slås på." }
        }
        p { "Mejlen säger bara vad som väntar och för vilken strategi eller vilket område, med en länk hit. De innehåller aldrig text ur ärenden, skrivelser eller insatser. De skickas till " span.address { (user.user.email) } "." }
        form method="post" action=(paths::TodoMail) {
            (csrf(&user.csrf))
            fieldset {
                legend { "Hur vill du få påminnelser?" }
                @if let Some(error) = errors.get("mail_choice") {
                    p.field-error id="mail_choice-fel" { (error) }
                }
                @for (value, label) in choices {
                    div.choice {
                        input type="radio" name="mail_choice" id={ "mail-" (value) } value=(value) checked[chosen == value];
                        label for={ "mail-" (value) } { (label) }
                    }
                }
            }
            button type="submit" { "Spara" }
        }
    }
}

fn rules_form(
    user: &PageUser,
    rules: &ReminderRules,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    let value = |name: &str, current: u32| {
        values
            .get(name)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_else(|| current.to_string())
    };
    html! {
        h2 id="regler" { "Regler för påminnelser" }
        p { "Reglerna gäller alla. En statusrapport påminns om före periodens slut och igen dagen efter om den saknas; rådet påminns om granskningen av varje områdes tidslinje när en period har slutat; den som får ett ärende tilldelat påminns direkt." }
        form.stack method="post" action=(paths::TodoRules) novalidate {
            (csrf(&user.csrf))
            (input("report_days_before", "Dagar före periodens slut som statusrapporten påminns om", "number", &value("report_days_before", rules.report_days_before), errors, None))
            (input("item_waiting_days", "Dagar en skrivelse får vänta på svar innan mottagarna påminns", "number", &value("item_waiting_days", rules.item_waiting_days), errors, None))
            (input("silent_days", "Dagar utan insatser innan en strategi räknas som tyst", "number", &value("silent_days", rules.silent_days), errors, Some("Processägaren och verksamhetsutvecklaren påminns.")))
            button type="submit" { "Spara reglerna" }
        }
    }
}

/// `POST /att-gora/epost`
pub async fn mail(
    _: paths::TodoMail,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let choice = first(&fields, "mail_choice");
    match state
        .accounts
        .set_mail_choice(&user.ctx(&fields), choice)
        .await
    {
        Ok(done) => see_other(&format!("{}?efter={}#epost", paths::Todo, done.position)),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => todo_page(&state, &user, false, &fields, &errors).await,
            None => refused(error),
        },
    }
}

/// `POST /att-gora/regler`
pub async fn rules(
    _: paths::TodoRules,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    match state
        .services
        .set_reminder_rules(
            &user.ctx(&fields),
            first(&fields, "report_days_before"),
            first(&fields, "item_waiting_days"),
            first(&fields, "silent_days"),
        )
        .await
    {
        Ok(done) => see_other(&format!("{}?efter={}#regler", paths::Todo, done.position)),
        // The same rules again: said beside the form, not on a page of its own.
        Err(crate::app::AppError::Domain(crate::domain::DomainError::Conflict(message))) => {
            let errors = FormErrors(vec![("report_days_before".to_owned(), message)]);
            todo_page(&state, &user, false, &fields, &errors).await
        }
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => todo_page(&state, &user, false, &fields, &errors).await,
            None => refused(error),
        },
    }
}
