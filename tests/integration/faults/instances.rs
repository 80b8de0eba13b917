//! Faults of Insats itself: an instance killed with `kill -9` while its projectors are in
//! the middle of a batch, with a second instance running; and two instances serving mixed
//! traffic against one database. The instances that can be killed are `insats serve`
//! processes of their own.

use insats::database::scratch::ScratchDatabase;
use insats::projections::{ALL, runtime::lock_key};
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::helpers::{
    InsatsProcess, PASSWORD, account, caught_up, client, demo_history, env_number, events_applied,
    keyring, rebuilt, serve, services, snapshot,
};
use crate::visitor::Visitor;

/// The backend holding each projection's leadership lock in this database, by projection.
async fn leaders(pool: &sqlx::PgPool) -> BTreeMap<&'static str, i32> {
    // A lock on one bigint key: its high half in classid, its low half in objid.
    let held: HashMap<i64, i32> = sqlx::query_as(
        "SELECT (classid::int8 << 32) | objid::int8, pid FROM pg_locks
         WHERE locktype = 'advisory' AND objsubid = 1 AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    ALL.iter()
        .filter_map(|projection| Some((projection.name, *held.get(&lock_key(projection))?)))
        .collect()
}

/// Per projection: the events it has applied, and the events in the log up to its
/// checkpoint. Equal means each event up to the checkpoint was applied exactly once.
async fn applied_and_due(pool: &sqlx::PgPool) -> Vec<(String, i64, i64)> {
    sqlx::query_as(
        "SELECT c.name, c.events_applied,
                (SELECT count(*) FROM events e
                 WHERE (e.transaction_id, e.position) <= (c.transaction_id::text::xid8, c.position))
         FROM projection_checkpoints c ORDER BY c.name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn assert_applied_once(counts: &[(String, i64, i64)]) {
    assert_eq!(counts.len(), ALL.len(), "{counts:?}");
    for (name, applied, due) in counts {
        assert_eq!(applied, due, "{name}: each event up to its checkpoint once");
    }
}

/// A backend of this database, other than the asking one, in a transaction that has
/// written something.
async fn writing_backend(pool: &sqlx::PgPool) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()
         LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .unwrap()
}

/// Events for the projectors to be busy with.
const BACKLOG: u64 = 20_000;

#[tokio::test]
async fn kill_9_of_the_leading_instance_mid_batch_moves_the_projectors_to_the_survivor() {
    let db = ScratchDatabase::create(4).await.unwrap();
    let pool = db.pool.clone();
    let (store, _) = services(&pool);
    // A backlog for the projectors, in the log before any instance runs.
    let services = insats::app::Services::new(store.clone(), keyring());
    services.import_bundled_plan_if_empty().await.unwrap();
    demo_history(
        &services,
        &[("araby", "Araby"), ("teleborg", "Teleborg")],
        BACKLOG,
        9,
        time::macros::date!(2026 - 11 - 27),
    )
    .await;
    let total = store.count_events().await.unwrap();

    // The first instance, a process of its own, takes the lead of every projector.
    let mut first = InsatsProcess::serve(&db.url()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let led_by_first = loop {
        let now = leaders(&pool).await;
        if now.len() == ALL.len() {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the first instance did not take the lead: {now:?}\n{}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The second instance, in this process, on a pool of its own, stands by.
    let second = serve(insats::database::pool(db.connect_options(), 8)).await;

    // Killed while it leads, past the start of the backlog, in a batch that has written.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert_eq!(
            leaders(&pool).await,
            led_by_first,
            "the first instance leads until it is killed"
        );
        let applied = events_applied(&pool).await;
        assert!(
            applied.len() < ALL.len() || applied.iter().any(|(_, count)| *count < total),
            "the projectors finished before they could be killed: make BACKLOG larger"
        );
        // Only the leader's projectors write now: the standby and this test do not.
        if applied.iter().any(|(_, count)| *count > 0) && writing_backend(&pool).await.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first instance never got busy: {applied:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed = first.kill_9();
    assert!(!killed.success(), "{killed}");
    let at_kill = events_applied(&pool).await;
    assert!(
        at_kill.iter().any(|(_, count)| *count < total),
        "killed with work left: {at_kill:?}"
    );

    // The survivor takes the projectors over and finishes the backlog.
    caught_up(&pool).await;
    let now = leaders(&pool).await;
    assert_eq!(now.len(), ALL.len(), "{now:?}");
    for (name, pid) in &now {
        assert_ne!(
            Some(pid),
            led_by_first.get(name),
            "{name} moved to the survivor"
        );
    }
    let counts = applied_and_due(&pool).await;
    assert_applied_once(&counts);
    assert!(
        counts.iter().all(|(_, _, due)| *due >= total),
        "nothing left out: {counts:?}"
    );
    let live = snapshot(&pool).await;
    assert!(live.iter().any(|(_, rows)| !rows.is_empty()));
    assert_eq!(
        rebuilt(&pool).await,
        live,
        "the read models equal a rebuild"
    );
    // The survivor serves on.
    let health = client()
        .get(format!("{second}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// What a client of the two instances asks for, in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    LogActivity,
    CaseNote,
    TimelinePage,
    TimelineApi,
    StrategyPage,
    StrategyApi,
    CouncilPage,
    CouncilApi,
    CasesApi,
}

const MIX: [Route; 10] = [
    Route::LogActivity,
    Route::TimelinePage,
    Route::TimelineApi,
    Route::StrategyPage,
    Route::CaseNote,
    Route::CouncilPage,
    Route::TimelinePage,
    Route::CouncilApi,
    Route::StrategyApi,
    Route::CasesApi,
];

const STRATEGIES: [&str; 4] = [
    "matchningsmetodik",
    "samordnat-mottagande",
    "sprakutvecklande-insatser",
    "stodja-civilsamhallet",
];

/// Concurrent clients, each on both instances in turn.
const CLIENTS: usize = 8;
/// A client sends a request at most this often.
const PACE: Duration = Duration::from_millis(40);

/// What the clients need: where the instances are, and who they are.
#[derive(Clone)]
struct Traffic {
    client: reqwest::Client,
    instances: [String; 2],
    team_token: String,
    council_token: String,
    team_cookie: String,
    council_cookie: String,
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    /// Writes answered 201: (event type, id, position).
    acknowledged: Vec<(&'static str, String, i64)>,
    answers: BTreeMap<(Route, u16), u64>,
    /// How long the answers took, in milliseconds.
    latencies: BTreeMap<Route, Vec<f64>>,
    /// Every 5xx answer, described.
    server_errors: Vec<String>,
    /// Every other answer than the expected one, and every request that got no answer.
    unexpected: Vec<String>,
}

impl Traffic {
    /// Signs in on the first instance through the login form: the session's cookie.
    async fn session(&self, email: &str) -> String {
        let mut visitor = Visitor::at_address(&self.client, &self.instances[0]);
        assert_eq!(visitor.log_in(email, PASSWORD).await.status, 303);
        visitor.cookie_header()
    }

    /// One client's requests until `end`; its case, opened at `opened`, is for its notes.
    async fn run(self, n: usize, (case, opened): (String, i64), end: Instant) -> Seen {
        let mut seen = Seen::default();
        let mut last_position = opened;
        // A request per PACE at most; a slow answer delays the next, none is made up for.
        let mut ticks = tokio::time::interval(PACE);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for i in 0.. {
            ticks.tick().await;
            if Instant::now() >= end {
                break;
            }
            let instance = (n + i) % 2;
            let base = &self.instances[instance];
            let route = MIX[(n + i) % MIX.len()];
            let area = ["araby", "braas"][i % 2];
            let strategy = STRATEGIES[(n + i) % STRATEGIES.len()];
            let request = match route {
                Route::LogActivity => self
                    .client
                    .post(format!("{base}/api/v1/areas/{area}/activities"))
                    .bearer_auth(&self.team_token)
                    .json(
                        &json!({"date": "2026-05-04", "title": format!("Klient {n} nr {i}"),
                                  "strategies": [strategy], "participants": i % 30}),
                    ),
                Route::CaseNote => self
                    .client
                    .post(format!("{base}/api/v1/cases/{case}/notes"))
                    .bearer_auth(&self.team_token)
                    .json(&json!({"text": format!("Uppföljning {i} från klient {n}")})),
                // Read-your-writes on whichever instance: the client's last write.
                Route::TimelinePage => self
                    .client
                    .get(format!("{base}/omraden/{area}?efter={last_position}"))
                    .header(COOKIE, &self.team_cookie),
                Route::TimelineApi => self
                    .client
                    .get(format!(
                        "{base}/api/v1/areas/{area}/timeline?after={last_position}"
                    ))
                    .bearer_auth(&self.team_token),
                Route::StrategyPage => self
                    .client
                    .get(format!("{base}/planen/strategier/{strategy}"))
                    .header(COOKIE, &self.team_cookie),
                Route::StrategyApi => self
                    .client
                    .get(format!("{base}/api/v1/strategies/{strategy}/overview"))
                    .bearer_auth(&self.team_token),
                Route::CouncilPage => self
                    .client
                    .get(format!("{base}/rad/informationsflode"))
                    .header(COOKIE, &self.council_cookie),
                Route::CouncilApi => self
                    .client
                    .get(format!("{base}/api/v1/council/flow"))
                    .bearer_auth(&self.council_token),
                Route::CasesApi => self
                    .client
                    .get(format!("{base}/api/v1/areas/araby/cases"))
                    .bearer_auth(&self.team_token),
            };
            let written = match route {
                Route::LogActivity => Some("ActivityLogged"),
                Route::CaseNote => Some("CaseNoteAdded"),
                _ => None,
            };
            let expected = if written.is_some() { 201 } else { 200 };
            let sent = Instant::now();
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    seen.unexpected
                        .push(format!("{route:?} on instance {instance}: {error}"));
                    continue;
                }
            };
            let status = response.status().as_u16();
            *seen.answers.entry((route, status)).or_default() += 1;
            let body = response.bytes().await.unwrap_or_default();
            seen.latencies
                .entry(route)
                .or_default()
                .push(sent.elapsed().as_secs_f64() * 1000.0);
            if status != expected {
                let described = format!(
                    "{route:?} on instance {instance}: {status} {}",
                    String::from_utf8_lossy(&body[..body.len().min(600)])
                );
                if status >= 500 {
                    seen.server_errors.push(described);
                } else {
                    seen.unexpected.push(described);
                }
                continue;
            }
            if let Some(event_type) = written {
                let created: Value = serde_json::from_slice(&body).unwrap();
                last_position = created["position"].as_i64().unwrap();
                let id = created["id"].as_str().unwrap().to_owned();
                seen.acknowledged.push((event_type, id, last_position));
            }
        }
        seen
    }
}

#[tokio::test]
async fn two_instances_under_mixed_traffic_lose_nothing_and_answer_no_5xx() {
    let seconds = env_number("INSATS_FAULT_SECONDS", 60);
    let db = ScratchDatabase::create(4).await.unwrap();
    let pool = db.pool.clone();
    let mut instances = [
        InsatsProcess::serve(&db.url()).await,
        InsatsProcess::serve(&db.url()).await,
    ];
    let (store, accounts) = services(&pool);
    let team = "team@insats.local";
    let council = "rad@insats.local";
    let (_, team_token) = account(&accounts, team, "omradesteam", &["araby", "braas"], &[]).await;
    let (_, council_token) = account(&accounts, council, "integrationsrad", &[], &[]).await;
    let mut traffic = Traffic {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        instances: [instances[0].address.clone(), instances[1].address.clone()],
        team_token,
        council_token,
        team_cookie: String::new(),
        council_cookie: String::new(),
    };
    // Sessions made on the first instance serve on both.
    traffic.team_cookie = traffic.session(team).await;
    traffic.council_cookie = traffic.session(council).await;

    let mut cases = Vec::new();
    for n in 0..CLIENTS {
        let answer = traffic
            .client
            .post(format!("{}/api/v1/areas/araby/cases", traffic.instances[n % 2]))
            .bearer_auth(&traffic.team_token)
            .json(&json!({"title": format!("Ärende för klient {n}"), "description": "", "strategies": ["matchningsmetodik"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        let case: Value = answer.json().await.unwrap();
        cases.push((
            case["id"].as_str().unwrap().to_owned(),
            case["position"].as_i64().unwrap(),
        ));
    }
    let end = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = cases
        .into_iter()
        .enumerate()
        .map(|(n, case)| tokio::spawn(traffic.clone().run(n, case, end)))
        .collect();
    let mut seen = Seen::default();
    for client in clients {
        let one = client.await.unwrap();
        seen.acknowledged.extend(one.acknowledged);
        seen.server_errors.extend(one.server_errors);
        seen.unexpected.extend(one.unexpected);
        for (key, count) in one.answers {
            *seen.answers.entry(key).or_default() += count;
        }
        for (route, latencies) in one.latencies {
            seen.latencies.entry(route).or_default().extend(latencies);
        }
    }
    println!(
        "answers over {seconds} s, by route and status: {:?}",
        seen.answers
    );
    for (route, latencies) in &mut seen.latencies {
        latencies.sort_by(f64::total_cmp);
        let at = |share: f64| latencies[((latencies.len() - 1) as f64 * share) as usize];
        println!(
            "{route:?}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    assert!(
        seen.server_errors.is_empty(),
        "{} answers 5xx: {:#?}",
        seen.server_errors.len(),
        seen.server_errors
    );
    assert!(
        seen.unexpected.is_empty(),
        "{} unexpected answers: {:#?}",
        seen.unexpected.len(),
        seen.unexpected
    );
    for route in MIX {
        assert!(
            seen.answers.keys().any(|(asked, _)| *asked == route),
            "{route:?} was asked for"
        );
    }

    // Every acknowledged write is in the log, once, where its answer said; nothing else
    // was written.
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT event_type, coalesce(data->>'activity_id', data->>'note_id'), position FROM events
         WHERE event_type IN ('ActivityLogged', 'CaseNoteAdded')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows.len(),
        seen.acknowledged.len(),
        "nothing unacknowledged"
    );
    let stored: HashMap<(String, String), i64> = rows
        .into_iter()
        .map(|(event_type, id, position)| ((event_type, id), position))
        .collect();
    for (event_type, id, position) in &seen.acknowledged {
        assert_eq!(
            stored.get(&(event_type.to_string(), id.clone())),
            Some(position),
            "{event_type} {id}, acknowledged at {position}"
        );
    }

    // The projections catch up, with both instances running.
    caught_up(&pool).await;
    for instance in &mut instances {
        let status = instance.terminate();
        let log = instance.log();
        assert!(
            status.success(),
            "SIGTERM is a clean shutdown: {status}\n{log}"
        );
        assert!(!log.contains("panicked"), "{log}");
    }
    let counts = applied_and_due(&pool).await;
    assert_applied_once(&counts);
    let live = snapshot(&pool).await;
    assert_eq!(
        rebuilt(&pool).await,
        live,
        "the read models equal a rebuild"
    );
    let verification = store.verify_log(|_| {}).await.unwrap();
    assert!(verification.is_verified(), "{verification:?}");
    assert_eq!(
        verification.events_checked as i64,
        store.count_events().await.unwrap()
    );
    println!(
        "the log verifies: {} events, {} seals",
        verification.events_checked, verification.seals_checked
    );
}
