//! `cargo bench --bench replay`: an auditor's replay of one strategy, and the verification
//! of the whole log, against reading the same rows with `COPY` in the same run.
//!
//! The log: a demo history of `INSATS_BENCH_EVENTS` events (default 1 000 000) in which one
//! strategy is topped up with logged activities until `INSATS_BENCH_STRATEGY_EVENTS`
//! (default 100 000) events are tagged with it; the log is then sealed.
//!
//! 1. Replay: `audit::state_as_of` the middle of that strategy's history (fold the history
//!    read model's rows up to the middle). Baseline: `COPY` of the strategy's whole history
//!    (every column) to the client. Also timed: `audit::state_from_log` (the same fold from
//!    the log's events, by tag) and `audit::page`, what the audit page loads (the state at
//!    the moment, the latest 300 events opened, the history's extent).
//! 2. Verification: `EventStore::verify_log` (every stream's chain and every seal, one
//!    pass in commit order). Baseline: `COPY` of every row in commit order.
//!
//! Each side runs three times; the best run counts. The last line printed is one JSON object.

mod support;

use futures_util::StreamExt;
use insats::audit::{self, AsOf};
use insats::event_log::{BulkStream, NewEvent};
use serde_json::json;
use std::time::{Duration, Instant};
use support::{env_number, one_decimal};

const STRATEGY: &str = "matchningsmetodik";

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let target = env_number("INSATS_BENCH_EVENTS", 1_000_000);
    let wanted = env_number("INSATS_BENCH_STRATEGY_EVENTS", 100_000);
    let tag = format!("strategy:{STRATEGY}");
    // The demo spreads its events over ~30 strategies; write fewer demo events so the
    // top-up brings the log to about `target`.
    let demo = support::demo(target.saturating_sub(wanted * 9 / 10), 8).await?;
    let pool = demo.db.pool.clone();
    let tagged = |pool: sqlx::PgPool, tag: String| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE tags @> ARRAY[$1::text]")
            .bind(tag)
            .fetch_one(&pool)
            .await
    };
    let already = tagged(pool.clone(), tag.clone()).await? as u64;
    let top_up = wanted.saturating_sub(already);
    let started = Instant::now();
    let areas = ["araby", "teleborg", "lammhult", "braas"];
    let base = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let mut written = 0u64;
    while written < top_up {
        let batch: Vec<BulkStream> = (written..(written + 2_000).min(top_up))
            .map(|n| {
                let id = uuid::Uuid::now_v7();
                let area = areas[(n % 4) as usize];
                let event = NewEvent::new(
                    "ActivityLogged",
                    json!({"activity_id": id, "area": area, "date": "2026-05-04",
                           "title": format!("Matchningsträff {n}"), "description": "",
                           "strategies": [STRATEGY], "partners": [], "participants": n % 40,
                           "follow_up": false}),
                )
                .with_metadata(json!({"actor": uuid::Uuid::nil(), "actor_name": "Mätning", "role": "omradesteam", "area": area}))
                .with_tags([format!("activity:{id}"), format!("area:{area}"), tag.clone(), "process:arbetsmarknad-och-naringsliv".into()]);
                BulkStream {
                    stream_id: format!("activity-{id}"),
                    after_version: 0,
                    after_hash: [0; 32],
                    events: vec![(event, base + time::Duration::milliseconds(n as i64))],
                }
            })
            .collect();
        written += batch.len() as u64;
        demo.store.append_bulk(&batch).await?;
    }
    let history_events = tagged(pool.clone(), tag.clone()).await? as u64;
    let events = demo.store.count_events().await? as u64;
    println!(
        "topped up {top_up} activities in {:.1} s: {history_events} of {events} events are tagged {tag}",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    demo.store
        .seal(insats::event_log::seal::EVERY, Duration::ZERO)
        .await?;
    println!("sealed the log in {:.1} s", started.elapsed().as_secs_f64());
    sqlx::query("VACUUM ANALYZE events").execute(&pool).await?;
    let started = Instant::now();
    let rebuilt = insats::projections::rebuild::rebuild(
        &pool,
        &insats::projections::history::PROJECTION,
        |_, _| {},
    )
    .await?;
    println!(
        "the strategies' history read model built from {} events in {:.1} s",
        rebuilt.events,
        started.elapsed().as_secs_f64()
    );

    // The middle of the strategy's history.
    let middle: i64 = sqlx::query_scalar(
        "SELECT position FROM events WHERE tags @> ARRAY[$1::text]
         ORDER BY events.transaction_id, events.position OFFSET $2 LIMIT 1",
    )
    .bind(&tag)
    .bind((history_events / 2) as i64)
    .fetch_one(&pool)
    .await?;

    let copy = |sql: String| {
        let pool = pool.clone();
        async move {
            let mut connection = pool.acquire().await?;
            sqlx::query("SET statement_timeout = 0")
                .execute(&mut *connection)
                .await?;
            let started = Instant::now();
            let mut stream = connection.copy_out_raw(&sql).await?;
            let mut bytes = 0usize;
            while let Some(chunk) = stream.next().await {
                bytes += chunk?.len();
            }
            drop(stream);
            anyhow::Ok((started.elapsed().as_secs_f64(), bytes))
        }
    };
    let columns = "position, transaction_id, event_id, stream_id, stream_version, event_type, \
                   schema_version, data, metadata, tags, recorded_at, prev_hash, hash";
    let history_copy = format!(
        "COPY (SELECT {columns} FROM events WHERE tags @> ARRAY['{tag}']
               ORDER BY transaction_id, position) TO STDOUT"
    );
    let log_copy =
        format!("COPY (SELECT {columns} FROM events ORDER BY transaction_id, position) TO STDOUT");

    let (mut replay_s, mut replay_copy_s, mut verify_s, mut verify_copy_s, mut load_s) =
        (f64::MAX, f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    let mut log_s = f64::MAX;
    let mut state_events = 0;
    for round in 1..=3 {
        let (seconds, bytes) = copy(history_copy.clone()).await?;
        replay_copy_s = replay_copy_s.min(seconds);
        let started = Instant::now();
        let state = audit::state_as_of(&pool, STRATEGY, AsOf::Position(middle)).await?;
        let seconds = started.elapsed().as_secs_f64();
        replay_s = replay_s.min(seconds);
        state_events = state.events;
        // The same fold straight from the log, for whoever does not trust the read model.
        let started = Instant::now();
        let from_log = audit::state_from_log(&pool, STRATEGY, AsOf::Position(middle)).await?;
        let log_seconds = started.elapsed().as_secs_f64();
        log_s = log_s.min(log_seconds);
        anyhow::ensure!(from_log == state, "both replays agree");
        // What the audit page loads: the state at the moment, the latest 300 events opened
        // and the history's extent (its verification is kept apart, see docs/audit.md).
        let started = Instant::now();
        let shown = audit::page(
            &demo.store,
            demo.services.privacy(),
            STRATEGY,
            AsOf::Position(middle),
            None,
            300,
        )
        .await?;
        let load_seconds = started.elapsed().as_secs_f64();
        load_s = load_s.min(load_seconds);
        anyhow::ensure!(
            shown.state.events == state.events,
            "the page shows the replay"
        );
        println!(
            "round {round}: replay as of position {middle}: {seconds:.3} s from the history's read model, {log_seconds:.3} s from the log ({} events folded, {} activities); the page's load {load_seconds:.3} s ({} events of {} listed); COPY of the history {:.3} s ({bytes} bytes)",
            state.events,
            state.total_activities(),
            shown.listed.len(),
            shown.total,
            replay_copy_s
        );

        let (seconds, bytes) = copy(log_copy.clone()).await?;
        verify_copy_s = verify_copy_s.min(seconds);
        let started = Instant::now();
        let verified = demo.store.verify_log(|_| {}).await?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(verified.is_verified(), "the log verifies: {verified:?}");
        verify_s = verify_s.min(seconds);
        println!(
            "round {round}: verification of {} events and {} seals: {seconds:.2} s; COPY of the log {:.2} s ({bytes} bytes)",
            verified.events_checked, verified.seals_checked, verify_copy_s
        );
    }
    let all = demo.store.count_events().await? as f64;
    let verify_rate = all / verify_s;
    let copy_rate = all / verify_copy_s;
    println!(
        "replay: {:.0} ms (COPY of the same rows {:.0} ms, ratio {:.2}); verification: {verify_rate:.0} events/s (COPY {copy_rate:.0} events/s, ratio {:.2})",
        replay_s * 1000.0,
        replay_copy_s * 1000.0,
        replay_s / replay_copy_s,
        verify_rate / copy_rate
    );
    println!(
        "{}",
        json!({
            "events": events,
            "history_events": history_events,
            "replayed_events": state_events,
            "replay_ms": one_decimal(replay_s * 1000.0),
            "replay_copy_ms": one_decimal(replay_copy_s * 1000.0),
            "replay_ratio_to_copy": (replay_s / replay_copy_s * 100.0).round() / 100.0,
            "replay_from_log_ms": one_decimal(log_s * 1000.0),
            "page_load_ms": one_decimal(load_s * 1000.0),
            "verify_events_per_s": verify_rate.round(),
            "verify_copy_events_per_s": copy_rate.round(),
            "verify_ratio_to_copy": (verify_rate / copy_rate * 1000.0).round() / 1000.0,
        })
    );
    Ok(())
}
