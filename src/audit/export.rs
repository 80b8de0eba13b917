//! Exports of a strategy's history that an auditor can check without a database.
//!
//! Both formats carry every event as stored (sealed text stays sealed: that is what the
//! hashes cover) with its `prev_hash` and `hash`, and the whole seals stream. The JSON
//! export is one object `{"format", "strategy", "exported_at", "events": […], "seals": […]}`;
//! the CSV export has one row per event and one per seal, with the columns of [`HEADER`].
//!
//! [`verify`] checks, from the file alone: each event against its own hash; consecutive
//! versions of a stream against each other; the seals' chain from its first seal; and the
//! strategy's running hash at every seal, which finds an event removed from the file (or
//! from the log before the export was made).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use time::OffsetDateTime;

use super::verify::{Integrity, Problem};
use crate::event_log::chain::{GENESIS, Hash};
use crate::event_log::seal;
use crate::event_log::verify::{ChainVerifier, content_problem, link_problem};
use crate::event_log::{BrokenLink, RecordedEvent};

pub const FORMAT: &str = "insats-strategihistorik-v1";

/// The CSV columns. `vem` and `vad` are for reading only; the check ignores them.
pub const HEADER: [&str; 15] = [
    "position",
    "transaction_id",
    "event_id",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "recorded_at",
    "data",
    "metadata",
    "tags",
    "prev_hash",
    "hash",
    "vem",
    "vad",
];

#[derive(Debug, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    pub strategy: String,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    pub events: Vec<RecordedEvent>,
    pub seals: Vec<RecordedEvent>,
}

pub fn to_json(strategy: &str, events: &[RecordedEvent], seals: &[RecordedEvent]) -> Vec<u8> {
    let export = Export {
        format: FORMAT.into(),
        strategy: strategy.into(),
        exported_at: OffsetDateTime::now_utc(),
        events: events.to_vec(),
        seals: seals.to_vec(),
    };
    let mut bytes = serde_json::to_vec_pretty(&export).expect("an export serializes");
    bytes.push(b'\n');
    bytes
}

/// The CSV export (RFC 4180, comma-separated, every field quoted). `shown` holds, per
/// position, the readable summary of the event.
pub fn to_csv(
    events: &[RecordedEvent],
    seals: &[RecordedEvent],
    shown: &HashMap<i64, (String, String)>,
) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer
        .write_record(HEADER)
        .expect("writing to memory cannot fail");
    for event in events.iter().chain(seals) {
        let (who, what) = shown.get(&event.position).cloned().unwrap_or_default();
        writer
            .write_record([
                event.position.to_string(),
                event.transaction_id.to_string(),
                event.event_id.to_string(),
                event.stream_id.clone(),
                event.stream_version.to_string(),
                event.event_type.clone(),
                event.schema_version.to_string(),
                crate::event_log::chain::format_timestamp(event.recorded_at),
                event.data.to_string(),
                event.metadata.to_string(),
                serde_json::to_string(&event.tags).expect("tags serialize"),
                hex::encode(&event.prev_hash),
                hex::encode(&event.hash),
                crate::spreadsheet::guarded(&who).into_owned(),
                crate::spreadsheet::guarded(&what).into_owned(),
            ])
            .expect("writing to memory cannot fail");
    }
    writer.into_inner().expect("flushing to memory cannot fail")
}

/// Reads an export, JSON or CSV (told apart by the first character).
pub fn parse(bytes: &[u8]) -> Result<Export, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "Filen är inte UTF-8.".to_owned())?;
    if text.trim_start().starts_with('{') {
        let export: Export = serde_json::from_str(text)
            .map_err(|e| format!("Filen är inte en JSON-export från Insats: {e}."))?;
        if export.format != FORMAT {
            return Err(format!(
                "Okänt format {:?}, väntade {FORMAT:?}.",
                export.format
            ));
        }
        return Ok(export);
    }
    parse_csv(text)
}

fn parse_csv(text: &str) -> Result<Export, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = reader.records();
    let header = rows
        .next()
        .ok_or("Filen är tom.")?
        .map_err(|error| format!("Filen kunde inte läsas som CSV: {error}."))?;
    if header.iter().ne(HEADER) {
        return Err("Filen är inte en CSV-export från Insats (fel kolumner).".into());
    }
    let mut events = Vec::new();
    let mut seals = Vec::new();
    for (number, row) in rows.enumerate() {
        let line = number + 2;
        let bad = |what: &str| format!("Rad {line}: {what}.");
        let row = row.map_err(|_| bad("raden kunde inte läsas"))?;
        if row.len() != HEADER.len() {
            return Err(bad("fel antal fält"));
        }
        let number = |i: usize| row[i].parse::<i64>().map_err(|_| bad(HEADER[i]));
        let json = |i: usize| serde_json::from_str::<Value>(&row[i]).map_err(|_| bad(HEADER[i]));
        let event = RecordedEvent {
            position: number(0)?,
            transaction_id: number(1)?,
            event_id: row[2].parse().map_err(|_| bad("event_id"))?,
            stream_id: row[3].to_owned(),
            stream_version: number(4)?,
            event_type: row[5].to_owned(),
            schema_version: row[6].parse().map_err(|_| bad("schema_version"))?,
            recorded_at: OffsetDateTime::parse(
                &row[7],
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| bad("recorded_at"))?,
            data: json(8)?,
            metadata: json(9)?,
            tags: serde_json::from_str(&row[10]).map_err(|_| bad("tags"))?,
            prev_hash: hex::decode(&row[11]).map_err(|_| bad("prev_hash"))?,
            hash: hex::decode(&row[12]).map_err(|_| bad("hash"))?,
        };
        if event.stream_id == seal::STREAM {
            seals.push(event);
        } else {
            events.push(event);
        }
    }
    let strategy = events
        .iter()
        .flat_map(|e| e.tags.iter())
        .find_map(|t| t.strip_prefix("strategy:"))
        .unwrap_or_default()
        .to_owned();
    Ok(Export {
        format: FORMAT.into(),
        strategy,
        exported_at: OffsetDateTime::UNIX_EPOCH,
        events,
        seals,
    })
}

/// Checks an export on its own.
pub fn verify(export: &Export) -> Integrity {
    let mut problems = Vec::new();
    let mut count = 0u64;
    let mut report = |link: BrokenLink, problems: &mut Vec<Problem>| {
        count += 1;
        problems.push(Problem::from_link(&link));
    };
    // Each event against its own hash, and against the event before it in its stream
    // when the export holds both.
    let mut last: HashMap<&str, (i64, Hash)> = HashMap::new();
    let mut ordered = true;
    for (i, event) in export.events.iter().enumerate() {
        if i > 0 && export.events[i - 1].cursor() >= event.cursor() {
            ordered = false;
        }
        let problem = match last.get(event.stream_id.as_str()) {
            Some((version, hash)) if *version + 1 == event.stream_version => {
                link_problem(event, *version, hash)
            }
            _ => content_problem(event),
        };
        if let Some(problem) = problem {
            report(
                BrokenLink {
                    position: event.position,
                    stream_id: event.stream_id.clone(),
                    stream_version: event.stream_version,
                    problem,
                },
                &mut problems,
            );
        }
        last.insert(
            event.stream_id.as_str(),
            (
                event.stream_version,
                event.hash.as_slice().try_into().unwrap_or(GENESIS),
            ),
        );
    }
    // The seals: their whole chain, and the strategy's running hash at each.
    let mut chain = ChainVerifier::new();
    for event in &export.seals {
        if let Some(link) = chain.feed(event) {
            report(link, &mut problems);
        }
    }
    let seals = seal::decode_all(&export.seals);
    let mismatches = seal::check_strategy(&export.strategy, &export.events, &seals);
    problems.extend(mismatches.iter().map(Problem::from_seal));
    let mut count = count + mismatches.len() as u64;
    if !ordered {
        count += 1;
        problems.push(Problem {
            position: 0,
            stream_id: None,
            stream_version: None,
            kind: "out_of_order",
            message: "Händelserna i filen står inte i loggens ordning.".into(),
        });
    }
    let sealed_up_to = seal::proven_up_to(&seals, &mismatches);
    let streams: std::collections::HashSet<&str> =
        export.events.iter().map(|e| e.stream_id.as_str()).collect();
    Integrity::build(
        export.events.len() as u64,
        streams.len() as u64,
        seals.len() as u64,
        export.events.last().map(|e| (e.position, e.recorded_at)),
        sealed_up_to,
        problems,
        count,
    )
}
