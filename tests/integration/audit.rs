//! The auditor's replay, the verification of the record (page, API and CLI) and exports
//! that verify without a database.

use serde_json::{Value, json};
use std::process::Command;

use crate::helpers::{TestApp, key_file};
use crate::visitor::Visitor;

const STRATEGY: &str = "matchningsmetodik";

/// A command through the API; returns the position its last event got.
async fn act(app: &TestApp, path: &str, body: Value) -> (String, i64) {
    let (status, answer) = app.post(path, body).await;
    assert!(status == 200 || status == 201, "{path}: {status} {answer}");
    (
        answer["id"].as_str().unwrap_or_default().to_owned(),
        answer["position"].as_i64().expect("a position"),
    )
}

async fn activity(app: &TestApp, area: &str, participants: u32) -> (String, i64) {
    act(
        app,
        &format!("/api/v1/areas/{area}/activities"),
        json!({"date": "2026-05-04", "title": format!("Matchningsträff i {area}"),
               "strategies": [STRATEGY], "participants": participants}),
    )
    .await
}

async fn replay(app: &TestApp, query: &str) -> Value {
    let (status, body) = app
        .get(&format!("/api/v1/audit/strategies/{STRATEGY}?{query}"))
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn activities(state: &Value, area: &str) -> u64 {
    state["activities"][area]["activities"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn replay_at_several_moments_equals_the_states_worked_out_by_hand() {
    let app = TestApp::spawn().await;
    // Before anything happened to it in the areas: the plan's wording, nothing else.
    let (_, p0) = act(
        &app,
        "/api/v1/processes/arbetsmarknad-och-naringsliv/owner",
        json!({"name": "Karin Ek"}),
    )
    .await;
    let (a1, p1) = activity(&app, "araby", 12).await;
    let (_, p2) = activity(&app, "teleborg", 5).await;
    let (case, p3) = act(
        &app,
        "/api/v1/areas/araby/cases",
        json!({"title": "Matchning saknas för en grupp", "description": "", "strategies": [STRATEGY]}),
    )
    .await;
    let (_, p4) = act(
        &app,
        &format!("/api/v1/strategies/{STRATEGY}/status-reports"),
        json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "status": "risk", "comment": "Få arbetsgivare."}),
    )
    .await;
    let (item, p5) = act(
        &app,
        &format!("/api/v1/cases/{case}/escalate"),
        json!({"text": "Rådet behöver prioritera."}),
    )
    .await;
    let (_, p6) = act(
        &app,
        &format!("/api/v1/activities/{a1}/retraction"),
        json!({"reason": "Dubbelregistrerad"}),
    )
    .await;
    let (_, p7) = act(
        &app,
        &format!("/api/v1/items/{item}/answer"),
        json!({"text": "Prioriteras i höst."}),
    )
    .await;
    let (_, p8) = act(&app, &format!("/api/v1/cases/{case}/close"), json!({})).await;
    assert!(p0 < p1 && p1 < p2 && p2 < p3 && p3 < p4 && p4 < p5 && p5 < p6 && p6 < p7 && p7 < p8);

    // By hand, moment by moment.
    let at = |p: i64| format!("per={p}");
    let s = &replay(&app, &at(p0)).await["state"];
    assert_eq!(s["title"], "Matchningsmetodik");
    assert_eq!(s["process_owner"], "Karin Ek");
    assert_eq!((activities(s, "araby"), activities(s, "teleborg")), (0, 0));
    assert_eq!(s["latest_report"], Value::Null);

    let s = &replay(&app, &at(p2)).await["state"];
    assert_eq!((activities(s, "araby"), activities(s, "teleborg")), (1, 1));
    assert_eq!(s["activities"]["araby"]["participants"], 12);
    assert_eq!(s["open_cases"].as_object().unwrap().len(), 0);

    let s = &replay(&app, &at(p5)).await["state"];
    assert_eq!(s["open_cases"].as_object().unwrap().len(), 1);
    assert_eq!(
        s["open_cases"][&case]["title"],
        "Matchning saknas för en grupp"
    );
    assert_eq!(s["open_items"].as_object().unwrap().len(), 1);
    assert_eq!(s["latest_report"]["status"], "risk");
    assert_eq!(s["latest_report"]["comment"], "Få arbetsgivare.");

    let s = &replay(&app, &at(p6)).await["state"];
    assert_eq!(
        (activities(s, "araby"), activities(s, "teleborg")),
        (0, 1),
        "a retracted activity no longer counts"
    );
    assert_eq!(s["open_items"].as_object().unwrap().len(), 1);

    let s = &replay(&app, &at(p8)).await["state"];
    assert_eq!(s["open_items"].as_object().unwrap().len(), 0);
    assert_eq!(s["open_cases"].as_object().unwrap().len(), 0);
    // Folding straight from the log (only the events up to the moment) gives the same,
    // but for the sealed comment, which that fold does not open. The history's read model
    // is compared once it holds everything (before that, state_as_of folds the log).
    crate::helpers::caught_up(&app.db.pool).await;
    for p in [p0, p2, p5, p6, p8] {
        let direct =
            insats::audit::state_as_of(&app.db.pool, STRATEGY, insats::audit::AsOf::Position(p))
                .await
                .unwrap();
        let from_log =
            insats::audit::state_from_log(&app.db.pool, STRATEGY, insats::audit::AsOf::Position(p))
                .await
                .unwrap();
        assert_eq!(
            from_log, direct,
            "at {p}: the history's read model folds to what the log folds to"
        );
        let mut opened = replay(&app, &at(p)).await["state"].clone();
        if let Some(report) = opened.get_mut("latest_report").filter(|r| r.is_object()) {
            report["comment"] = json!("");
        }
        assert_eq!(serde_json::to_value(&direct).unwrap(), opened, "at {p}");
    }
    // Now is the same as the last moment.
    assert_eq!(replay(&app, "").await["state"], *s);
    // A date before the plan was imported: the strategy did not exist yet.
    let before = &replay(&app, "per=2019-01-01").await["state"];
    assert_eq!(before["title"], Value::Null);
    assert_eq!(before["events"], 0);

    // What changed between two moments.
    let body = replay(&app, &format!("per={p8}&jamfor={p2}")).await;
    let changes: Vec<(String, String, String)> = body["compare"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["what"].as_str().unwrap().to_owned(),
                c["before"].as_str().unwrap().to_owned(),
                c["after"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("Insatser i araby".into(), "1".into(), "0".into())),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|(what, before, _)| what == "Senaste lägesrapport" && before == "–")
    );
    assert!(
        !changes
            .iter()
            .any(|(what, ..)| what == "Insatser i teleborg")
    );

    // The events up to a moment, with who and what, in commit order.
    let events = replay(&app, &at(p3)).await["events"]
        .as_array()
        .unwrap()
        .clone();
    let positions: Vec<i64> = events
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(positions.contains(&p1) && positions.contains(&p3) && !positions.contains(&p4));
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    let logged = events.iter().find(|e| e["position"] == p1).unwrap();
    assert_eq!(
        logged["what"],
        "Insats: Matchningsträff i araby (12 deltagare)"
    );

    // Wrong moments are refused with a message for the field.
    let (status, body) = app
        .get(&format!("/api/v1/audit/strategies/{STRATEGY}?per=igår"))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("per"))
    );
    let (status, _) = app.get("/api/v1/audit/strategies/finns-inte").await;
    assert_eq!(status, 404);
}

/// Seals everything in the log now: first waits until every transaction before its last
/// event has ended (other tests' open transactions hold the server's horizon back).
async fn seal_all(app: &TestApp) {
    crate::helpers::caught_up(&app.db.pool).await;
    app.store
        .seal(10_000, std::time::Duration::ZERO)
        .await
        .expect("the log is sealed");
}

/// Seals the log, then edits one row and deletes another behind the triggers' back, as a
/// superuser could.
async fn tamper(app: &TestApp) -> (i64, i64) {
    let (_, keep) = activity(app, "araby", 3).await;
    let (gone, deleted) = activity(app, "lammhult", 4).await;
    let (case, _) = act(
        app,
        "/api/v1/areas/braas/cases",
        json!({"title": "Praktikplatser", "description": "", "strategies": [STRATEGY]}),
    )
    .await;
    let (_, edited) = act(
        app,
        &format!("/api/v1/cases/{case}/notes"),
        json!({"text": "Ringt arbetsgivaren."}),
    )
    .await;
    act(
        app,
        &format!("/api/v1/cases/{case}/notes"),
        json!({"text": "Återkoppling nästa vecka."}),
    )
    .await;
    assert!(keep > 0 && !gone.is_empty());
    seal_all(app).await;
    let mut connection = app.db.pool.acquire().await.unwrap();
    for statement in [
        "ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete".to_owned(),
        format!(
            "UPDATE events SET metadata = jsonb_set(metadata, '{{actor_name}}', '\"Mallory\"') WHERE position = {edited}"
        ),
        format!("DELETE FROM events WHERE position = {deleted}"),
        "ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete".to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut *connection)
            .await
            .unwrap();
    }
    (edited, deleted)
}

fn cli(app: &TestApp, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_insats"))
        .args(args)
        .env("DATABASE_URL", app.db.url())
        .env("INSATS_MASTER_KEY_FILE", key_file())
        .env("RUST_LOG", "error")
        .output()
        .expect("the CLI runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn an_edited_and_a_deleted_row_are_named_by_the_page_the_api_and_the_cli() {
    let app = TestApp::spawn().await;
    activity(&app, "araby", 1).await;
    seal_all(&app).await;
    // Whole before.
    let (code, out) = cli(&app, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("Verifierad till position "), "{out}");
    let (code, out) = cli(&app, &["audit", "verify", "--strategy", STRATEGY]);
    assert_eq!(code, 0, "{out}");
    let (_, report) = app
        .get(&format!("/api/v1/audit/strategies/{STRATEGY}/verification"))
        .await;
    assert_eq!(report["verified"], true, "{report}");

    let (edited, deleted) = tamper(&app).await;
    let edited_text = format!("position {edited}");

    // The API, for the strategy and for the whole log.
    for path in [
        format!("/api/v1/audit/strategies/{STRATEGY}/verification"),
        "/api/v1/audit/verification".to_owned(),
    ] {
        let (status, report) = app.get(&path).await;
        assert_eq!(status, 200);
        assert_eq!(report["verified"], false, "{path}: {report}");
        let problems = report["problems"].as_array().unwrap();
        let altered = problems
            .iter()
            .find(|p| p["kind"] == "content_altered")
            .unwrap_or_else(|| panic!("{path}: the edit is named: {report}"));
        assert_eq!(altered["position"], edited);
        let removed = problems
            .iter()
            .find(|p| p["kind"] == "seal_mismatch")
            .unwrap_or_else(|| panic!("{path}: the deletion is found: {report}"));
        let message = removed["message"].as_str().unwrap();
        assert!(message.contains("en händelse har tagits bort"), "{message}");
        // The stretch named ends at or after the deleted position.
        let up_to: i64 = message
            .split("till och med position ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{message}"));
        assert!(up_to >= deleted, "{message}");
        assert!(
            report["summary"]
                .as_str()
                .unwrap()
                .starts_with("Inte verifierad")
        );
    }

    // The CLI.
    for args in [
        &["audit", "verify"][..],
        &["audit", "verify", "--strategy", STRATEGY][..],
    ] {
        let (code, out) = cli(&app, args);
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(
            out.contains(&edited_text) && out.contains("har ändrats i efterhand"),
            "{out}"
        );
        assert!(out.contains("en händelse har tagits bort"), "{out}");
    }

    // The page.
    let (user, _) = app.user("revisor", &[], &[]).await;
    let (mut auditor, landing) = Visitor::signed_in(&app, &user.email).await;
    assert_eq!(landing, "/granskning");
    let page = auditor
        .get(&format!("/granskning/strategier/{STRATEGY}"))
        .await;
    assert_eq!(page.status, 200);
    let status = page.text("#verifiering + div");
    assert!(status.contains("Inte verifierad"), "{status}");
    assert!(
        page.text("#verifiering + div strong")
            .starts_with("Något stämmer inte"),
        "a plain sentence first: {status}"
    );
    assert!(
        status.contains(&edited_text) && status.contains("har ändrats i efterhand"),
        "{status}"
    );
    assert!(status.contains("en händelse har tagits bort"), "{status}");
    let whole = auditor.get("/granskning/verifiering").await;
    assert!(whole.body.contains("har ändrats i efterhand"));
}

#[tokio::test]
async fn an_export_verifies_offline_and_one_changed_byte_breaks_it() {
    let app = TestApp::spawn().await;
    activity(&app, "araby", 7).await;
    let (case, _) = act(
        &app,
        "/api/v1/areas/araby/cases",
        json!({"title": "Uppföljning", "description": "Känsliga uppgifter", "strategies": [STRATEGY]}),
    )
    .await;
    act(
        &app,
        &format!("/api/v1/cases/{case}/notes"),
        json!({"text": "Ringde."}),
    )
    .await;
    seal_all(&app).await;
    activity(&app, "teleborg", 2).await;

    let folder =
        std::env::temp_dir().join(format!("insats-export-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder).unwrap();
    for format in ["json", "csv"] {
        let response = app
            .client
            .get(format!(
                "{}/api/v1/audit/strategies/{STRATEGY}/export.{format}",
                app.address
            ))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let bytes = response.bytes().await.unwrap().to_vec();
        let file = folder.join(format!("historik.{format}"));
        std::fs::write(&file, &bytes).unwrap();
        let path = file.to_str().unwrap();
        let (code, out) = cli(&app, &["audit", "verify-export", path]);
        assert_eq!(code, 0, "{format}: {out}");
        assert!(out.starts_with("Verifierad till position"), "{out}");
        // The export holds every event of the history (sealed text sealed) and the seals.
        let export = insats::audit::export::parse(&bytes).unwrap();
        assert!(export.events.len() >= 5 && !export.seals.is_empty());
        assert!(!String::from_utf8_lossy(&bytes).contains("Känsliga uppgifter"));

        // One byte changed: a letter of the first activity's title.
        let marker = "Matchningsträff i ";
        let at = bytes
            .windows(marker.len())
            .position(|w| w == marker.as_bytes())
            .unwrap()
            + marker.len();
        let mut changed = bytes.clone();
        changed[at] = if changed[at] == b'a' { b'b' } else { b'a' };
        std::fs::write(&file, &changed).unwrap();
        let (code, out) = cli(&app, &["audit", "verify-export", path]);
        assert_eq!(code, 1, "{format}: {out}");
        assert!(out.contains("har ändrats i efterhand"), "{format}: {out}");

        // A whole row taken out of the file is found by the seals.
        let text = String::from_utf8(bytes.clone()).unwrap();
        if format == "csv" {
            let lines: Vec<&str> = text.split("\r\n").collect();
            let without: Vec<&str> = lines
                .iter()
                .filter(|line| !line.contains(&format!("{marker}araby")))
                .copied()
                .collect();
            assert_eq!(without.len() + 1, lines.len());
            std::fs::write(&file, without.join("\r\n")).unwrap();
            let (code, out) = cli(&app, &["audit", "verify-export", path]);
            assert_eq!(code, 1, "{out}");
            assert!(out.contains("en händelse har tagits bort"), "{out}");
        }
    }
    let (code, out) = cli(&app, &["audit", "verify-export", "/finns/inte.json"]);
    assert_ne!(code, 0, "{out}");
    std::fs::remove_dir_all(&folder).ok();
}

#[tokio::test]
async fn only_the_auditor_and_the_coordinator_may_audit() {
    let app = TestApp::spawn().await;
    let path = format!("/api/v1/audit/strategies/{STRATEGY}");
    let (_, team) = app.user("omradesteam", &["araby"], &[]).await;
    let (_, council) = app.user("integrationsrad", &[], &[]).await;
    let (_, auditor) = app.user("revisor", &[], &[]).await;
    assert_eq!(app.get_as(Some(&team), &path).await.0, 403);
    assert_eq!(
        app.get_as(Some(&council), "/api/v1/audit/verification")
            .await
            .0,
        403
    );
    assert_eq!(app.get_as(None, &path).await.0, 401);
    assert_eq!(app.get_as(Some(&auditor), &path).await.0, 200);
    assert_eq!(app.get(&path).await.0, 200, "the coordinator");

    let (user, _) = app.user("omradesteam", &["araby"], &[]).await;
    let (mut member, _) = Visitor::signed_in(&app, &user.email).await;
    assert_eq!(member.get("/granskning").await.status, 403);
    assert_eq!(
        member
            .get(&format!("/granskning/strategier/{STRATEGY}"))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn an_activity_corrected_away_from_a_strategy_no_longer_counts_in_its_replay() {
    let app = TestApp::spawn().await;
    let (id, _) = activity(&app, "araby", 12).await;
    let (_, kept) = activity(&app, "araby", 3).await;
    let (_, corrected) = act(
        &app,
        &format!("/api/v1/activities/{id}/corrections"),
        json!({"reason": "Fel strategi", "activity": {"date": "2026-05-04", "title": "Matchningsträff i araby",
               "strategies": ["samordnat-mottagande"], "participants": 12}}),
    )
    .await;
    assert!(kept < corrected);

    // The correction is part of the strategy's history: it concerns the strategy it left.
    let s = &replay(&app, &format!("per={corrected}")).await["state"];
    assert_eq!(
        activities(s, "araby"),
        1,
        "only the activity still about it"
    );
    assert_eq!(s["activities"]["araby"]["participants"], 3);
    let (status, other) = app
        .get(&format!(
            "/api/v1/audit/strategies/samordnat-mottagande?per={corrected}"
        ))
        .await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(activities(&other["state"], "araby"), 1);
    assert_eq!(other["state"]["activities"]["araby"]["participants"], 12);
    // Folding straight from the log gives the same.
    let direct = insats::audit::state_as_of(
        &app.db.pool,
        "samordnat-mottagande",
        insats::audit::AsOf::Position(corrected),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(&direct).unwrap(), other["state"]);
}

#[tokio::test]
async fn a_replay_asked_for_at_once_after_a_change_holds_the_change() {
    // The history's read model follows the log by a moment. A replay asked for in that
    // moment, at the newest position or now, still holds every event up to it: the auditor
    // never sees a state that silently lacks what the log has.
    let app = TestApp::spawn().await;
    for round in 1..=12u32 {
        let (_, position) = activity(&app, "araby", round).await;
        for as_of in [
            insats::audit::AsOf::Position(position),
            insats::audit::AsOf::Now,
        ] {
            let state = insats::audit::state_as_of(&app.db.pool, STRATEGY, as_of)
                .await
                .unwrap();
            assert_eq!(
                state.activities["araby"].activities, round as u64,
                "round {round}: every activity logged so far is counted"
            );
            assert_eq!(state.last_position, Some(position));
        }
    }
}
