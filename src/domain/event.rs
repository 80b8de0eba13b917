//! How domain events become log rows and back: an event is a Rust enum variant; its
//! `event_type` is the variant's name and its `data` the variant's fields as JSON.
//!
//! Schema evolution: every event type has a schema version (1 for all of them today).
//! When a type's shape changes, its version goes up and [`upcast`] learns to turn the
//! stored older shape into the new one on read. The log itself is never rewritten.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// The schema version every event is written with today.
pub const SCHEMA_VERSION: i32 = 1;

/// An aggregate: state folded from its stream's events, deciding on new ones.
pub trait Aggregate: Default + Sized {
    type Event: Serialize + DeserializeOwned;

    /// The state after `event`.
    fn apply(self, event: &Self::Event) -> Self;

    /// The tags the log stores with `event`, given the state after it.
    fn tags(&self, event: &Self::Event) -> Vec<String>;
}

/// Folds events into an aggregate's state.
pub fn fold<'a, A: Aggregate + 'a>(events: impl IntoIterator<Item = &'a A::Event>) -> A {
    events.into_iter().fold(A::default(), A::apply)
}

/// Splits an event (an enum serialised with `#[serde(tag = "type", content = "data")]`)
/// into its type name and data.
pub fn encode<E: Serialize>(event: &E) -> (String, Value) {
    let value = serde_json::to_value(event).expect("domain events serialise to JSON");
    let Value::Object(mut map) = value else {
        panic!("domain events are adjacently tagged enums");
    };
    let event_type = match map.remove("type") {
        Some(Value::String(name)) => name,
        _ => panic!("domain events are adjacently tagged enums"),
    };
    let data = map.remove("data").unwrap_or(Value::Object(Map::new()));
    (event_type, data)
}

/// Why a stored event could not be read as a domain event.
#[derive(Debug, thiserror::Error)]
#[error("event {event_type} (schema {schema_version}) could not be read: {source}")]
pub struct DecodeError {
    pub event_type: String,
    pub schema_version: i32,
    #[source]
    pub source: serde_json::Error,
}

/// Reads a stored event, upcasting older schema versions first.
pub fn decode<E: DeserializeOwned>(
    event_type: &str,
    schema_version: i32,
    data: &Value,
) -> Result<E, DecodeError> {
    let data = upcast(event_type, schema_version, data.clone());
    serde_json::from_value(json!({ "type": event_type, "data": data })).map_err(|source| {
        DecodeError {
            event_type: event_type.to_owned(),
            schema_version,
            source,
        }
    })
}

/// Turns a stored event's data of an older schema version into today's shape.
///
/// There are no older versions yet. A change adds an arm here, for example
/// `("ActivityLogged", 1) => { data["partners"] = …; data }`, and bumps the version
/// the type is written with.
pub fn upcast(event_type: &str, schema_version: i32, data: Value) -> Value {
    match (event_type, schema_version) {
        (_, SCHEMA_VERSION) => data,
        _ => data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", content = "data")]
    enum Example {
        Happened { what: String },
        Other { count: u32 },
    }

    #[test]
    fn events_round_trip_through_type_and_data() {
        let event = Example::Happened {
            what: "Språkcafé".into(),
        };
        let (event_type, data) = encode(&event);
        assert_eq!(event_type, "Happened");
        assert_eq!(data, json!({"what": "Språkcafé"}));
        assert_eq!(decode::<Example>(&event_type, 1, &data).unwrap(), event);
    }

    #[test]
    fn unknown_shapes_are_an_error_not_a_panic() {
        assert!(decode::<Example>("Other", 1, &json!({"count": "many"})).is_err());
        assert!(decode::<Example>("Unknown", 1, &json!({})).is_err());
    }
}
