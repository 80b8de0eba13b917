//! `cargo bench --bench projections`: rebuild speed and append-to-visible lag.
//!
//! 1. With `INSATS_BENCH_EVENTS` demo events (default 1 000 000): the baseline reads the
//!    same rows as a rebuild does, in commit order, with
//!    `COPY (SELECT … FROM events ORDER BY transaction_id, position) TO STDOUT`; then the
//!    area timeline and the council flow are rebuilt from position zero. Prints events/s
//!    and the ratio to the raw read.
//! 2. With the projection runtime running, 8 concurrent writers log activities; an observer
//!    notes when each appears on the area timeline. The lag is from the append's
//!    acknowledgement (its commit) to visible: p50 and p99. Also printed: from the moment
//!    the writer called the command, which adds the command's own time.
//!
//! The last line printed is one JSON object.

mod support;

use futures_util::StreamExt;
use insats::app::CommandContext;
use insats::domain::activity::ActivityInput;
use insats::domain::actor::Actor;
use insats::event_log::Cursor;
use insats::projections::{self, runtime::Runtime};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let target = support::env_number("INSATS_BENCH_EVENTS", 1_000_000);
    let lag_seconds = support::env_number("INSATS_BENCH_SECONDS", 20);
    let demo = support::demo(target, 24).await?;
    let (db, store, insats) = (&demo.db, demo.store.clone(), demo.services.clone());
    let events = demo.events as f64;

    // Baseline: the raw read, twice (the first warms the cache), best counts.
    let mut copy_seconds = f64::MAX;
    for _ in 0..2 {
        let mut connection = db.pool.acquire().await?;
        sqlx::query("SET statement_timeout = 0")
            .execute(&mut *connection)
            .await?;
        let started = Instant::now();
        let mut bytes = 0usize;
        let mut stream = connection
            .copy_out_raw(
                "COPY (SELECT position, transaction_id, stream_id, event_type, data, metadata, tags, recorded_at
                       FROM events ORDER BY transaction_id, position) TO STDOUT",
            )
            .await?;
        while let Some(chunk) = stream.next().await {
            bytes += chunk?.len();
        }
        drop(stream);
        copy_seconds = copy_seconds.min(started.elapsed().as_secs_f64());
        println!(
            "baseline COPY read: {bytes} bytes in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    let copy_rate = events / copy_seconds;

    let mut rates = Vec::new();
    let mut summary = serde_json::Map::new();
    for name in ["timeline", "council_flow", "cases", "strategy_overview"] {
        let projection = projections::by_name(name).expect("a projection");
        // Once to create the live tables, once measured.
        projections::rebuild::rebuild(&db.pool, projection, |_, _| {}).await?;
        let started = Instant::now();
        let rebuilt = projections::rebuild::rebuild(&db.pool, projection, |_, _| {}).await?;
        let seconds = started.elapsed().as_secs_f64();
        let rate = rebuilt.events as f64 / seconds;
        println!(
            "rebuild {name:<18} {:>8} events in {seconds:>6.2} s: {rate:>9.0} events/s, ratio to COPY {:.2}",
            rebuilt.events,
            rate / copy_rate
        );
        summary.insert(format!("rebuild_{name}_events_per_s"), json!(rate.round()));
        if matches!(name, "timeline" | "council_flow") {
            rates.push(rate);
        }
    }
    let rebuild_rate = rates.iter().copied().fold(f64::MAX, f64::min);
    println!(
        "baseline COPY: {copy_rate:.0} events/s; timeline and council flow (slower of the two): {rebuild_rate:.0} events/s"
    );

    // Lag from append to visible on the timeline, with 8 concurrent writers.
    let runtime = Runtime::start(db.pool.clone(), store.notifier().subscribe());
    let names: Vec<&str> = projections::ALL.iter().map(|p| p.name).collect();
    let last = projections::cursor_at(&db.pool, store.count_events().await?).await?;
    if let Some(last) = last {
        projections::wait_for(&db.pool, &names, last, Duration::from_secs(120)).await?;
    }
    // Writers append; one observer watches the timeline's checkpoint (committed in the
    // same transaction as the rows) and notes when each append became visible.
    let deadline = Instant::now() + Duration::from_secs(lag_seconds);
    // Each append's cursor, when its command was called, and when it was acknowledged.
    let pending: Arc<Mutex<Vec<(Cursor, Instant, Instant)>>> = Arc::default();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (insats, pending) = (insats.clone(), pending.clone());
        let area = ["araby", "teleborg", "lammhult", "braas"][writer % 4];
        writers.push(tokio::spawn(async move {
            let ctx = CommandContext::new(Actor::system());
            let mut appended = 0u64;
            while Instant::now() < deadline {
                let input = ActivityInput {
                    date: "2026-05-04".into(),
                    title: format!("Mätning {writer}"),
                    strategies: vec!["matchningsmetodik".into()],
                    participants: 5,
                    ..ActivityInput::default()
                };
                let started = Instant::now();
                let done = insats.log_activity(&ctx, area, &input).await?;
                pending
                    .lock()
                    .unwrap()
                    .push((done.cursor, started, Instant::now()));
                appended += 1;
            }
            anyhow::Ok(appended)
        }));
    }
    let observer = {
        let (pool, pending) = (db.pool.clone(), pending.clone());
        tokio::spawn(async move {
            let (mut lags, mut from_call) = (Vec::new(), Vec::new());
            loop {
                let checkpoint = projections::checkpoint(&pool, "timeline")
                    .await?
                    .unwrap_or(Cursor::START);
                let now = Instant::now();
                {
                    let mut pending = pending.lock().unwrap();
                    pending.retain(|(cursor, called, acknowledged)| {
                        if *cursor <= checkpoint {
                            lags.push((now - *acknowledged).as_secs_f64() * 1000.0);
                            from_call.push((now - *called).as_secs_f64() * 1000.0);
                            false
                        } else {
                            true
                        }
                    });
                    if now > deadline + Duration::from_secs(5) && pending.is_empty() {
                        return anyhow::Ok((lags, from_call));
                    }
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let mut appended = 0;
    for writer in writers {
        appended += writer.await??;
    }
    let (mut lags, mut from_call) = observer.await??;
    runtime.stop().await;
    anyhow::ensure!(lags.len() as u64 == appended, "every append became visible");
    lags.sort_by(f64::total_cmp);
    from_call.sort_by(f64::total_cmp);
    let percentile =
        |values: &[f64], p: f64| values[((values.len() as f64 - 1.0) * p).round() as usize];
    let (p50, p99) = (percentile(&lags, 0.5), percentile(&lags, 0.99));
    println!(
        "lag acknowledged append → timeline with 8 writers: {} appends, p50 {p50:.1} ms, p99 {p99:.1} ms",
        lags.len()
    );
    println!(
        "from the command's call → timeline: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&from_call, 0.5),
        percentile(&from_call, 0.99)
    );

    summary.insert("events".into(), json!(events));
    summary.insert("copy_events_per_s".into(), json!(copy_rate.round()));
    summary.insert("rebuild_events_per_s".into(), json!(rebuild_rate.round()));
    summary.insert(
        "rebuild_ratio".into(),
        json!(((rebuild_rate / copy_rate) * 1000.0).round() / 1000.0),
    );
    summary.insert("lag_p50_ms".into(), json!((p50 * 10.0).round() / 10.0));
    summary.insert("lag_p99_ms".into(), json!((p99 * 10.0).round() / 10.0));
    summary.insert(
        "lag_from_call_p99_ms".into(),
        json!((percentile(&from_call, 0.99) * 10.0).round() / 10.0),
    );
    summary.insert("appends".into(), json!(appended));
    println!("{}", serde_json::Value::Object(summary));
    Ok(())
}
