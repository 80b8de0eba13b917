//! Raising an item to another forum: a form of the forums the user speaks for, and where
//! it posts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::HashMap;

use crate::access::{Action, permits};
use crate::app::ItemInput;
use crate::domain::item::{Forum, ItemKind};
use crate::domain::plan::{NodeKind, Plan};
use crate::web::AppState;
use crate::web::extract::FormBody;
use crate::web::pages::components::{
    self, FormErrors, csrf, first, form_fields, input, refused, see_other, select, textarea,
};
use crate::web::pages::{PageUser, page};
use crate::web::paths;

fn item_form(
    user: &PageUser,
    plan: &Plan,
    areas: &[(String, String)],
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    let mut forums: Vec<(String, String)> = vec![
        ("integrationsrad".into(), "Integrationsrådet".into()),
        (
            "integrationsberedning".into(),
            "Integrationsberedningen".into(),
        ),
        (
            "samordnare".into(),
            "Verksamhetsutvecklaren för integration".into(),
        ),
    ];
    forums.extend(
        areas
            .iter()
            .map(|(id, name)| (format!("omradesteam:{id}"), format!("Områdesteam {name}"))),
    );
    forums.extend(plan.nodes(NodeKind::Process).into_iter().map(|p| {
        (
            format!("processagare:{}", p.id),
            format!("Processägare: {}", p.text("title")),
        )
    }));
    let actor = user.actor();
    let mine: Vec<(String, String)> = forums
        .iter()
        .filter(|(id, _)| {
            id.parse::<Forum>()
                .is_ok_and(|forum| permits(&actor, &Action::SendAs { forum: &forum }))
        })
        .cloned()
        .collect();
    let kinds: Vec<(String, String)> = ItemKind::ALL
        .iter()
        .map(|k| {
            (
                serde_json::to_value(k)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                k.label().to_owned(),
            )
        })
        .collect();
    let mut strategies = vec![(String::new(), "Ingen särskild".to_owned())];
    strategies.extend(
        plan.nodes(NodeKind::Strategy)
            .into_iter()
            .map(|s| (s.id.clone(), s.text("title").to_owned())),
    );
    html! {
        (crate::web::pages::layout::error_summary(&errors.0))
        form.stack method="post" action=(paths::NewItem) novalidate {
            (csrf(&user.csrf))
            (select("from", "Från", &mine, first(values, "from"), errors))
            (select("to", "Till", &forums, first(values, "to"), errors))
            (select("kind", "Typ", &kinds, first(values, "kind"), errors))
            (input("title", "Rubrik", "text", first(values, "title"), errors, Some("Kort, utan namn på personer.")))
            (textarea("text", "Text", first(values, "text"), errors, None))
            (select("strategy", "Strategi", &strategies, first(values, "strategy"), errors))
            button type="submit" { "Skicka" }
        }
    }
}

async fn item_form_page(
    state: &AppState,
    user: &PageUser,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
    status: StatusCode,
) -> Response {
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let areas = match components::area_names(state).await {
        Ok(areas) => areas,
        Err(error) => return refused(error),
    };
    (status, page("Ny skrivelse till ett forum", Some(&user.viewer()), html! { h1 { "Skicka en skrivelse till ett annat forum" } (item_form(user, &plan, &areas, values, errors)) })).into_response()
}

pub async fn form(_: paths::NewItem, State(state): State<AppState>, user: PageUser) -> Response {
    item_form_page(
        &state,
        &user,
        &HashMap::new(),
        &FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn raise(
    _: paths::NewItem,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let kind = serde_json::from_value::<ItemKind>(serde_json::json!(first(&fields, "kind"))).ok();
    let input = ItemInput {
        from: first(&fields, "from").to_owned(),
        to: first(&fields, "to").to_owned(),
        kind,
        title: first(&fields, "title").to_owned(),
        text: first(&fields, "text").to_owned(),
        strategy: Some(first(&fields, "strategy").to_owned()),
        area: None,
    };
    match state.services.raise_item(&user.ctx(&fields), &input).await {
        Ok(done) => see_other(&format!("{}?efter={}", paths::item(done.id), done.position)),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                item_form_page(
                    &state,
                    &user,
                    &fields,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => refused(error),
        },
    }
}
