//! Shapes shared by several API modules.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ApiError;
use crate::app::Done;

/// What a command created or changed, and where its events landed in the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// The id of what was created (the activity, case, note, item, report …).
    pub id: String,
    /// The log position of the command's last event.
    pub position: i64,
}

impl From<Done> for Created {
    fn from(done: Done) -> Self {
        Self {
            id: done.id.to_string(),
            position: done.position,
        }
    }
}

/// A reference to a node of the plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeRef {
    pub id: String,
    pub title: String,
}

/// An id in a path; one that is not a UUID cannot exist, so it is a 404.
pub fn uuid_in_path(id: &str, missing: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(missing))
}

/// A strategy's status in a report.
#[derive(Debug, Clone, Copy, serde::Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusValue {
    EnligtPlan,
    Risk,
    Avvikelse,
}

impl From<StatusValue> for crate::domain::strategy::StrategyStatus {
    fn from(value: StatusValue) -> Self {
        match value {
            StatusValue::EnligtPlan => Self::EnligtPlan,
            StatusValue::Risk => Self::Risk,
            StatusValue::Avvikelse => Self::Avvikelse,
        }
    }
}

/// The kinds of item between forums.
#[derive(Debug, Clone, Copy, serde::Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKindValue {
    Eskalering,
    Rapport,
    Fraga,
    Information,
}

impl From<ItemKindValue> for crate::domain::item::ItemKind {
    fn from(value: ItemKindValue) -> Self {
        match value {
            ItemKindValue::Eskalering => Self::Eskalering,
            ItemKindValue::Rapport => Self::Rapport,
            ItemKindValue::Fraga => Self::Fraga,
            ItemKindValue::Information => Self::Information,
        }
    }
}

/// The statuses an open case can be set to (closing has its own endpoint).
#[derive(Debug, Clone, Copy, serde::Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatusValue {
    Ny,
    Pagaende,
    Vantar,
}

impl From<CaseStatusValue> for crate::domain::case::CaseStatus {
    fn from(value: CaseStatusValue) -> Self {
        match value {
            CaseStatusValue::Ny => Self::Ny,
            CaseStatusValue::Pagaende => Self::Pagaende,
            CaseStatusValue::Vantar => Self::Vantar,
        }
    }
}
