//! The JSON API under `/api/v1`, and its OpenAPI 3 document at `/api/openapi.json`,
//! generated from the handlers' annotations.

mod activities;
mod areas;
pub mod audit;
mod cases;
pub mod error;
mod indicators;
mod items;
pub mod json;
mod plan;
mod privacy;
pub mod reads;
mod types;

use axum::Json;
use axum::http::StatusCode;
use axum::routing::get;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
pub use types::Created;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Insats API",
        description = "Uppföljning av Växjö kommunkoncerns integrationsplan: insatser, ärenden, statusrapporter och skrivelser mellan forumen.",
        version = "1"
    ),
    tags(
        (name = "Planen", description = "Integrationsplanen: processer, utmaningar, strategier och samverkan"),
        (name = "Områden", description = "Områdena och rådets granskning av deras tidslinjer"),
        (name = "Insatser", description = "Insatser som områdesteamen loggar"),
        (name = "Ärenden", description = "Ärenden i områdena"),
        (name = "Forum", description = "Skrivelser mellan forumen: eskaleringar, rapporter, frågor, information"),
        (name = "Processer", description = "Processägare, beslut och statusrapporter"),
        (name = "Nyckeltal", description = "Planens nyckeltal och deras värden över tid")
    ),
    modifiers(&CommonAnswers)
)]
struct ApiDoc;

/// Adds what every operation shares: bearer authentication, and the refusals any request
/// can get (not signed in, not allowed, too large, wrong content type, database away).
struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        let idempotency_key = {
            use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
            use utoipa::openapi::schema::{ObjectBuilder, Type};
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "En nyckel som klienten väljer (till exempel ett UUID) när den kan komma att skicka samma förfrågan igen. Samma nyckel med samma kropp ger det första svaret utan att något sparas igen; samma nyckel med en annan kropp ger 422. Nycklar sparas i minst ett dygn.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[!-~]+$")),
                ))
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            if let Some(post) = &mut item.post {
                post.parameters
                    .get_or_insert_with(Vec::new)
                    .push(utoipa::openapi::RefOr::T(idempotency_key.clone()));
            }
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                for (status, description) in [
                    ("400", "Kroppen eller adressen är inte giltig"),
                    ("401", "Inte inloggad"),
                    ("403", "Saknar behörighet"),
                    ("404", "Finns inte"),
                    ("413", "Kroppen är för stor"),
                    ("415", "Kroppen är inte JSON"),
                    ("422", "Ogiltiga uppgifter"),
                    ("503", "Databasen svarar inte"),
                ] {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// The API's routes and its OpenAPI document.
pub fn router() -> axum::Router<AppState> {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(plan::get_plan))
        .routes(routes!(plan::get_strategy))
        .routes(routes!(plan::report_status))
        .routes(routes!(plan::assign_owner))
        .routes(routes!(plan::record_decision))
        .routes(routes!(areas::list_areas, areas::add_area))
        .routes(routes!(areas::review_timeline))
        .routes(routes!(activities::log_activity))
        .routes(routes!(activities::correct_activity))
        .routes(routes!(activities::retract_activity))
        .routes(routes!(cases::open_case))
        .routes(routes!(cases::add_note))
        .routes(routes!(cases::assign))
        .routes(routes!(cases::change_status))
        .routes(routes!(cases::escalate))
        .routes(routes!(cases::close))
        .routes(routes!(cases::reopen))
        .routes(routes!(items::raise_item))
        .routes(routes!(items::acknowledge))
        .routes(routes!(items::answer))
        .routes(routes!(items::close))
        .routes(routes!(privacy::case_secrecy))
        .routes(routes!(privacy::item_secrecy))
        .routes(routes!(privacy::activity_secrecy))
        .routes(routes!(privacy::erase_case))
        .routes(routes!(privacy::erase_activity))
        .routes(routes!(privacy::erase_item))
        .routes(routes!(reads::area_timeline))
        .routes(routes!(reads::area_cases))
        .routes(routes!(reads::strategy_overview))
        .routes(routes!(reads::silent_strategies))
        .routes(routes!(reads::council_flow))
        .routes(routes!(audit::replay))
        .routes(routes!(audit::verify_strategy))
        .routes(routes!(audit::verify_log))
        .routes(routes!(audit::export_json))
        .routes(routes!(audit::export_csv))
        .routes(routes!(indicators::list))
        .routes(routes!(indicators::show))
        .routes(routes!(indicators::enter))
        .split_for_parts();
    // The document's paths exist only now that the routes are in: what every operation
    // shares is added to them here (`ApiDoc`'s own modifier ran before there were any).
    let mut openapi = openapi;
    utoipa::Modify::modify(&CommonAnswers, &mut openapi);
    let openapi = Arc::new(openapi);
    router.route(
        "/api/openapi.json",
        get(move || {
            let openapi = openapi.clone();
            async move { Json(openapi.as_ref().clone()) }
        }),
    )
}

/// Unknown API paths answer in the API's error shape.
pub async fn not_found() -> error::ApiError {
    error::ApiError::new(StatusCode::NOT_FOUND, "Adressen finns inte i Insats API.")
}
