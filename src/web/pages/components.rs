//! Small pieces the pages share: form fields tied to their errors, tags, dates, and the
//! answer a page gives when a command is refused.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::HashMap;

use crate::app::AppError;
use crate::domain::DomainError;

/// The errors of a refused form, by field.
#[derive(Debug, Default, Clone)]
pub struct FormErrors(pub Vec<(String, String)>);

impl FormErrors {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == field || name.starts_with(&format!("{field}[")))
            .map(|(_, message)| message.as_str())
    }

    /// The field errors of a refusal, or `None` when the refusal is not about fields.
    pub fn from_refusal(error: &AppError) -> Option<Self> {
        match error {
            AppError::SubmissionReused => Some(Self(vec![(
                "submission".to_owned(),
                SUBMISSION_REUSED.to_owned(),
            )])),
            AppError::Domain(DomainError::Invalid(errors)) => Some(Self(
                errors
                    .iter()
                    .map(|e| (e.field.clone(), e.message.clone()))
                    .collect(),
            )),
            _ => None,
        }
    }
}

/// What a form sent again with other content is told.
pub const SUBMISSION_REUSED: &str = "Det här formuläret är redan skickat, med annat innehåll. Ladda om sidan och fyll i formuläret på nytt för att spara något nytt.";

/// A labelled input with its hint and error (the error is tied to it by id).
pub fn input(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    errors: &FormErrors,
    hint: Option<&str>,
) -> Markup {
    let error = errors.get(name);
    let described = described_by(name, hint.is_some(), error.is_some());
    html! {
        div.field {
            label for=(name) { (label) }
            @if let Some(hint) = hint { p.hint id={ (name) "-tips" } { (hint) } }
            (super::layout::field_error(name, error))
            input id=(name) name=(name) type=(kind) value=(value)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described];
        }
    }
}

pub fn textarea(
    name: &str,
    label: &str,
    value: &str,
    errors: &FormErrors,
    hint: Option<&str>,
) -> Markup {
    let error = errors.get(name);
    let described = described_by(name, hint.is_some(), error.is_some());
    html! {
        div.field {
            label for=(name) { (label) }
            @if let Some(hint) = hint { p.hint id={ (name) "-tips" } { (hint) } }
            (super::layout::field_error(name, error))
            textarea id=(name) name=(name) rows="4"
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described] { (value) }
        }
    }
}

/// A select with (value, label) options.
pub fn select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &FormErrors,
) -> Markup {
    let error = errors.get(name);
    html! {
        div.field {
            label for=(name) { (label) }
            (super::layout::field_error(name, error))
            select id=(name) name=(name) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{name}-fel"))] {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{name}-tips"));
    }
    if error {
        ids.push(format!("{name}-fel"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// The hidden fields of a form that records something: the session's CSRF token, and a
/// one-time submission id (fresh each time the form is shown), by which Insats knows the
/// same form sent twice and records it once.
pub fn csrf(token: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(token);
        input type="hidden" name="submission" value=(uuid::Uuid::new_v4());
    }
}

/// The submission a form's fields make: its one-time id and a fingerprint of everything
/// else it sent (but the CSRF token). `None` for a form without an id.
pub fn submission(fields: &HashMap<String, Vec<String>>) -> Option<crate::app::Submission> {
    let key = fields.get("submission")?.first()?;
    let mut names: Vec<&String> = fields
        .keys()
        .filter(|name| !matches!(name.as_str(), "csrf" | "submission"))
        .collect();
    names.sort();
    let mut parts: Vec<&[u8]> = Vec::new();
    for name in names {
        parts.push(name.as_bytes());
        for value in &fields[name] {
            parts.push(value.as_bytes());
        }
    }
    crate::app::Submission::new(key, crate::app::Submission::fingerprint(parts))
}

pub fn tag(text: &str) -> Markup {
    html! { span.tag { (text) } }
}

/// A page's answer to a refusal or a failure that is not about form fields: the status of
/// the application's error, a title for it and its message, in Swedish. A failure's cause
/// goes with the answer to the log.
pub fn refused(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match (&error, status.as_u16()) {
        (AppError::Conflict { .. }, _) => "Någon annan hann före",
        (AppError::SubmissionReused, _) => "Formuläret är redan skickat",
        (_, 404) => "Finns inte",
        (_, 409) => "Det gick inte",
        (_, 403) => "Saknar behörighet",
        (_, 422) => "Uppgifterna behöver rättas",
        (_, 503) => "Insats svarar inte",
        _ => "Något gick fel",
    };
    let message = match &error {
        AppError::SubmissionReused => SUBMISSION_REUSED.to_owned(),
        AppError::Conflict { .. } => {
            "Någon annan ändrade samma sak samtidigt. Gå tillbaka, ladda om sidan och försök igen."
                .to_owned()
        }
        error => error
            .messages()
            .into_iter()
            .map(|(_, message)| message)
            .collect::<Vec<_>>()
            .join(" "),
    };
    let mut response = super::error_page(status, title, &message);
    if let Some(failure) = crate::web::Failure::of(error) {
        response.extensions_mut().insert(failure);
    }
    response
}

/// Form fields as a multimap (checkbox lists repeat a name).
pub fn form_fields(body: &[u8]) -> HashMap<String, Vec<String>> {
    let mut fields: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        fields
            .entry(key.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    fields
}

pub fn first<'a>(fields: &'a HashMap<String, Vec<String>>, name: &str) -> &'a str {
    fields
        .get(name)
        .and_then(|values| values.first())
        .map(String::as_str)
        .unwrap_or("")
}

/// A 303 to `location` (after a form that changed something).
pub fn see_other(location: &str) -> Response {
    axum::response::Redirect::to(location).into_response()
}

/// Every area as (id, name), in the order the areas were added.
/// An area's name as people say it ("Braås", not `braas`); its id when it has none.
pub async fn area_name(state: &crate::web::AppState, area: &str) -> String {
    state
        .services
        .areas()
        .await
        .ok()
        .and_then(|areas| areas.get(area).map(|a| a.name.clone()))
        .unwrap_or_else(|| area.to_owned())
}

pub async fn area_names(state: &crate::web::AppState) -> Result<Vec<(String, String)>, AppError> {
    state.services.area_names().await
}

/// A forum's name for people: areas by their names and process owners by their process's
/// title, where the log itself holds ids (`omradesteam:braas`, `processagare:aktiv-fritid`).
pub fn forum_name(
    forum: &str,
    plan: &crate::domain::plan::Plan,
    areas: &[(String, String)],
) -> String {
    match forum.parse::<crate::domain::item::Forum>() {
        Ok(forum) => crate::domain::item::forum_name(&forum, plan, areas),
        Err(_) => forum.to_owned(),
    }
}

/// Whether a person's role needs saying beside their name: not when the name already says
/// it ("Revisor" is not shown as "Revisor Revisor", nor "Integrationsrådet (ordförande)" as
/// "… (Integrationsråd)").
pub fn role_adds_to(name: &str, role: &str) -> bool {
    // The first ten letters, in lower case (compared as they come: every timeline entry
    // asks, and building strings for it showed in the profile of a timeline page).
    fn stem(text: &str) -> impl Iterator<Item = char> + '_ {
        text.chars()
            .flat_map(char::to_lowercase)
            .filter(|c| c.is_alphabetic())
            .take(10)
    }
    fn starts_with(text: &str, start: &str) -> bool {
        let mut text = stem(text);
        stem(start).all(|letter| text.next() == Some(letter))
    }
    !role.is_empty() && !starts_with(name, role) && !starts_with(role, name)
}

#[cfg(test)]
mod tests {
    use super::role_adds_to;

    #[test]
    fn a_role_the_name_already_says_is_not_said_again() {
        assert!(!role_adds_to("Revisor", "Revisor"));
        assert!(!role_adds_to(
            "Integrationsrådet (ordförande)",
            "Integrationsråd"
        ));
        assert!(role_adds_to("Karin Ek", "Processägare"));
        assert!(!role_adds_to("Karin Ek", ""));
    }
}
