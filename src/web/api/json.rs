//! `ApiJson<T>`: the API's JSON body extractor. It refuses, with the API's error shape
//! and a Swedish message: a body that is not JSON (400), JSON of the wrong shape (422,
//! naming the field), a missing or wrong content type (415) and a body over the limit (413).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Skicka kroppen som JSON, med Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Kroppen är för stor.")
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, "Kroppen kunde inte läsas.")
                }
            })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the field when the shape is wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let (field, text) = describe(&path, &message);
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, text)
            }
            _ => ApiError::new(StatusCode::BAD_REQUEST, "Kroppen är inte giltig JSON."),
        }
    })
}

/// A field name and a Swedish sentence for a serde data error.
fn describe(path: &str, message: &str) -> (String, String) {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    let nested = |name: String| {
        if path == "." || path.is_empty() {
            name
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = quoted("missing field `") {
        return (nested(name), "Fältet saknas.".into());
    }
    if let Some(name) = quoted("duplicate field `") {
        return (nested(name), "Fältet förekommer två gånger.".into());
    }
    let field = if path == "." || path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    let text = if message.starts_with("unknown variant") {
        "Värdet är inte ett av de tillåtna.".to_owned()
    } else if message.starts_with("invalid length") || message.contains("out of range") {
        "Värdet är för stort eller för litet.".to_owned()
    } else {
        "Värdet har fel typ.".to_owned()
    };
    (field, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        #[serde(default)]
        strategies: Vec<String>,
        participants: Option<u32>,
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let error = parse::<Body>(br#"{"title": 3}"#).unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.errors[0].field.as_deref(), Some("title"));
        let error = parse::<Body>(br#"{"title": "a", "strategies": ["x", 2]}"#).unwrap_err();
        assert_eq!(error.errors[0].field.as_deref(), Some("strategies[1]"));
        let error = parse::<Body>(br#"{"strategies": []}"#).unwrap_err();
        assert_eq!(
            (
                error.errors[0].field.as_deref(),
                error.errors[0].message.as_str()
            ),
            (Some("title"), "Fältet saknas.")
        );
        let error = parse::<Body>(br#"{"title": "a", "title": "b"}"#).unwrap_err();
        assert_eq!(error.errors[0].message, "Fältet förekommer två gånger.");
        let error = parse::<Body>(br#"{"title": "a", "participants": -1}"#).unwrap_err();
        assert_eq!(error.errors[0].field.as_deref(), Some("participants"));
    }

    #[test]
    fn broken_json_is_a_bad_request() {
        assert_eq!(
            parse::<Body>(b"{\"title\": ").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse::<Body>(&[0xff, 0xfe]).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
