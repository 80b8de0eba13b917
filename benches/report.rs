//! `cargo bench --bench report`: the follow-up report for one tertial at 1 000 000 demo
//! events, against reading that tertial's events with `COPY` in the same run.
//!
//! The log: a demo history of `INSATS_BENCH_EVENTS` events (default 1 000 000), ending
//! today. The period: the last tertial that has ended.
//!
//! 1. Baseline: `COPY` of every event recorded in the tertial (every column) to the client.
//! 2. The report compiled from the log (`report::compile`: the plan, status reports, items,
//!    reviews and figures over the whole log; activities and cases in the tertial's window).
//! 3. The PDF: compiled and rendered (`report::pdf::render`), as `/rapporter/{period}/rapport.pdf`
//!    answers it.
//!
//! Goal (issue 19): the PDF in at most 2 s, and at most 20 times the baseline. Each side runs
//! three times; the best run counts. The last line printed is one JSON object.

mod support;

use futures_util::StreamExt;
use insats::domain::follow_up::Cycle;
use serde_json::json;
use std::time::Instant;
use support::{env_number, one_decimal};

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let target = env_number("INSATS_BENCH_EVENTS", 1_000_000);
    let demo = support::demo(target, 8).await?;
    let pool = demo.db.pool.clone();
    let today = time::OffsetDateTime::now_utc().date();
    let period = Cycle::Tertial.last_ended(today);
    let units = insats::app::Units::default();
    let (from, to) = (
        insats::clock::start_of_day(period.start()),
        insats::clock::start_of_day(period.end().next_day().expect("a next day")),
    );
    let columns = "position, transaction_id, event_id, stream_id, stream_version, event_type, \
                   schema_version, data, metadata, tags, recorded_at, prev_hash, hash";
    let copy_sql = format!(
        "COPY (SELECT {columns} FROM events WHERE recorded_at >= '{from}' AND recorded_at < '{to}'
               ORDER BY transaction_id, position) TO STDOUT"
    );
    let period_events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE recorded_at >= $1 AND recorded_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&pool)
    .await?;
    println!(
        "{} events in the log, {period_events} recorded in {}",
        demo.events,
        period.label()
    );

    let (mut copy_s, mut compile_s, mut pdf_s) = (f64::MAX, f64::MAX, f64::MAX);
    let mut pages_bytes = 0;
    for round in 1..=3 {
        let mut connection = pool.acquire().await?;
        let started = Instant::now();
        let mut stream = connection.copy_out_raw(&copy_sql).await?;
        let mut bytes = 0usize;
        while let Some(chunk) = stream.next().await {
            bytes += chunk?.len();
        }
        drop(stream);
        drop(connection);
        let copy = started.elapsed().as_secs_f64();
        copy_s = copy_s.min(copy);

        let started = Instant::now();
        let _compiled = demo.services.report(&units, period, None).await?;
        let compile = started.elapsed().as_secs_f64();
        compile_s = compile_s.min(compile);

        let started = Instant::now();
        let report = demo.services.report(&units, period, None).await?;
        let pdf = insats::report::pdf::render(&report);
        let seconds = started.elapsed().as_secs_f64();
        pdf_s = pdf_s.min(seconds);
        pages_bytes = pdf.len();
        println!(
            "round {round}: COPY of the tertial {:.0} ms ({bytes} bytes); report compiled {:.0} ms; PDF {:.0} ms ({} bytes, {} activities)",
            copy * 1000.0,
            compile * 1000.0,
            seconds * 1000.0,
            pdf.len(),
            report.summary.activities
        );
    }
    println!(
        "report PDF: {:.0} ms, {:.1} times the COPY of the tertial's events ({:.0} ms); goal ≤ 2000 ms and ≤ 20 times",
        pdf_s * 1000.0,
        pdf_s / copy_s,
        copy_s * 1000.0
    );
    println!(
        "{}",
        json!({
            "events": demo.events,
            "period": period.key(),
            "period_events": period_events,
            "copy_ms": one_decimal(copy_s * 1000.0),
            "compile_ms": one_decimal(compile_s * 1000.0),
            "pdf_ms": one_decimal(pdf_s * 1000.0),
            "pdf_bytes": pages_bytes,
            "compile_ratio_to_copy": (compile_s / copy_s * 100.0).round() / 100.0,
            "pdf_ratio_to_copy": (pdf_s / copy_s * 100.0).round() / 100.0,
        })
    );
    Ok(())
}
