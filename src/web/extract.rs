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

/// Files may be this large on the one form that takes them (a report PDF to check).
pub const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;

/// One field of a form sent as `multipart/form-data`.
#[derive(Debug, Clone)]
pub struct UploadField {
    pub name: String,
    pub file_name: Option<String>,
    pub bytes: Bytes,
}

/// The fields of a `multipart/form-data` body; `None` when it is not one or cannot be read.
pub async fn multipart_fields(content_type: &str, body: Bytes) -> Option<Vec<UploadField>> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.ok()?;
        fields.push(UploadField {
            name,
            file_name,
            bytes,
        });
    }
    Some(fields)
}

/// A form sent as `multipart/form-data` (with a file), refused in Swedish when it cannot be
/// read or is larger than [`UPLOAD_LIMIT`].
pub struct Upload(pub Vec<UploadField>);

impl Upload {
    /// The first field named `name`.
    pub fn field(&self, name: &str) -> Option<&UploadField> {
        self.0.iter().find(|field| field.name == name)
    }
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = Refused;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Refused> {
        let path = request.uri().path().to_owned();
        let content_type = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let unreadable = || {
            Refused::new(
                &path,
                StatusCode::BAD_REQUEST,
                "file",
                "Filen kunde inte tas emot. Välj filen och skicka igen.",
            )
        };
        let body = axum::body::to_bytes(request.into_body(), UPLOAD_LIMIT)
            .await
            .map_err(|_| {
                Refused::new(
                    &path,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "file",
                    "Filen är större än Insats tar emot (32 MB).",
                )
            })?;
        multipart_fields(&content_type, body)
            .await
            .map(Upload)
            .ok_or_else(unreadable)
    }
}
