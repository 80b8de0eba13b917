//! `cargo bench --bench append`: how fast the event log takes appends, against plain INSERTs.
//!
//! Durable settings (synchronous_commit on). Each case runs Insats's append (expected
//! version, hash chain, idempotency key, uniqueness) and, in the same run, the baseline:
//! plain INSERTs of the same rows into a table of the same shape and indexes, without the
//! chain, the checks or the unique constraints. Rounds alternate Insats and baseline, and
//! the best round of each counts. The last line printed is one JSON object.
//!
//! `INSATS_BENCH_SECONDS` sets the length of one measured run (default 4);
//! `INSATS_BENCH_CASES=single_8,batch_100` runs only those cases.

use insats::database::scratch::ScratchDatabase;
use insats::event_log::{EventStore, ExpectedVersion, NewEvent};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::types::Json;
use std::time::{Duration, Instant};
use uuid::Uuid;

const ROUNDS: usize = 3;

const BASELINE_TABLE: &str = "
    CREATE TABLE baseline_events (
        position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
        event_id uuid NOT NULL, stream_id text NOT NULL, stream_version bigint NOT NULL,
        event_type text NOT NULL, schema_version integer NOT NULL DEFAULT 1,
        data jsonb NOT NULL, metadata jsonb NOT NULL, tags text[] NOT NULL,
        recorded_at timestamptz NOT NULL, prev_hash bytea NOT NULL, hash bytea NOT NULL
    );
    CREATE INDEX baseline_commit_order ON baseline_events (transaction_id, position);
    CREATE INDEX baseline_tags ON baseline_events USING gin (tags);";

/// The same rows as Insats's append sends, as typed arrays, without chain or checks.
const BASELINE_INSERT: &str = "
    INSERT INTO baseline_events (event_id, stream_id, stream_version, event_type, data, metadata,
                                 tags, recorded_at, prev_hash, hash)
    SELECT b.event_id, $1, b.stream_version, b.event_type, b.data, b.metadata,
           $6[b.tag_from:b.tag_to], $9, decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex')
    FROM unnest($2::uuid[], $3::int8[], $4::text[], $5::jsonb[], $7::jsonb[], $8::int4[], $10::int4[])
         AS b(event_id, stream_version, event_type, data, metadata, tag_from, tag_to)";

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    writers: usize,
    batch: usize,
}

const CASES: [Case; 5] = [
    Case {
        name: "single_1",
        writers: 1,
        batch: 1,
    },
    Case {
        name: "single_8",
        writers: 8,
        batch: 1,
    },
    Case {
        name: "single_32",
        writers: 32,
        batch: 1,
    },
    Case {
        name: "batch_100",
        writers: 1,
        batch: 100,
    },
    Case {
        name: "batch_100_8",
        writers: 8,
        batch: 100,
    },
];

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let seconds: u64 = std::env::var("INSATS_BENCH_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(4);
    let duration = Duration::from_secs(seconds);
    let db = ScratchDatabase::create(40).await?;
    let synchronous_commit: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&db.pool)
        .await?;
    anyhow::ensure!(
        synchronous_commit == "on",
        "the benchmark needs synchronous_commit = on"
    );
    sqlx::raw_sql(BASELINE_TABLE).execute(&db.pool).await?;
    let store = EventStore::new(db.pool.clone());
    let payload = Payload::new();
    println!(
        "append benchmark: {} bytes of JSON per event, {ROUNDS} rounds of {seconds} s per side, synchronous_commit = on",
        payload.size()
    );

    let only: Option<Vec<String>> = std::env::var("INSATS_BENCH_CASES")
        .ok()
        .map(|cases| cases.split(',').map(str::to_owned).collect());
    let mut summary = serde_json::Map::new();
    for case in CASES {
        if only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|name| name == case.name))
        {
            continue;
        }
        let mut insats_best: f64 = 0.0;
        let mut baseline_best: f64 = 0.0;
        for round in 0..ROUNDS {
            let tag = format!("{}-{round}", case.name);
            insats_best = insats_best.max(insats(&store, &payload, case, &tag, duration).await?);
            baseline_best =
                baseline_best.max(baseline(&db.pool, &payload, case, &tag, duration).await?);
        }
        let ratio = insats_best / baseline_best;
        println!(
            "{:<12} writers {:>2}, {:>3} events/append: insats {:>8.0} events/s, baseline {:>8.0} events/s, ratio {:.2}",
            case.name, case.writers, case.batch, insats_best, baseline_best, ratio
        );
        summary.insert(
            format!("{}_events_per_s", case.name),
            json!(insats_best.round()),
        );
        summary.insert(
            format!("{}_baseline_events_per_s", case.name),
            json!(baseline_best.round()),
        );
        summary.insert(
            format!("{}_ratio", case.name),
            json!((ratio * 1000.0).round() / 1000.0),
        );
    }
    println!("{}", Value::Object(summary));
    Ok(())
}

/// A realistic activity: about 400 bytes of JSON with Swedish text, tags and metadata.
struct Payload {
    data: Value,
    metadata: Value,
    tags: Vec<String>,
}

impl Payload {
    fn new() -> Self {
        Self {
            data: json!({
                "area": "araby",
                "date": "2026-05-04",
                "title": "Språkcafé med samhällsinformation",
                "description": "Träff på Araby bibliotek om arbetsmarknaden, på lätt svenska.",
                "strategies": ["matchningsmetodik", "sprakutvecklande-insatser"],
                "partners": ["Civilsamhället", "Arbetsförmedlingen"],
                "participants": 14,
                "follow_up": true
            }),
            metadata: json!({
                "actor": "0192f0c4-1111-7000-8000-000000000001",
                "role": "omradesteam",
                "correlation_id": "0192f0c4-2222-7000-8000-000000000002"
            }),
            tags: vec![
                "area:araby".into(),
                "strategy:matchningsmetodik".into(),
                "strategy:sprakutvecklande-insatser".into(),
            ],
        }
    }

    fn size(&self) -> usize {
        self.data.to_string().len()
            + self.metadata.to_string().len()
            + self.tags.iter().map(String::len).sum::<usize>()
    }

    fn event(&self) -> NewEvent {
        NewEvent::new("ActivityLogged", self.data.clone())
            .with_metadata(self.metadata.clone())
            .with_tags(self.tags.clone())
    }
}

/// Events per second through `EventStore::append`, each writer on its own stream.
async fn insats(
    store: &EventStore,
    payload: &Payload,
    case: Case,
    tag: &str,
    duration: Duration,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..case.writers {
        let store = store.clone();
        let stream = format!("bench-{tag}-{writer}");
        let batches: Vec<Vec<NewEvent>> = (0..64)
            .map(|_| (0..case.batch).map(|_| payload.event()).collect())
            .collect();
        writers.push(tokio::spawn(async move {
            let mut version = 0i64;
            let mut written = 0usize;
            let mut batches = batches.into_iter().cycle();
            while start.elapsed() < duration {
                // Fresh ids per append: the same ids would be recognised as a retry.
                let mut batch = batches.next().expect("cycled");
                batch
                    .iter_mut()
                    .for_each(|event| event.event_id = Uuid::now_v7());
                let expected = if version == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(version)
                };
                version = store.append(&stream, expected, &batch).await?.last_version;
                written += batch.len();
            }
            anyhow::Ok(written)
        }));
    }
    let mut total = 0;
    for writer in writers {
        total += writer.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// Events per second of plain INSERTs of the same rows.
async fn baseline(
    pool: &PgPool,
    payload: &Payload,
    case: Case,
    tag: &str,
    duration: Duration,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..case.writers {
        let pool = pool.clone();
        let stream = format!("bench-{tag}-{writer}");
        let template = payload.event();
        writers.push(tokio::spawn(async move {
            let mut written = 0usize;
            let mut version = 0i64;
            while start.elapsed() < duration {
                let events: Vec<NewEvent> = (0..case.batch).map(|_| template.clone()).collect();
                let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
                let versions: Vec<i64> = (1..=events.len() as i64).map(|v| version + v).collect();
                version += events.len() as i64;
                let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
                let data: Vec<Json<&Value>> = events.iter().map(|e| Json(&e.data)).collect();
                let metadata: Vec<Json<&Value>> =
                    events.iter().map(|e| Json(&e.metadata)).collect();
                let mut tags: Vec<&str> = Vec::new();
                let (mut tag_from, mut tag_to) = (Vec::new(), Vec::new());
                for event in &events {
                    tag_from.push(tags.len() as i32 + 1);
                    tags.extend(event.tags.iter().map(String::as_str));
                    tag_to.push(tags.len() as i32);
                }
                sqlx::query(BASELINE_INSERT)
                    .bind(&stream)
                    .bind(&ids)
                    .bind(&versions)
                    .bind(&types)
                    .bind(&data)
                    .bind(&tags)
                    .bind(&metadata)
                    .bind(&tag_from)
                    .bind(time::OffsetDateTime::now_utc())
                    .bind(&tag_to)
                    .execute(&pool)
                    .await?;
                written += events.len();
            }
            anyhow::Ok(written)
        }));
    }
    let mut total = 0;
    for writer in writers {
        total += writer.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}
