//! API errors: one JSON shape for every refusal, `{"errors": [{"field", "message"}]}`,
//! with a Swedish sentence per problem. 500s are logged once and say nothing more.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppError;

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
    /// The cause of a 5xx, for the log (written once, by the middleware).
    failure: Option<super::super::Failure>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorDetail {
                field: None,
                message: message.into(),
            }],
            failure: None,
        }
    }

    pub fn field(status: StatusCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorDetail {
                field: Some(field.into()),
                message: message.into(),
            }],
            failure: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

/// The application's error in the API's shape, with the status it maps to.
impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let errors = error
            .messages()
            .into_iter()
            .map(|(field, message)| ErrorDetail {
                field: match (&error, field) {
                    (AppError::SubmissionReused, _) => Some("Idempotency-Key".to_owned()),
                    (_, field) => field,
                },
                message: match &error {
                    AppError::SubmissionReused => "Nyckeln i Idempotency-Key har redan använts för en annan förfrågan. Använd en ny nyckel för en ny förfrågan.".to_owned(),
                    _ => message,
                },
            })
            .collect();
        Self {
            status,
            errors,
            failure: super::super::Failure::of(error),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                errors: self.errors,
            }),
        )
            .into_response();
        if let Some(failure) = self.failure {
            response.extensions_mut().insert(failure);
        }
        response
    }
}
