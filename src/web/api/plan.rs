//! The plan: its tree, one strategy, status reports, process owners and decisions.

use crate::web::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use super::types::StatusValue;
use super::types::{Created, NodeRef};
use crate::app::{DecisionInput, StatusReportInput};
use crate::domain::plan::{NodeKind, Plan, PlanNode};
use crate::domain::process::{self, Process};
use crate::web::AppState;
use crate::web::auth::{Ctx, Reader};

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanResponse {
    pub id: String,
    pub title: String,
    pub background: Background,
    pub budget_quote: Option<Quote>,
    pub processes: Vec<ProcessTree>,
    /// Every challenge with the focus areas of the overview table "VAD behöver stärkas?",
    /// including those without a strategy table.
    pub challenges: Vec<ChallengeOverview>,
    pub goals: Vec<TextNode>,
    pub key_indicators: Vec<TextNode>,
    pub values_intro: Option<String>,
    pub values: Vec<TitledNode>,
    pub principles_intro: Option<String>,
    pub principles: Vec<TitledNode>,
    pub definitions: Vec<Definition>,
    pub organisation: Vec<Forum>,
    pub areas: Vec<Area>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Background {
    pub purpose: String,
    pub qualities: Vec<String>,
    pub sources: Vec<String>,
    pub scope: String,
    pub responsibility: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub source: String,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessTree {
    pub id: String,
    pub title: String,
    pub challenges: Vec<ChallengeTree>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeTree {
    pub id: String,
    pub title: String,
    pub focus_areas: Vec<FocusTree>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FocusTree {
    pub id: String,
    pub title: String,
    pub strategies: Vec<StrategyLeaf>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyLeaf {
    pub id: String,
    pub title: String,
    pub partners: Vec<Partner>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Partner {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeOverview {
    pub id: String,
    pub title: String,
    pub focus_areas: Vec<NodeRef>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TextNode {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TitledNode {
    pub id: String,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Definition {
    pub id: String,
    pub term: String,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Forum {
    pub id: String,
    pub name: String,
    pub mandate: String,
    pub members: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Area {
    pub id: String,
    pub name: String,
}

/// The plan as nested JSON: processes → challenges → focus areas → strategies → partners,
/// beside the goals, key indicators, values, principles, definitions and organisation.
#[utoipa::path(get, path = "/api/v1/plan", tag = "Planen",
    responses((status = 200, description = "Planen", body = PlanResponse)))]
pub async fn get_plan(
    State(state): State<AppState>,
    Reader(_reader): Reader,
) -> Result<Json<PlanResponse>, ApiError> {
    let plan = state.services.plan().await?;
    let areas = state.services.areas().await?;
    let header = plan.header();
    let field = |name: &str| header.and_then(|node| node.fields.get(name)).cloned();
    Ok(Json(PlanResponse {
        id: header.map(|node| node.id.clone()).unwrap_or_default(),
        title: header
            .map(|node| node.text("title").to_owned())
            .unwrap_or_default(),
        background: parse(field("background")).unwrap_or(Background {
            purpose: String::new(),
            qualities: Vec::new(),
            sources: Vec::new(),
            scope: String::new(),
            responsibility: String::new(),
        }),
        budget_quote: parse(field("budget_quote")),
        processes: process_trees(&plan),
        challenges: plan
            .nodes(NodeKind::Challenge)
            .into_iter()
            .map(|challenge| ChallengeOverview {
                id: challenge.id.clone(),
                title: challenge.text("title").to_owned(),
                focus_areas: challenge
                    .list("focus_areas")
                    .into_iter()
                    .filter_map(|id| node_ref(&plan, NodeKind::FocusArea, id))
                    .collect(),
            })
            .collect(),
        goals: text_nodes(&plan, NodeKind::Goal),
        key_indicators: text_nodes(&plan, NodeKind::KeyIndicator),
        values_intro: header
            .map(|node| node.text("values_intro").to_owned())
            .filter(|s| !s.is_empty()),
        values: titled_nodes(&plan, NodeKind::Value),
        principles_intro: header
            .map(|node| node.text("principles_intro").to_owned())
            .filter(|s| !s.is_empty()),
        principles: titled_nodes(&plan, NodeKind::Principle),
        definitions: plan
            .nodes(NodeKind::Definition)
            .into_iter()
            .map(|node| Definition {
                id: node.id.clone(),
                term: node.text("term").to_owned(),
                text: node.text("text").to_owned(),
            })
            .collect(),
        organisation: plan
            .nodes(NodeKind::Forum)
            .into_iter()
            .map(|node| Forum {
                id: node.id.clone(),
                name: node.text("name").to_owned(),
                mandate: node.text("mandate").to_owned(),
                members: node.text("members").to_owned(),
            })
            .collect(),
        areas: areas
            .all()
            .iter()
            .map(|area| Area {
                id: area.id.to_string(),
                name: area.name.clone(),
            })
            .collect(),
    }))
}

fn parse<T: serde::de::DeserializeOwned>(value: Option<Value>) -> Option<T> {
    value.and_then(|value| serde_json::from_value(value).ok())
}

/// Processes → challenges → focus areas → strategies, in the plan's reading order.
fn process_trees(plan: &Plan) -> Vec<ProcessTree> {
    let strategies = plan.nodes(NodeKind::Strategy);
    plan.nodes(NodeKind::Process)
        .into_iter()
        .map(|process| {
            let mine: Vec<&&PlanNode> = strategies
                .iter()
                .filter(|strategy| strategy.text("process") == process.id)
                .collect();
            let mut challenges: Vec<ChallengeTree> = Vec::new();
            for strategy in mine {
                let challenge_id = strategy.text("challenge");
                let focus_id = strategy.text("focus_area");
                let challenge = match challenges.iter_mut().position(|c| c.id == challenge_id) {
                    Some(index) => &mut challenges[index],
                    None => {
                        challenges.push(ChallengeTree {
                            id: challenge_id.to_owned(),
                            title: title_of(plan, NodeKind::Challenge, challenge_id),
                            focus_areas: Vec::new(),
                        });
                        challenges.last_mut().expect("just pushed")
                    }
                };
                let focus = match challenge
                    .focus_areas
                    .iter_mut()
                    .position(|f| f.id == focus_id)
                {
                    Some(index) => &mut challenge.focus_areas[index],
                    None => {
                        challenge.focus_areas.push(FocusTree {
                            id: focus_id.to_owned(),
                            title: title_of(plan, NodeKind::FocusArea, focus_id),
                            strategies: Vec::new(),
                        });
                        challenge.focus_areas.last_mut().expect("just pushed")
                    }
                };
                focus.strategies.push(StrategyLeaf {
                    id: strategy.id.clone(),
                    title: strategy.text("title").to_owned(),
                    partners: partners(plan, strategy),
                });
            }
            ProcessTree {
                id: process.id.clone(),
                title: process.text("title").to_owned(),
                challenges,
            }
        })
        .collect()
}

fn partners(plan: &Plan, strategy: &PlanNode) -> Vec<Partner> {
    strategy
        .list("partners")
        .into_iter()
        .filter_map(|id| plan.node(NodeKind::Partner, id))
        .map(|node| Partner {
            id: node.id.clone(),
            name: node.text("name").to_owned(),
        })
        .collect()
}

fn title_of(plan: &Plan, kind: NodeKind, id: &str) -> String {
    plan.node_with_status(kind, id)
        .map(|(node, _)| node.text("title").to_owned())
        .unwrap_or_else(|| id.to_owned())
}

fn node_ref(plan: &Plan, kind: NodeKind, id: &str) -> Option<NodeRef> {
    plan.node(kind, id).map(|node| NodeRef {
        id: node.id.clone(),
        title: node.text("title").to_owned(),
    })
}

fn text_nodes(plan: &Plan, kind: NodeKind) -> Vec<TextNode> {
    plan.nodes(kind)
        .into_iter()
        .map(|node| TextNode {
            id: node.id.clone(),
            text: node.text("text").to_owned(),
        })
        .collect()
}

fn titled_nodes(plan: &Plan, kind: NodeKind) -> Vec<TitledNode> {
    plan.nodes(kind)
        .into_iter()
        .map(|node| TitledNode {
            id: node.id.clone(),
            title: node.text("title").to_owned(),
            text: node.text("text").to_owned(),
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyResponse {
    pub id: String,
    pub title: String,
    pub process: NodeRef,
    pub challenge: NodeRef,
    pub focus_area: NodeRef,
    pub partners: Vec<Partner>,
    /// The process owner, when one is assigned.
    pub process_owner: Option<String>,
}

/// One strategy with its process, challenge, focus area, partners and process owner.
#[utoipa::path(get, path = "/api/v1/strategies/{id}", tag = "Planen",
    params(("id" = String, Path, description = "Strategins id, t.ex. matchningsmetodik")),
    responses(
        (status = 200, description = "Strategin", body = StrategyResponse),
        (status = 404, description = "Strategin finns inte", body = ErrorBody)))]
pub async fn get_strategy(
    State(state): State<AppState>,
    Reader(_reader): Reader,
    Path(id): Path<String>,
) -> Result<Json<StrategyResponse>, ApiError> {
    let plan = state.services.plan().await?;
    let strategy = plan
        .strategy(&id)
        .ok_or_else(|| ApiError::not_found("Strategin finns inte i planen."))?;
    let reference = |kind: NodeKind, id: &str| NodeRef {
        id: id.to_owned(),
        title: title_of(&plan, kind, id),
    };
    let (owner, _) = state
        .services
        .load::<Process>(&process::stream(strategy.process()))
        .await?;
    Ok(Json(StrategyResponse {
        id: strategy.id().to_owned(),
        title: strategy.title().to_owned(),
        process: reference(NodeKind::Process, strategy.process()),
        challenge: reference(NodeKind::Challenge, strategy.challenge()),
        focus_area: reference(NodeKind::FocusArea, strategy.focus_area()),
        partners: partners(&plan, strategy.node),
        process_owner: owner.owner.map(|(name, _)| name.as_str().to_owned()),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusReportRequest {
    /// The period's first day, `YYYY-MM-DD`.
    #[serde(default)]
    pub period_start: String,
    /// The period's last day, `YYYY-MM-DD`.
    #[serde(default)]
    pub period_end: String,
    pub status: Option<StatusValue>,
    /// Required for risk and avvikelse.
    #[serde(default)]
    pub comment: String,
}

/// The process owner reports the status of a strategy for a period.
#[utoipa::path(post, path = "/api/v1/strategies/{id}/status-reports", tag = "Processer",
    params(("id" = String, Path, description = "Strategins id")),
    request_body = StatusReportRequest,
    responses(
        (status = 201, description = "Rapporten är sparad", body = Created),
        (status = 404, description = "Strategin finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn report_status(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusReportRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input = StatusReportInput {
        period_start: body.period_start,
        period_end: body.period_end,
        status: body.status.map(Into::into),
        comment: body.comment,
    };
    let done = state.services.report_status(&ctx, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OwnerRequest {
    #[serde(default)]
    pub name: String,
    pub user_id: Option<uuid::Uuid>,
}

/// The coordinator assigns a process owner.
#[utoipa::path(post, path = "/api/v1/processes/{id}/owner", tag = "Processer",
    params(("id" = String, Path, description = "Processens id")),
    request_body = OwnerRequest,
    responses(
        (status = 200, description = "Processägaren är tilldelad", body = Created),
        (status = 404, description = "Processen finns inte", body = ErrorBody),
        (status = 409, description = "Redan processägare", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn assign_owner(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OwnerRequest>,
) -> Result<Json<Created>, ApiError> {
    let done = state
        .services
        .assign_process_owner(&ctx, &id, &body.name, body.user_id)
        .await?;
    Ok(Json(done.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionRequest {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
    /// The strategy the decision concerns, if one.
    pub strategy: Option<String>,
    /// `YYYY-MM-DD`
    #[serde(default)]
    pub decided_on: String,
}

/// The process owner records a decision.
#[utoipa::path(post, path = "/api/v1/processes/{id}/decisions", tag = "Processer",
    params(("id" = String, Path, description = "Processens id")),
    request_body = DecisionRequest,
    responses(
        (status = 201, description = "Beslutet är sparat", body = Created),
        (status = 404, description = "Processen finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn record_decision(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input = DecisionInput {
        title: body.title,
        text: body.text,
        strategy: body.strategy,
        decided_on: body.decided_on,
    };
    let done = state.services.record_decision(&ctx, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}
