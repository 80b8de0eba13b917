//! The read models against the events that produced them, rebuilds, two runtimes,
//! a runner killed mid-way, and a transaction holding the horizon.

use insats::domain::plan::document::BUNDLED;
use insats::event_log::{Cursor, ExpectedVersion, RecordedEvent};
use insats::projections::{self, runtime::Runtime};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::helpers::{TestApp, caught_up, demo_history, events_applied, rebuilt, snapshot};

async fn log(
    app: &TestApp,
    area: &str,
    date: &str,
    title: &str,
    strategies: &[&str],
    participants: i64,
) -> String {
    let (status, body) = app
        .post(
            &format!("/api/v1/areas/{area}/activities"),
            json!({"date": date, "title": title, "strategies": strategies, "participants": participants}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// A small but complete history through the API.
async fn history(app: &TestApp) {
    log(
        app,
        "araby",
        "2026-01-10",
        "Språkcafé",
        &["sprakutvecklande-insatser"],
        10,
    )
    .await;
    let moved = log(
        app,
        "araby",
        "2026-02-03",
        "Jobbmässa",
        &["matchningsmetodik"],
        40,
    )
    .await;
    let retracted = log(
        app,
        "araby",
        "2026-02-20",
        "Dubblett",
        &["matchningsmetodik"],
        5,
    )
    .await;
    log(
        app,
        "teleborg",
        "2026-02-04",
        "Föräldraträff",
        &["matchningsmetodik", "implementering-rutiner-overgangar"],
        22,
    )
    .await;
    log(
        app,
        "araby",
        "2026-03-01",
        "Läxhjälp",
        &["tillgang-till-studiehandledning"],
        8,
    )
    .await;
    // The jobbmässa was really about mentorship, and in March.
    let corrected = json!({"reason": "Fel strategi", "activity": {"date": "2026-03-05", "title": "Jobbmässa", "strategies": ["mentorskap-och-yrkesnatverk"], "participants": 41}});
    assert_eq!(
        app.post(
            &format!("/api/v1/activities/{moved}/corrections"),
            corrected
        )
        .await
        .0,
        201
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/activities/{retracted}/retraction"),
            json!({"reason": "Dubblett"})
        )
        .await
        .0,
        201
    );

    let (_, case) = app
        .post(
            "/api/v1/areas/araby/cases",
            json!({"title": "Lokal saknas", "strategies": ["stodja-civilsamhallet"]}),
        )
        .await;
    let case = case["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(
            &format!("/api/v1/cases/{case}/notes"),
            json!({"text": "Ringt kommunen"})
        )
        .await
        .0,
        201
    );
    let (_, item) = app
        .post(
            &format!("/api/v1/cases/{case}/escalate"),
            json!({"text": "Behöver beslut"}),
        )
        .await;
    let item = item["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(
            &format!("/api/v1/items/{item}/answer"),
            json!({"text": "Beviljat"})
        )
        .await
        .0,
        200
    );
    let (_, closed_case) = app
        .post(
            "/api/v1/areas/araby/cases",
            json!({"title": "Klart ärende", "strategies": ["matchningsmetodik"]}),
        )
        .await;
    let closed_case = closed_case["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(
            &format!("/api/v1/cases/{closed_case}/close"),
            json!({"resolution": "Klart"})
        )
        .await
        .0,
        200
    );
    for (from, to) in [
        ("integrationsrad", "integrationsberedning"),
        ("integrationsrad", "omradesteam:araby"),
    ] {
        let body =
            json!({"from": from, "to": to, "kind": "information", "title": "Info", "text": "x"});
        assert_eq!(app.post("/api/v1/items", body).await.0, 201);
    }
    let review =
        json!({"period_start": "2026-01-01", "period_end": "2026-03-31", "feedback": "Bra"});
    assert_eq!(app.post("/api/v1/areas/araby/reviews", review).await.0, 201);
    let report = json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "status": "risk", "comment": "Få deltagare"});
    assert_eq!(
        app.post(
            "/api/v1/strategies/matchningsmetodik/status-reports",
            report
        )
        .await
        .0,
        201
    );
}

/// The day an event appears on the timeline: an activity's own date, else the day it
/// was recorded in Sweden.
fn entry_date(event: &RecordedEvent) -> String {
    if event.event_type.starts_with("ActivityLogged") || event.event_type == "ActivityCorrected" {
        return event.data["date"].as_str().unwrap().to_owned();
    }
    let offset = time::UtcOffset::from_hms(
        if (4..=10).contains(&u8::from(event.recorded_at.month())) {
            2
        } else {
            1
        },
        0,
        0,
    )
    .unwrap();
    event.recorded_at.to_offset(offset).date().to_string()
}

async fn all_pages(app: &TestApp, area: &str, filter: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app
            .get(&format!(
                "/api/v1/areas/{area}/timeline?limit={limit}{filter}&cursor={cursor}"
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        let page_items = page["items"].as_array().unwrap();
        assert!(page_items.len() <= limit);
        items.extend(page_items.iter().cloned());
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(page_items.len(), limit, "only full pages have a next page");
                cursor = next.to_owned();
            }
            None => return items,
        }
    }
}

#[tokio::test]
async fn the_read_models_agree_with_the_events_that_produced_them() {
    let app = TestApp::spawn().await;
    history(&app).await;
    caught_up(&app.db.pool).await;

    // The timeline: every event tagged with the area, newest day first, then newest position,
    // one entry per thing that happened: not the item a case's escalation raises (the
    // escalation is its entry), nor the case's side of an item's answer (caused by it).
    let araby: Vec<RecordedEvent> = app
        .store
        .read_by_tag("area:araby", Cursor::START, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.stream_id != "areas")
        .filter(|e| e.event_type != "ItemRaised" || e.data["case_id"].is_null())
        .filter(|e| {
            !e.event_type.starts_with("CaseEscalation") || e.metadata["causation_id"].is_null()
        })
        .collect();
    let mut expected: Vec<(String, i64)> =
        araby.iter().map(|e| (entry_date(e), e.position)).collect();
    expected.sort_by(|a, b| b.cmp(a));
    for limit in [1, 3, 100] {
        let pages = all_pages(&app, "araby", "", limit).await;
        let got: Vec<(String, i64)> = pages
            .iter()
            .map(|item| {
                (
                    item["date"].as_str().unwrap().to_owned(),
                    item["position"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, expected, "pages of {limit}");
    }
    let first = &all_pages(&app, "araby", "", 100).await[0];
    assert!(first["summary"].as_str().unwrap().len() > 3);
    assert!(first["actor"]["role"].is_string());

    // Filters: by strategy, by kind, by case, by period.
    let by_strategy = all_pages(&app, "araby", "&strategy=matchningsmetodik", 2).await;
    let expected_strategy = araby
        .iter()
        .filter(|e| e.tags.contains(&"strategy:matchningsmetodik".to_string()))
        .count();
    assert_eq!(by_strategy.len(), expected_strategy);
    assert!(by_strategy.iter().all(|item| {
        item["strategies"]
            .as_array()
            .unwrap()
            .contains(&json!("matchningsmetodik"))
    }));
    let activities = all_pages(&app, "araby", "&kind=insats", 50).await;
    assert_eq!(
        activities.len(),
        araby
            .iter()
            .filter(|e| e.stream_id.starts_with("activity-"))
            .count()
    );
    let by_process = all_pages(&app, "araby", "&process=livslangt-larande", 50).await;
    assert_eq!(by_process.len(), 1, "only the läxhjälp");
    let case_id = araby
        .iter()
        .find(|e| e.event_type == "CaseOpened")
        .unwrap()
        .data["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let case_entries = all_pages(&app, "araby", &format!("&case={case_id}"), 50).await;
    assert_eq!(
        case_entries.len(),
        araby
            .iter()
            .filter(|e| e.tags.contains(&format!("case:{case_id}")))
            .count()
    );
    let february = all_pages(&app, "araby", "&from=2026-02-01&to=2026-02-28", 50).await;
    assert!(
        february
            .iter()
            .all(|item| item["date"].as_str().unwrap().starts_with("2026-02"))
    );
    assert_eq!(
        february.len(),
        2,
        "the jobbmässa as logged, and the dubblett"
    );
    for bad in [
        "&kind=x",
        "&from=igår",
        "&cursor=x",
        "&limit=0",
        "&limit=201",
        "&case=x",
    ] {
        assert_eq!(
            app.get(&format!("/api/v1/areas/araby/timeline?{bad}"))
                .await
                .0,
            422,
            "{bad}"
        );
    }
    assert_eq!(app.get("/api/v1/areas/finns-inte/timeline").await.0, 404);

    // The strategy overview counts each activity's latest state: the correction moved the
    // jobbmässa to mentorship, the retraction removed the dubblett.
    let counts = |overview: &Value| -> BTreeMap<String, i64> {
        overview["activities_by_area"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["area"].as_str().unwrap().to_owned(),
                    row["activities"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let (_, matchning) = app
        .get("/api/v1/strategies/matchningsmetodik/overview?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(
        counts(&matchning),
        BTreeMap::from([("teleborg".to_string(), 1)])
    );
    assert_eq!(matchning["status_reports"][0]["status"], "risk");
    assert_eq!(matchning["last_activity"], "2026-02-04");
    let (_, mentorskap) = app
        .get(
            "/api/v1/strategies/mentorskap-och-yrkesnatverk/overview?from=2026-01-01&to=2026-12-31",
        )
        .await;
    assert_eq!(
        counts(&mentorskap),
        BTreeMap::from([("araby".to_string(), 1)])
    );
    assert_eq!(mentorskap["activities_by_area"][0]["participants"], 41);
    let (_, civil) = app
        .get("/api/v1/strategies/stodja-civilsamhallet/overview")
        .await;
    assert_eq!(civil["open_cases"].as_array().unwrap().len(), 1);
    assert_eq!(civil["silent"], true, "no activity at all");

    // Cases: status and the open escalation answered.
    let (_, cases) = app.get("/api/v1/areas/araby/cases").await;
    let statuses: Vec<&str> = cases["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["pagaende", "avslutad"],
        "open cases first; the council's answer to its escalation put the open one back in work"
    );
    assert_eq!(cases["items"][0]["notes"], 1);
    assert_eq!(
        cases["items"][0]["open_escalation"],
        Value::Null,
        "the escalation was answered"
    );
    let (_, closed) = app.get("/api/v1/areas/araby/cases?status=avslutad").await;
    assert_eq!(closed["items"].as_array().unwrap().len(), 1);

    // The council's flow: per edge, raised, answered and open.
    let (_, flow) = app
        .get("/api/v1/council/flow?from=2026-01-01&to=2027-12-31")
        .await;
    let edges: HashMap<(String, String), (i64, i64, i64)> = flow["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            (
                (
                    edge["from_forum"].as_str().unwrap().to_owned(),
                    edge["to_forum"].as_str().unwrap().to_owned(),
                ),
                (
                    edge["raised"].as_i64().unwrap(),
                    edge["answered"].as_i64().unwrap(),
                    edge["open"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        edges[&(
            "omradesteam:araby".to_string(),
            "integrationsrad".to_string()
        )],
        (1, 1, 0)
    );
    assert_eq!(
        edges[&(
            "integrationsrad".to_string(),
            "integrationsberedning".to_string()
        )],
        (1, 0, 1)
    );
    assert_eq!(flow["open_items"].as_array().unwrap().len(), 2);
    assert_eq!(flow["last_reviews"][0]["area"], "araby");
    let matrix_total: i64 = flow["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| cell["activities"].as_i64().unwrap())
        .sum();
    assert_eq!(
        matrix_total, 5,
        "four live activities, one with two strategies"
    );
}

#[tokio::test]
async fn a_rebuild_gives_the_same_tables_as_the_incremental_build() {
    let app = TestApp::spawn().await;
    history(&app).await;
    caught_up(&app.db.pool).await;
    let incremental = snapshot(&app.db.pool).await;
    assert!(incremental.iter().any(|(_, rows)| !rows.is_empty()));
    assert_eq!(rebuilt(&app.db.pool).await, incremental);
    // The live runner goes on applying to the swapped-in tables.
    log(
        &app,
        "braas",
        "2026-04-01",
        "Efter ombyggnaden",
        &["matchningsmetodik"],
        3,
    )
    .await;
    caught_up(&app.db.pool).await;
    let (_, page) = app.get("/api/v1/areas/braas/timeline").await;
    assert_eq!(page["items"][0]["data"]["title"], "Efter ombyggnaden");
}

/// The timeline's key (area and position) holds on its tables as first created and as a
/// rebuild swaps them in (which builds the key after loading): the whole log applied to
/// them again adds no entry.
#[tokio::test]
async fn the_log_applied_again_to_the_timeline_adds_no_entry() {
    let app = TestApp::spawn().await;
    history(&app).await;
    caught_up(&app.db.pool).await;
    let timeline = &projections::timeline::PROJECTION;
    let apply_whole_log_again = || async {
        let checkpoint = projections::checkpoint(&app.db.pool, timeline.name)
            .await
            .unwrap()
            .expect("the timeline has applied the history");
        let mut transaction = app.db.pool.begin().await.unwrap();
        timeline
            .apply_range(
                &mut transaction,
                &projections::Names::live(),
                Cursor::START,
                checkpoint,
            )
            .await
            .unwrap();
        transaction.commit().await.unwrap();
    };
    let first = snapshot(&app.db.pool).await;
    apply_whole_log_again().await;
    assert_eq!(snapshot(&app.db.pool).await, first);
    let rebuilt = rebuilt(&app.db.pool).await;
    assert_eq!(rebuilt, first);
    apply_whole_log_again().await;
    assert_eq!(snapshot(&app.db.pool).await, rebuilt);
}

#[tokio::test]
async fn two_runtimes_during_concurrent_appends_apply_every_event_exactly_once() {
    let app = TestApp::spawn().await;
    // A second instance's runtime on the same database.
    let second = Runtime::start(app.db.pool.clone(), app.store.notifier().subscribe());
    let writers = (0..6).map(|writer| {
        let app = &app;
        async move {
            for i in 0..15 {
                let area = ["araby", "teleborg", "lammhult", "braas"][(writer + i) % 4];
                log(
                    app,
                    area,
                    "2026-05-04",
                    &format!("Skrivare {writer} nr {i}"),
                    &["matchningsmetodik"],
                    5,
                )
                .await;
            }
        }
    });
    futures_util::future::join_all(writers).await;
    caught_up(&app.db.pool).await;
    let total: i64 = app.store.count_events().await.unwrap();
    for (name, applied) in events_applied(&app.db.pool).await {
        assert_eq!(applied, total, "{name} applied each event once");
    }
    let incremental = snapshot(&app.db.pool).await;
    assert_eq!(rebuilt(&app.db.pool).await, incremental);
    second.stop().await;
}

#[tokio::test]
async fn a_runner_killed_mid_way_resumes_from_its_checkpoint() {
    let app = TestApp::spawn().await;
    // Plenty of events for the runner to be busy with.
    let insats = crate::helpers::insats(&app);
    demo_history(
        &insats,
        &[("araby", "Araby"), ("braas", "Braås")],
        6_000,
        7,
        time::macros::date!(2026 - 11 - 27),
    )
    .await;

    let first = Runtime::start(app.db.pool.clone(), app.store.notifier().subscribe());
    tokio::time::sleep(Duration::from_millis(150)).await;
    first.abort();
    let third = Runtime::start(app.db.pool.clone(), app.store.notifier().subscribe());
    caught_up(&app.db.pool).await;
    let total = app.store.count_events().await.unwrap();
    for (name, applied) in events_applied(&app.db.pool).await {
        assert_eq!(
            applied, total,
            "{name}: nothing lost, nothing applied twice"
        );
    }
    let incremental = snapshot(&app.db.pool).await;
    assert_eq!(rebuilt(&app.db.pool).await, incremental);
    third.stop().await;
}

#[tokio::test]
async fn a_transaction_held_open_makes_projectors_wait_without_skipping() {
    let app = TestApp::spawn().await;
    caught_up(&app.db.pool).await;
    // Another writer appends and keeps its transaction open.
    let mut held = app.db.pool.begin().await.unwrap();
    let early = insats::event_log::NewEvent::new(
        "ActivityLogged",
        json!({"activity_id": "0192f0c4-0000-7000-8000-00000000beef", "area": "lammhult", "date": "2026-05-04",
               "title": "Tidig men sen", "description": "", "strategies": ["matchningsmetodik"], "partners": [],
               "participants": 3, "follow_up": false}),
    )
    .with_tags(["area:lammhult", "strategy:matchningsmetodik", "activity:0192f0c4-0000-7000-8000-00000000beef"]);
    app.store
        .append_in(
            &mut held,
            "activity-held",
            ExpectedVersion::NoStream,
            &[early],
        )
        .await
        .unwrap();
    // Meanwhile later events commit.
    let later = log(
        &app,
        "lammhult",
        "2026-05-04",
        "Senare men klar",
        &["matchningsmetodik"],
        3,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;

    let (_, page) = app.get("/api/v1/areas/lammhult/timeline").await;
    assert!(
        page["items"].as_array().unwrap().is_empty(),
        "nothing after the open transaction is applied: {page}"
    );
    let statuses = projections::status::all(&app.db.pool).await.unwrap();
    let timeline = statuses.iter().find(|s| s.name == "timeline").unwrap();
    assert!(
        timeline.lag_events >= 1,
        "the committed later event waits: {timeline:?}"
    );
    assert_eq!(timeline.readable_events, 0);
    assert!(
        timeline
            .waiting
            .as_deref()
            .unwrap_or("")
            .contains("waiting for an open transaction"),
        "{timeline:?}"
    );

    held.commit().await.unwrap();
    caught_up(&app.db.pool).await;
    let (_, page) = app.get("/api/v1/areas/lammhult/timeline").await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["data"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"Tidig men sen") && titles.contains(&"Senare men klar"));
    let _ = later;
}

#[tokio::test]
async fn reads_wait_for_their_projections_when_asked() {
    let app = TestApp::spawn().await;
    let (_, created) = app
        .post("/api/v1/areas/braas/activities", json!({"date": "2026-05-04", "title": "Direkt synlig", "strategies": ["matchningsmetodik"]}))
        .await;
    let position = created["position"].as_i64().unwrap();
    let (status, page) = app
        .get(&format!("/api/v1/areas/braas/timeline?after={position}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["data"]["title"], "Direkt synlig");
    assert_eq!(
        app.get("/api/v1/areas/braas/timeline?after=999999999")
            .await
            .0,
        422
    );
    assert_eq!(app.get("/api/v1/areas/braas/timeline?after=x").await.0, 422);
    let _ = BUNDLED;
}

#[tokio::test]
async fn a_generation_moves_only_with_the_batches_and_rebuilds_that_change_the_tables() {
    let app = TestApp::spawn().await;
    caught_up(&app.db.pool).await;
    let generations = || async {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, generation FROM projection_checkpoints")
                .fetch_all(&app.db.pool)
                .await
                .unwrap();
        rows.into_iter().collect::<HashMap<String, i64>>()
    };
    let start = generations().await;

    // An activity: the timeline and the strategies' overview change; every projection
    // applies the event, but the cases' and the council's tables stay as they were.
    log(
        &app,
        "araby",
        "2026-05-04",
        "Läxhjälp",
        &["matchningsmetodik"],
        12,
    )
    .await;
    caught_up(&app.db.pool).await;
    let after_activity = generations().await;
    for changed in ["timeline", "strategy_overview"] {
        assert!(
            after_activity[changed] > start[changed],
            "{changed}: {start:?} → {after_activity:?}"
        );
    }
    for unchanged in ["cases", "council_flow", "secrecy"] {
        assert_eq!(
            after_activity[unchanged], start[unchanged],
            "{unchanged}: {start:?} → {after_activity:?}"
        );
    }
    let council = projections::checkpoint(&app.db.pool, "council_flow")
        .await
        .unwrap()
        .unwrap();
    assert!(
        council.position > 0,
        "the council's projection went past the activity all the same"
    );

    // A case changes the cases' table.
    let (status, body) = app
        .post(
            "/api/v1/areas/araby/cases",
            json!({"title": "Bostadsfråga", "description": "", "strategies": ["matchningsmetodik"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    caught_up(&app.db.pool).await;
    let after_case = generations().await;
    assert!(after_case["cases"] > after_activity["cases"]);
    assert_eq!(after_case["council_flow"], after_activity["council_flow"]);

    // A rebuild swaps in new tables: a new generation.
    projections::rebuild::rebuild(
        &app.db.pool,
        projections::by_name("council_flow").unwrap(),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(
        generations().await["council_flow"],
        after_case["council_flow"] + 1
    );
}
