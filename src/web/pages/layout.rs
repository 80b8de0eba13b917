//! The one layout every page shares: a header with the signed-in user and role, the
//! navigation, the main landmark and the footer with the accessibility statement.

use crate::web::paths;
use maud::{DOCTYPE, Markup, html};

use crate::accounts::User;
use crate::domain::actor::Role;

/// Who the page is for, when someone is signed in.
pub struct Viewer<'a> {
    pub user: &'a User,
    pub csrf: &'a str,
    /// How many things are due for them ("Att göra"), when it was counted.
    pub todo: Option<usize>,
}

/// A whole page.
pub fn page(title: &str, viewer: Option<&Viewer<'_>>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="sv" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Insats" }
                link rel="stylesheet" href="/static/insats.css";
                script src="/static/insats.js" defer {}
            }
            body {
                a.skip-link href="#innehall" { "Hoppa till innehållet" }
                header.site-header {
                    div.brand {
                        a href=(paths::Start) { "Insats" }
                        span.tagline { "Uppföljning av Växjö kommunkoncerns integrationsplan" }
                    }
                    @if let Some(viewer) = viewer {
                        (navigation(viewer.user, viewer.todo))
                        div.who {
                            span { (viewer.user.name) }
                            @if super::components::role_adds_to(&viewer.user.name, viewer.user.role().label()) {
                                span.role { (viewer.user.role().label()) }
                            }
                            form method="post" action=(paths::Logout) {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button.link type="submit" { "Logga ut" }
                            }
                        }
                    }
                }
                main id="innehall" tabindex="-1" {
                    (main)
                }
                footer.site-footer {
                    a href=(paths::Accessibility) { "Tillgänglighetsredogörelse" }
                    " · "
                    a href=(paths::Plan) { "Integrationsplanen" }
                }
            }
        }
    }
}

fn navigation(user: &User, todo: Option<usize>) -> Markup {
    let role = user.role();
    html! {
        nav aria-label="Huvudmeny" {
            ul {
                li { a href=(paths::Start) { "Start" } }
                li {
                    a href=(paths::Todo) {
                        "Att göra"
                        @if let Some(count) = todo.filter(|count| *count > 0) {
                            " " span.count aria-hidden="true" { (count) }
                            span.visually-hidden { ", " (count) (if count == 1 { " sak" } else { " saker" }) }
                        }
                    }
                }
                @for area in &user.areas {
                    li { a href=(paths::area_timeline(area.to_string())) { "Mitt område" } }
                }
                li { a href=(paths::Areas) { "Områden" } }
                li { a href=(paths::Search) { "Sök" } }
                li { a href=(paths::Plan) { "Planen" } }
                li { a href=(paths::Indicators) { "Nyckeltal" } }
                li { a href=(paths::CouncilFlow) { "Informationsflödet" } }
                li { a href=(paths::Reports) { "Rapporter" } }
                @if role == Role::Processagare || role == Role::Samordnare {
                    li { a href=(paths::Owner) { "Mina strategier" } }
                }
                @if matches!(role, Role::Revisor | Role::Samordnare) {
                    li { a href=(paths::Audit) { "Granskning" } }
                }
                @if role == Role::Samordnare {
                    li { a href=(paths::Admin) { "Administration" } }
                }
            }
        }
    }
}

/// A form field's error, tied to the field by id (`<field>-fel`).
pub fn field_error(field: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            p.field-error id={ (field) "-fel" } { (error) }
        }
    }
}

/// A summary of a form's errors at its top, linking to each field.
pub fn error_summary(errors: &[(String, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error-summary role="alert" tabindex="-1" {
                h2 { "Något behöver rättas" }
                ul {
                    @for (field, message) in errors {
                        li { a href={ "#" (field) } { (message) } }
                    }
                }
            }
        }
    }
}
