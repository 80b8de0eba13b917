//! `cargo bench --bench load`: 50 virtual users for 60 s at a fixed rate against a million
//! demo events, mixing writes and reads, with the server in a process of its own so that its
//! peak memory is its own.
//!
//! Each user sends one request every `50 / INSATS_BENCH_RATE` seconds (default rate 100
//! requests/s in all), waiting for the answer before the next (a late answer delays only
//! that user). The mix: logging an activity (API, 10 %), a note on a case (API, 10 %), the
//! area timeline page (40 %), the council's information flow (10 %), a strategy page
//! (25 %), and `GET /healthz` (5 %), the baseline: the HTTP stack alone. Prints p50/p99 per
//! route and its ratio to the baseline's, errors, and the server's peak RSS (VmHWM). The
//! last line printed is one JSON object.

mod support;

use reqwest::header::COOKIE;
use serde_json::json;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{env_number, one_decimal, percentile};

const USERS: usize = 50;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    Healthz,
    LogActivity,
    CaseNote,
    Timeline,
    Council,
    Strategy,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Healthz => "healthz",
            Route::LogActivity => "write_activity",
            Route::CaseNote => "write_case_note",
            Route::Timeline => "timeline",
            Route::Council => "council",
            Route::Strategy => "strategy",
        }
    }

    /// The route of the `n`th request of a user: the mix, in a fixed order of twenty.
    fn of(n: usize) -> Route {
        const MIX: [Route; 20] = [
            Route::Timeline,
            Route::Strategy,
            Route::LogActivity,
            Route::Timeline,
            Route::Council,
            Route::Timeline,
            Route::CaseNote,
            Route::Strategy,
            Route::Timeline,
            Route::Healthz,
            Route::Timeline,
            Route::Strategy,
            Route::LogActivity,
            Route::Timeline,
            Route::Strategy,
            Route::Council,
            Route::Timeline,
            Route::CaseNote,
            Route::Strategy,
            Route::Timeline,
        ];
        MIX[n % MIX.len()]
    }
}

async fn run() -> anyhow::Result<()> {
    let target = env_number("INSATS_BENCH_EVENTS", 1_000_000);
    let seconds = env_number("INSATS_BENCH_SECONDS", 60);
    let rate = env_number("INSATS_BENCH_RATE", 100).max(1);
    let demo = support::demo(target, 8).await?;
    let started = Instant::now();
    demo.rebuild_all().await?;
    println!(
        "read models rebuilt in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    demo.seal().await?;
    let team_password = demo.account("araby@insats.local").await?;
    let council_password = demo.account("rad@insats.local").await?;
    let accounts = insats::accounts::Accounts::new(demo.db.pool.clone(), demo.services.clone());
    let operator = insats::app::CommandContext::new(insats::domain::actor::Actor::system());
    let (_, token) = accounts
        .create_token(&operator, "araby@insats.local", "load")
        .await?;

    // Insats in a process of its own, on the scratch database.
    let folder =
        std::env::temp_dir().join(format!("insats-load-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder)?;
    let key_file = folder.join("master.key");
    std::fs::write(&key_file, hex::encode(demo.kek))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_insats"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", demo.db.url())
        .env("INSATS_MASTER_KEY_FILE", &key_file)
        .env("INSATS_DB_POOL_SIZE", "16")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(
            folder.join("serve.log"),
        )?))
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(USERS)
        .build()?;
    let outcome = measure(
        &client,
        &base,
        &token,
        &team_password,
        &council_password,
        seconds,
        rate,
        server.id(),
    )
    .await;
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    std::fs::remove_dir_all(&folder).ok();
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    team_password: &str,
    council_password: &str,
    seconds: u64,
    rate: u64,
    server_pid: u32,
) -> anyhow::Result<()> {
    support::wait_until_ready(client, base).await?;
    // Cases to write notes on.
    let mut cases = Vec::new();
    for n in 0..10 {
        let answer: serde_json::Value = client
            .post(format!("{base}/api/v1/areas/araby/cases"))
            .bearer_auth(token)
            .json(&json!({"title": format!("Mätärende {n}"), "description": "", "strategies": ["matchningsmetodik"]}))
            .send()
            .await?
            .json()
            .await?;
        cases.push(answer["id"].as_str().unwrap_or_default().to_owned());
    }
    let mut sessions = Vec::new();
    for user in 0..USERS {
        let (email, password) = if user % 5 == 4 {
            ("rad@insats.local", council_password)
        } else {
            ("araby@insats.local", team_password)
        };
        sessions.push((
            support::sign_in(client, base, email, password).await?,
            user % 5 == 4,
        ));
    }
    let strategies = [
        "matchningsmetodik",
        "samordnat-mottagande",
        "sprakutvecklande-insatser",
        "stodja-civilsamhallet",
    ];
    let interval = Duration::from_secs_f64(USERS as f64 / rate as f64);
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (user, (session, council)) in sessions.into_iter().enumerate() {
        let (client, base, token, cases) = (
            client.clone(),
            base.to_owned(),
            token.to_owned(),
            cases.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<(Route, f64, bool)> = Vec::new();
            // Users start spread over one interval, then keep their own beat.
            let mut next = Instant::now() + interval.mul_f64(user as f64 / USERS as f64);
            let mut n = user;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                next += interval;
                let mut route = Route::of(n);
                n += 1;
                if council && route == Route::Timeline {
                    route = Route::Council;
                }
                let sent = Instant::now();
                let request = match route {
                    Route::Healthz => client.get(format!("{base}/healthz")),
                    Route::Timeline => client.get(format!("{base}/omraden/araby")).header(COOKIE, &session),
                    Route::Council => client.get(format!("{base}/rad/informationsflode")).header(COOKIE, &session),
                    Route::Strategy => client
                        .get(format!("{base}/planen/strategier/{}", strategies[n % strategies.len()]))
                        .header(COOKIE, &session),
                    Route::LogActivity => client
                        .post(format!("{base}/api/v1/areas/araby/activities"))
                        .bearer_auth(&token)
                        .json(&json!({"date": "2026-05-04", "title": format!("Lastprov {user}-{n}"),
                                      "strategies": [strategies[n % strategies.len()]], "participants": n % 30})),
                    Route::CaseNote => client
                        .post(format!("{base}/api/v1/cases/{}/notes", cases[n % cases.len()]))
                        .bearer_auth(&token)
                        .json(&json!({"text": format!("Uppföljning {n}")})),
                };
                let ok = match request.send().await {
                    Ok(response) => {
                        let good = response.status().is_success();
                        response.bytes().await.is_ok() && good
                    }
                    Err(_) => false,
                };
                samples.push((route, sent.elapsed().as_secs_f64() * 1000.0, ok));
            }
            samples
        }));
    }
    let mut by_route: BTreeMap<Route, Vec<f64>> = BTreeMap::new();
    let mut errors = 0usize;
    let mut requests = 0usize;
    for task in tasks {
        for (route, ms, ok) in task.await? {
            requests += 1;
            if ok {
                by_route.entry(route).or_default().push(ms);
            } else {
                errors += 1;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let peak_rss_mb = peak_rss_kb(server_pid)
        .map(|kb| kb as f64 / 1024.0)
        .unwrap_or(f64::NAN);
    for latencies in by_route.values_mut() {
        latencies.sort_by(f64::total_cmp);
    }
    let baseline_p99 = by_route
        .get(&Route::Healthz)
        .map_or(f64::NAN, |l| percentile(l, 0.99));
    println!(
        "{USERS} users, {requests} requests in {elapsed:.1} s ({:.0}/s), {errors} errors, server peak RSS {peak_rss_mb:.1} MB",
        requests as f64 / elapsed
    );
    let mut summary = serde_json::Map::new();
    let mut write = Vec::new();
    for (route, latencies) in &by_route {
        let (p50, p99) = (percentile(latencies, 0.5), percentile(latencies, 0.99));
        println!(
            "{:<16} {:>6} requests  p50 {p50:>7.1} ms  p99 {p99:>7.1} ms  p99 ratio to /healthz {:.1}",
            route.name(),
            latencies.len(),
            p99 / baseline_p99
        );
        summary.insert(format!("{}_p50_ms", route.name()), json!(one_decimal(p50)));
        summary.insert(format!("{}_p99_ms", route.name()), json!(one_decimal(p99)));
        if matches!(route, Route::LogActivity | Route::CaseNote) {
            write.extend(latencies.iter().copied());
        }
    }
    write.sort_by(f64::total_cmp);
    summary.insert("errors".into(), json!(errors));
    summary.insert("requests".into(), json!(requests));
    summary.insert(
        "write_p99_ms".into(),
        json!(one_decimal(percentile(&write, 0.99))),
    );
    summary.insert("peak_rss_mb".into(), json!(one_decimal(peak_rss_mb)));
    println!("{}", serde_json::Value::Object(summary));
    Ok(())
}

/// The peak resident memory of a process, from `/proc/<pid>/status`.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}
