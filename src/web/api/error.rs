//! API errors: one JSON shape for every refusal, `{"errors": [{"field", "message"}]}`,
//! with a Swedish sentence per problem. 500s are logged once and say nothing more.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppError;
use crate::domain::DomainError;

/// The body of every 4xx and 5xx answer of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub errors: Vec<ErrorDetail>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The field the problem is in, when it is about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, in Swedish.
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<ErrorDetail>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorDetail {
                field: None,
                message: message.into(),
            }],
        }
    }

    pub fn field(status: StatusCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorDetail {
                field: Some(field.into()),
                message: message.into(),
            }],
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Något gick fel hos Insats. Försök igen om en stund.",
        )
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Domain(DomainError::Invalid(errors)) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                errors: errors
                    .into_iter()
                    .map(|error| ErrorDetail {
                        field: Some(error.field),
                        message: error.message,
                    })
                    .collect(),
            },
            AppError::Domain(DomainError::NotFound(message)) => ApiError::not_found(message),
            AppError::Domain(DomainError::Conflict(message)) => {
                ApiError::new(StatusCode::CONFLICT, message)
            }
            AppError::Conflict { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "Någon annan ändrade samma sak samtidigt. Läs in den igen och försök på nytt.",
            ),
            AppError::Forbidden(message) => ApiError::new(StatusCode::FORBIDDEN, message),
            AppError::SubmissionReused => ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency-Key",
                "Nyckeln i Idempotency-Key har redan använts för en annan förfrågan. Använd en ny nyckel för en ny förfrågan.",
            ),
            AppError::Internal(error) => {
                tracing::error!(error = %format!("{error:#}"), "a request failed");
                if is_unavailable(&error) {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Databasen svarar inte just nu. Försök igen om en stund.",
                    )
                } else {
                    ApiError::internal()
                }
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(error).into()
    }
}

/// Whether the database was out of reach (down, restarting, recovering, refusing
/// connections), as opposed to a fault in Insats.
fn is_unavailable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(
            sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            // A connection cut mid-message reads as a protocol error.
            | sqlx::Error::Protocol(_),
        ) => true,
            // SQLSTATE classes 08 (connection exception), 53 (insufficient resources) and 57
            // (operator intervention: shutdown, crash, "the database system is starting up").
            Some(sqlx::Error::Database(database)) => database.code().is_some_and(|code| {
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57")
            }),
            _ => false,
        })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                errors: self.errors,
            }),
        )
            .into_response()
    }
}
