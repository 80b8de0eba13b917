//! The per-stream hash chain: a canonical encoding of an event and the SHA-256 link.
//!
//! Every event's `hash` is
//!
//! ```text
//! hash = SHA-256( prev_hash ‖ be64(stream_version) ‖ body_digest )
//! body_digest = SHA-256( "insats-event-v1\n" ‖ canonical_json(body) )
//! ```
//!
//! where `body` is the object `{data, event_id, event_type, metadata, recorded_at,
//! schema_version, stream_id, tags}` and `prev_hash` is the previous event's hash in the
//! same stream (32 zero bytes before version 1). The body digest is computed by Insats
//! before the append; the link itself is computed by PostgreSQL in the append statement
//! (`sha256(prev || int8send(version) || digest)`), so that an append stays one round trip
//! even when the caller does not know the stream's head. Verification recomputes both
//! halves from the stored row, here in Rust, and so can an auditor from an export.
//!
//! The canonical JSON is compact, with object keys sorted by their UTF-8 bytes, strings
//! escaped as `serde_json` escapes them, and numbers as `serde_json` prints them. Values
//! read back from `jsonb` encode to the same bytes as the values that were appended.

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first event in every stream.
pub const GENESIS: Hash = [0u8; 32];

const BODY_DOMAIN: &[u8] = b"insats-event-v1\n";

/// The fields of an event that its hash covers, apart from its place in the stream.
#[derive(Debug, Clone, Copy)]
pub struct EventBody<'a> {
    pub event_id: Uuid,
    pub stream_id: &'a str,
    pub event_type: &'a str,
    pub schema_version: i32,
    pub data: &'a Value,
    pub metadata: &'a Value,
    pub tags: &'a [String],
    pub recorded_at: OffsetDateTime,
}

impl EventBody<'_> {
    /// SHA-256 over the domain tag and the canonical JSON of the body.
    pub fn digest(&self) -> Hash {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(BODY_DOMAIN);
        // Keys in byte order, written by hand so the order never depends on a map type.
        out.extend_from_slice(b"{\"data\":");
        write_canonical(&mut out, self.data);
        out.extend_from_slice(b",\"event_id\":\"");
        let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.extend_from_slice(self.event_id.hyphenated().encode_lower(&mut id).as_bytes());
        out.extend_from_slice(b"\",\"event_type\":");
        write_string(&mut out, self.event_type);
        out.extend_from_slice(b",\"metadata\":");
        write_canonical(&mut out, self.metadata);
        out.extend_from_slice(b",\"recorded_at\":\"");
        out.extend_from_slice(format_timestamp(self.recorded_at).as_bytes());
        out.extend_from_slice(b"\",\"schema_version\":");
        out.extend_from_slice(self.schema_version.to_string().as_bytes());
        out.extend_from_slice(b",\"stream_id\":");
        write_string(&mut out, self.stream_id);
        out.extend_from_slice(b",\"tags\":[");
        for (i, tag) in self.tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(&mut out, tag);
        }
        out.extend_from_slice(b"]}");
        Sha256::digest(&out).into()
    }
}

/// The chain link: `SHA-256(prev_hash ‖ be64(version) ‖ body_digest)`.
pub fn link(prev_hash: &Hash, stream_version: i64, body_digest: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(stream_version.to_be_bytes());
    hasher.update(body_digest);
    hasher.finalize().into()
}

/// RFC 3339 in UTC with exactly six fractional digits, the precision PostgreSQL keeps.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// Truncates a timestamp to whole microseconds, so that what is hashed is what is stored.
pub fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000)
        .expect("truncating nanoseconds stays in range")
}

fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_canonical(out, item);
            }
            out.push(b'}');
        }
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing a string to a Vec cannot fail");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body<'a>(data: &'a Value, metadata: &'a Value, tags: &'a [String]) -> EventBody<'a> {
        EventBody {
            event_id: Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
            stream_id: "activity-1",
            event_type: "ActivityLogged",
            schema_version: 1,
            data,
            metadata,
            tags,
            recorded_at: time::macros::datetime!(2026-05-04 08:30:00.123456 UTC),
        }
    }

    #[test]
    fn key_order_and_whitespace_do_not_change_the_digest() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "Å"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"Å","y":[1,2]},"b":1}"#).unwrap();
        let meta = json!({});
        assert_eq!(body(&a, &meta, &[]).digest(), body(&b, &meta, &[]).digest());
    }

    #[test]
    fn every_covered_field_changes_the_digest() {
        let data = json!({"title": "Språkcafé i Araby"});
        let meta = json!({"actor": "anna"});
        let tags = vec!["area:araby".to_string()];
        let base = body(&data, &meta, &tags);
        let reference = base.digest();

        let other_data = json!({"title": "Språkcafé i Teleborg"});
        let other_meta = json!({"actor": "bertil"});
        let other_tags = vec!["area:teleborg".to_string()];
        let variants = [
            EventBody {
                data: &other_data,
                ..base
            },
            EventBody {
                metadata: &other_meta,
                ..base
            },
            EventBody {
                tags: &other_tags,
                ..base
            },
            EventBody {
                stream_id: "activity-2",
                ..base
            },
            EventBody {
                event_type: "ActivityCorrected",
                ..base
            },
            EventBody {
                schema_version: 2,
                ..base
            },
            EventBody {
                event_id: Uuid::nil(),
                ..base
            },
            EventBody {
                recorded_at: base.recorded_at + time::Duration::microseconds(1),
                ..base
            },
        ];
        for variant in variants {
            assert_ne!(variant.digest(), reference, "{variant:?}");
        }
    }

    #[test]
    fn link_depends_on_previous_hash_and_version() {
        let digest = [7u8; 32];
        let first = link(&GENESIS, 1, &digest);
        assert_ne!(first, link(&GENESIS, 2, &digest));
        assert_ne!(first, link(&[1u8; 32], 1, &digest));
    }

    #[test]
    fn timestamps_keep_six_fraction_digits_in_utc() {
        let at = time::macros::datetime!(2026-01-02 03:04:05.000007 +02:00);
        assert_eq!(format_timestamp(at), "2026-01-02T01:04:05.000007Z");
        let fine = time::macros::datetime!(2026-01-02 03:04:05.123456789 UTC);
        assert_eq!(truncate_to_micros(fine).nanosecond(), 123_456_000);
    }
}
