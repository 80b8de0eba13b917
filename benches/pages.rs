//! `cargo bench --bench pages`: the area timeline and the council's information flow under
//! 32 concurrent clients, against `GET /healthz` (the HTTP stack alone) in the same run.
//!
//! With `INSATS_BENCH_EVENTS` demo events (default 1 000 000) and every read model rebuilt,
//! an Insats server runs in this process on a free port. 32 clients, each signed in through
//! the login form with its own session, request one address as fast as answers come, for
//! `INSATS_BENCH_SECONDS` (default 15) per address: `/healthz`, the Araby timeline
//! `/omraden/araby` (as Araby's area team), `/rad/informationsflode` (as the council), and
//! older pages of the Araby timeline, a different one each request (pages rendered afresh:
//! an unchanged page is kept rendered while its read models stand still).
//! Prints requests/s and p50/p99 latency per address and the ratio of each page's
//! throughput to the baseline. The last line printed is one JSON object.

mod support;

use insats::startup::Application;
use reqwest::header::COOKIE;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{env_number, one_decimal, percentile};

const CLIENTS: usize = 32;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

/// What one address gave under load.
struct Measured {
    requests: usize,
    errors: usize,
    rps: f64,
    p50: f64,
    p99: f64,
}

async fn run() -> anyhow::Result<()> {
    let target = env_number("INSATS_BENCH_EVENTS", 1_000_000);
    let seconds = env_number("INSATS_BENCH_SECONDS", 15);
    let demo = support::demo(target, 24).await?;
    let started = Instant::now();
    demo.rebuild_all().await?;
    println!(
        "read models rebuilt in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    demo.seal().await?;
    let area_team = demo.account("araby@insats.local").await?;
    let council = demo.account("rad@insats.local").await?;

    let app = Application::build(
        "127.0.0.1:0".parse()?,
        demo.db.pool.clone(),
        demo.keyring.clone(),
    )
    .await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(CLIENTS)
        .build()?;
    support::wait_until_ready(&client, &base).await?;

    let mut area_sessions = Vec::new();
    let mut council_sessions = Vec::new();
    for _ in 0..CLIENTS {
        area_sessions
            .push(support::sign_in(&client, &base, "araby@insats.local", &area_team).await?);
        council_sessions
            .push(support::sign_in(&client, &base, "rad@insats.local", &council).await?);
    }
    let no_sessions = vec![String::new(); CLIENTS];

    let duration = Duration::from_secs(seconds);
    let mut results = Vec::new();
    // Older pages of the timeline, each request a different day to start from (today minus
    // 0…2 699 days): pages that are rarely asked for twice, rendered afresh each time.
    let today = time::OffsetDateTime::now_utc().date();
    let older = move |request: usize| {
        let day = today - time::Duration::days((request % 2700) as i64);
        format!("/omraden/araby?sida={day}_9000000000000")
    };
    let fixed = |path: &'static str| move |_: usize| path.to_owned();
    let addresses: [(&str, &str, Paths, &Vec<String>); 4] = [
        (
            "healthz",
            "/healthz",
            Arc::new(fixed("/healthz")),
            &no_sessions,
        ),
        (
            "timeline",
            "/omraden/araby",
            Arc::new(fixed("/omraden/araby")),
            &area_sessions,
        ),
        (
            "council",
            "/rad/informationsflode",
            Arc::new(fixed("/rad/informationsflode")),
            &council_sessions,
        ),
        (
            "timeline_older",
            "/omraden/araby?sida=…",
            Arc::new(older),
            &area_sessions,
        ),
    ];
    for (name, path, paths, sessions) in addresses {
        // A short warm-up, then the measured run.
        load(
            &client,
            &base,
            paths.clone(),
            sessions,
            Duration::from_secs(2),
        )
        .await?;
        let measured = load(&client, &base, paths, sessions, duration).await?;
        println!(
            "{name:<9} {path:<24} {:>7} requests, {:>3} errors, {:>7.0} requests/s, p50 {:>6.1} ms, p99 {:>6.1} ms",
            measured.requests, measured.errors, measured.rps, measured.p50, measured.p99
        );
        results.push((name, measured));
    }
    let _ = stop.send(());
    server.await??;

    let baseline = results[0].1.rps;
    let mut summary = serde_json::Map::new();
    summary.insert("events".into(), json!(demo.events));
    summary.insert("clients".into(), json!(CLIENTS));
    for (name, measured) in &results {
        if *name != "healthz" {
            println!(
                "{name}: {:.0} pages/s is {:.3} of the HTTP stack's {baseline:.0} requests/s",
                measured.rps,
                measured.rps / baseline
            );
            summary.insert(
                format!("{name}_ratio_to_healthz"),
                json!((measured.rps / baseline * 1000.0).round() / 1000.0),
            );
        }
        summary.insert(format!("{name}_rps"), json!(measured.rps.round()));
        summary.insert(format!("{name}_p50_ms"), json!(one_decimal(measured.p50)));
        summary.insert(format!("{name}_p99_ms"), json!(one_decimal(measured.p99)));
        summary.insert(format!("{name}_errors"), json!(measured.errors));
    }
    println!("{}", serde_json::Value::Object(summary));
    Ok(())
}

/// The address of a client's n-th request.
type Paths = Arc<dyn Fn(usize) -> String + Send + Sync>;

/// One client per session requests its addresses back to back until `duration` has passed.
async fn load(
    client: &reqwest::Client,
    base: &str,
    paths: Paths,
    sessions: &[String],
    duration: Duration,
) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let deadline = started + duration;
    let clients = sessions.len();
    let mut tasks = Vec::new();
    for (number, session) in sessions.iter().enumerate() {
        let (client, base, session, paths) = (
            client.clone(),
            base.to_owned(),
            session.clone(),
            paths.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            let mut sent_so_far = 0;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let url = format!("{base}{}", paths(sent_so_far * clients + number));
                sent_so_far += 1;
                let mut request = client.get(&url);
                if !session.is_empty() {
                    request = request.header(COOKIE, &session);
                }
                match request.send().await {
                    Ok(response) if response.status() == 200 => {
                        let body = response.bytes().await;
                        if body.is_err() {
                            errors += 1;
                            continue;
                        }
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(Measured {
        requests: latencies.len(),
        errors,
        rps: latencies.len() as f64 / elapsed,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
    })
}
