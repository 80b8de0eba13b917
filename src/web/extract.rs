//! Insats's own extractors for a request's path, query string and form. Axum's refuse bad
//! input with a plain-text English sentence ("Failed to deserialize query string…"); these
//! refuse it with the API's JSON error shape under `/api/`, and with a Swedish page
//! elsewhere, always as a 4xx.

use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::api::error::ApiError;

/// A refused path, query or form, answered where it was asked.
#[derive(Debug)]
pub struct Refused {
    api: bool,
    status: StatusCode,
    field: &'static str,
    message: &'static str,
}

impl Refused {
    fn new(
        parts_path: &str,
        status: StatusCode,
        field: &'static str,
        message: &'static str,
    ) -> Self {
        Self {
            api: parts_path.starts_with("/api/"),
            status,
            field,
            message,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        if self.api {
            ApiError::field(self.status, self.field, self.message).into_response()
        } else {
            super::pages::error_page(
                self.status,
                "Adressen eller formuläret är fel",
                self.message,
            )
        }
    }
}

/// The path's parameters.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refused> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(path_refused(parts.uri.path(), &rejection)),
        }
    }
}

/// A typed page path whose segment cannot be read (`web::paths`).
impl From<PathRejection> for Refused {
    fn from(rejection: PathRejection) -> Self {
        path_refused("", &rejection)
    }
}

fn path_refused(path: &str, rejection: &PathRejection) -> Refused {
    tracing::debug!(%rejection, "refused a path");
    Refused::new(
        path,
        StatusCode::BAD_REQUEST,
        "path",
        "Adressen innehåller något som inte kan läsas. Kontrollera länken.",
    )
}

/// The query string's parameters.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refused> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_refused(parts.uri.path(), &rejection)),
        }
    }
}

fn query_refused(path: &str, rejection: &QueryRejection) -> Refused {
    tracing::debug!(%rejection, "refused a query string");
    Refused::new(
        path,
        StatusCode::BAD_REQUEST,
        "query",
        "Adressen har en parameter med ett värde som inte kan läsas. Gå tillbaka och försök igen.",
    )
}

/// A form (`application/x-www-form-urlencoded`) in the body.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Refused;

    async fn from_request(request: Request, state: &S) -> Result<Self, Refused> {
        let path = request.uri().path().to_owned();
        match axum::extract::Form::<T>::from_request(request, state).await {
            Ok(axum::extract::Form(value)) => Ok(Form(value)),
            Err(rejection) => Err(form_refused(&path, &rejection)),
        }
    }
}

fn form_refused(path: &str, rejection: &FormRejection) -> Refused {
    tracing::debug!(%rejection, "refused a form");
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Refused::new(
            path,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body",
            "Formuläret innehöll mer än Insats tar emot på en gång. Korta texten och försök igen.",
        );
    }
    if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return Refused::new(
            path,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "body",
            "Formuläret skickades i ett format som Insats inte tar emot.",
        );
    }
    Refused::new(
        path,
        StatusCode::BAD_REQUEST,
        "body",
        "Formuläret innehöll något som inte kan läsas. Gå tillbaka, ladda om sidan och försök igen.",
    )
}

/// A form's raw body, refused in Swedish when it cannot be read.
pub struct FormBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for FormBody {
    type Rejection = Refused;

    async fn from_request(request: Request, state: &S) -> Result<Self, Refused> {
        let path = request.uri().path().to_owned();
        Bytes::from_request(request, state)
            .await
            .map(FormBody)
            .map_err(|rejection| {
                let status = rejection.status();
                Refused::new(
                    &path,
                    if status == StatusCode::PAYLOAD_TOO_LARGE {
                        status
                    } else {
                        StatusCode::BAD_REQUEST
                    },
                    "body",
                    if status == StatusCode::PAYLOAD_TOO_LARGE {
                        "Formuläret innehöll mer än Insats tar emot på en gång. Korta texten och försök igen."
                    } else {
                        "Formuläret kunde inte läsas. Försök igen."
                    },
                )
            })
    }
}
