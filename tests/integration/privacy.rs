//! Personal data: the canary (erased text is nowhere, the chains still verify), secrecy
//! per role, retention, and the key-encryption key at start.

use insats::app::CommandContext;
use insats::domain::actor::Actor;
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{TestApp, caught_up, demo_history, key_file};

/// pg_dump beside the server programs, or on PATH.
fn pg_dump() -> std::path::PathBuf {
    let beside = insats::database::managed::find_server_binaries()
        .expect("PostgreSQL's programs")
        .join("pg_dump");
    if beside.exists() {
        beside
    } else {
        "pg_dump".into()
    }
}

async fn wait_healthy(client: &reqwest::Client, address: &str) {
    for _ in 0..300 {
        if client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

async fn call(
    client: &reqwest::Client,
    token: &str,
    method: &str,
    url: String,
    body: Value,
) -> (u16, Value) {
    let request = match method {
        "GET" => client.get(url),
        _ => client.post(url).json(&body),
    };
    let response = request.bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_erased_canary_is_nowhere_in_a_dump_or_the_logs_and_the_chains_still_verify() {
    let app = TestApp::spawn().await;
    let canary = format!("KANARIE-{}", uuid::Uuid::new_v4().simple());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path =
        std::env::temp_dir().join(format!("insats-log-{}.txt", uuid::Uuid::new_v4().simple()));
    let child = Command::new(env!("CARGO_BIN_EXE_insats"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", app.db.url())
        .env("INSATS_MASTER_KEY_FILE", key_file())
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        // A file, not a pipe: a chatty server must never block on a full pipe.
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    wait_healthy(&app.client, &address).await;
    let (client, token) = (&app.client, app.token.as_str());

    let (status, case) = call(client, token, "POST", format!("{address}/api/v1/areas/araby/cases"),
        json!({"title": "Bostadsfråga", "description": format!("Familjen {canary} behöver stöd"), "strategies": ["oka-tillgangen-till-bostader"]})).await;
    assert_eq!(status, 201, "{case}");
    let case_id = case["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        client,
        token,
        "POST",
        format!("{address}/api/v1/cases/{case_id}/notes"),
        json!({"text": format!("Ringde {canary}")}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, item) = call(
        client,
        token,
        "POST",
        format!("{address}/api/v1/cases/{case_id}/escalate"),
        json!({"text": format!("Gäller {canary}")}),
    )
    .await;
    assert_eq!(status, 201);
    let item_id = item["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        client,
        token,
        "POST",
        format!("{address}/api/v1/items/{item_id}/answer"),
        json!({"text": format!("Svar om {canary}")}),
    )
    .await;
    assert_eq!(status, 200);

    // Before erasure the text is readable where it belongs.
    let (_, page) = call(
        client,
        token,
        "GET",
        format!(
            "{address}/api/v1/areas/araby/timeline?case={case_id}&after={}",
            item["position"]
        ),
        json!(null),
    )
    .await;
    assert!(
        page.to_string().contains(&canary),
        "the text is there before erasure"
    );

    let (status, erased) = call(
        client,
        token,
        "POST",
        format!("{address}/api/v1/cases/{case_id}/erasure"),
        json!({"decision": "Dnr KS 2026/123", "reason": "Gallringsbeslut för avslutade ärenden"}),
    )
    .await;
    assert_eq!(status, 201, "{erased}");
    let (status, again) = call(
        client,
        token,
        "POST",
        format!("{address}/api/v1/cases/{case_id}/erasure"),
        json!({"decision": "Dnr KS 2026/123"}),
    )
    .await;
    assert_eq!(status, 409, "{again}");

    let (_, page) = call(
        client,
        token,
        "GET",
        format!(
            "{address}/api/v1/areas/araby/timeline?case={case_id}&after={}",
            erased["position"]
        ),
        json!(null),
    )
    .await;
    let text = page.to_string();
    assert!(
        !text.contains(&canary),
        "no view shows the text after erasure: {text}"
    );
    assert!(
        text.contains("[raderat enligt beslut Dnr KS 2026/123]"),
        "{text}"
    );
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["event_type"] == "PersonalDataErased")
    );
    // Nothing more can be written under the destroyed key.
    let (status, _) = call(
        client,
        token,
        "POST",
        format!("{address}/api/v1/cases/{case_id}/notes"),
        json!({"text": "Ny"}),
    )
    .await;
    assert_eq!(status, 409);

    // SAFETY: SIGTERM to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    child.wait_with_output().unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).unwrap();
    assert!(logs.contains("request"), "the server did log");
    assert!(!logs.contains(&canary), "no free text in the server's logs");

    let dump = Command::new(pg_dump())
        .arg("--dbname")
        .arg(app.db.url())
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains("PersonalDataErased"),
        "the dump holds the log"
    );
    assert!(
        !dump.contains(&canary),
        "the canary is nowhere in a full dump"
    );

    assert!(
        app.store.verify_all(|_| {}).await.unwrap().is_verified(),
        "every chain still verifies"
    );
}

/// An instance keeps the keys it has unwrapped for pages; an erasure through another
/// instance on the same database still reaches its next page.
#[tokio::test]
async fn text_erased_through_another_instance_is_gone_from_the_next_page_of_this_one() {
    let app = TestApp::spawn().await;
    let other = crate::helpers::serve(app.db.pool.clone()).await;
    let canary = format!("KANARIE-{}", uuid::Uuid::new_v4().simple());
    let (client, token) = (&app.client, app.token.as_str());
    let (status, case) = call(client, token, "POST", format!("{}/api/v1/areas/araby/cases", app.address),
        json!({"title": "Bostadsfråga", "description": format!("Familjen {canary} behöver stöd"), "strategies": ["oka-tillgangen-till-bostader"]})).await;
    assert_eq!(status, 201, "{case}");
    let case_id = case["id"].as_str().unwrap().to_owned();
    let timeline = |after: &Value| {
        format!(
            "{}/api/v1/areas/araby/timeline?case={case_id}&after={after}",
            app.address
        )
    };

    // This instance opens the text (and keeps the case's key) twice: the second time
    // from the key it kept.
    for _ in 0..2 {
        let (_, page) = call(
            client,
            token,
            "GET",
            timeline(&case["position"]),
            json!(null),
        )
        .await;
        assert!(page.to_string().contains(&canary), "{page}");
    }

    let (status, erased) = call(
        client,
        token,
        "POST",
        format!("{other}/api/v1/cases/{case_id}/erasure"),
        json!({"decision": "Dnr KS 2026/124"}),
    )
    .await;
    assert_eq!(status, 201, "{erased}");

    let (_, page) = call(
        client,
        token,
        "GET",
        timeline(&erased["position"]),
        json!(null),
    )
    .await;
    let text = page.to_string();
    assert!(!text.contains(&canary), "the kept key was dropped: {text}");
    assert!(
        text.contains("[raderat enligt beslut Dnr KS 2026/124]"),
        "{text}"
    );
}

#[tokio::test]
async fn secret_text_is_shown_only_to_the_own_area_team_the_coordinator_and_the_auditor() {
    let app = TestApp::spawn().await;
    let (_, team) = app.user("omradesteam", &["araby"], &[]).await;
    let (_, other_team) = app.user("omradesteam", &["teleborg"], &[]).await;
    let (_, council) = app.user("integrationsrad", &[], &[]).await;
    let (_, committee) = app.user("integrationsberedning", &[], &[]).await;
    let (_, owner) = app
        .user("processagare", &[], &["vaxande-stad-och-landsbygd"])
        .await;
    let (_, auditor) = app.user("revisor", &[], &[]).await;

    let (_, case) = app
        .post_as(Some(&team), "/api/v1/areas/araby/cases", json!({"title": "Skyddat ärende", "description": "Känslig beskrivning", "strategies": ["utveckla-yttre-miljo"]}))
        .await;
    let case_id = case["id"].as_str().expect("a case").to_owned();
    let (_, note) = app
        .post_as(
            Some(&team),
            &format!("/api/v1/cases/{case_id}/notes"),
            json!({"text": "Hemlig anteckning"}),
        )
        .await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    let (_, open_note) = app
        .post_as(
            Some(&team),
            &format!("/api/v1/cases/{case_id}/notes"),
            json!({"text": "Öppen anteckning"}),
        )
        .await;

    let (status, body) = app
        .post_as(
            Some(&council),
            &format!("/api/v1/cases/{case_id}/secrecy"),
            json!({"target": format!("note:{note_id}"), "secret": true}),
        )
        .await;
    assert_eq!(
        status, 403,
        "only the case's own team (or the coordinator) marks: {body}"
    );
    let (status, marked) = app
        .post_as(
            Some(&team),
            &format!("/api/v1/cases/{case_id}/secrecy"),
            json!({"target": format!("note:{note_id}"), "secret": true}),
        )
        .await;
    assert_eq!(status, 201, "{marked}");
    assert_eq!(
        app.post_as(
            Some(&team),
            &format!("/api/v1/cases/{case_id}/secrecy"),
            json!({"target": format!("note:{note_id}"), "secret": true})
        )
        .await
        .0,
        409
    );
    let mark = &app.stream(&format!("secrecy-note-{note_id}")).await[0];
    assert_eq!(mark.event_type, "SecrecyMarked");
    assert_eq!(
        mark.metadata["role"], "omradesteam",
        "the mark names who set it"
    );

    let sees = |page: &Value, text: &str| page.to_string().contains(text);
    let after = open_note["position"]
        .as_i64()
        .unwrap()
        .max(marked["position"].as_i64().unwrap());
    let path = format!("/api/v1/areas/araby/timeline?case={case_id}&after={after}");
    for (who, token, may_read) in [
        ("own area team", &team, true),
        ("coordinator", &app.token, true),
        ("auditor", &auditor, true),
        ("another area's team", &other_team, false),
        ("council", &council, false),
        ("committee", &committee, false),
        ("process owner", &owner, false),
    ] {
        let (status, page) = app.get_as(Some(token), &path).await;
        assert_eq!(status, 200, "{who}");
        assert_eq!(sees(&page, "Hemlig anteckning"), may_read, "{who}: {page}");
        assert_eq!(
            sees(&page, "[sekretessmarkerad]"),
            !may_read,
            "{who} sees that a secret entry exists"
        );
        assert!(
            sees(&page, "Öppen anteckning"),
            "{who} reads the unmarked note"
        );
        let secret_flags = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["secret"] == true)
            .count();
        assert_eq!(secret_flags, 1, "{who}");
    }

    let (status, lifted) = app
        .post_as(
            Some(&team),
            &format!("/api/v1/cases/{case_id}/secrecy"),
            json!({"target": format!("note:{note_id}"), "secret": false}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, page) = app
        .get_as(
            Some(&council),
            &format!(
                "/api/v1/areas/araby/timeline?case={case_id}&after={}",
                lifted["position"]
            ),
        )
        .await;
    assert!(
        sees(&page, "Hemlig anteckning"),
        "lifted: everyone reads it"
    );
    assert_eq!(
        app.post_as(
            Some(&team),
            &format!("/api/v1/cases/{case_id}/secrecy"),
            json!({"target": "note:inte-ett-id", "secret": true})
        )
        .await
        .0,
        422
    );
}

#[tokio::test]
async fn retention_dry_run_lists_exactly_what_apply_then_erases() {
    let app = TestApp::spawn().await;
    let services = crate::helpers::insats(&app);
    let today = time::OffsetDateTime::now_utc().date();
    demo_history(
        &services,
        &[("araby", "Araby"), ("teleborg", "Teleborg")],
        3_000,
        11,
        today,
    )
    .await;
    caught_up(&app.db.pool).await;

    let dry_run = services.retention_candidates(4).await.unwrap();
    assert!(!dry_run.is_empty(), "the demo history has old closed cases");
    let operator = CommandContext::new(Actor::system());
    let applied = services.apply_retention(&operator, 4).await.unwrap();
    let ids = |cases: &[insats::app::RetentionCandidate]| {
        cases.iter().map(|c| c.case_id).collect::<Vec<_>>()
    };
    assert_eq!(ids(&applied), ids(&dry_run));
    assert!(services.retention_candidates(4).await.unwrap().is_empty());
    let erasures: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'PersonalDataErased' AND data->>'rule' LIKE '%4 år%'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        erasures as usize,
        dry_run.len(),
        "each erasure cites the rule"
    );
    // A younger case keeps its text.
    let recent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM data_keys WHERE subject LIKE 'case:%' AND wrapped_key IS NOT NULL",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(recent > 0);
}

#[tokio::test]
async fn insats_refuses_to_start_with_a_wrong_or_missing_key() {
    let app = TestApp::spawn().await;
    let wrong = std::env::temp_dir().join(format!(
        "insats-wrong-{}.key",
        uuid::Uuid::new_v4().simple()
    ));
    insats::privacy::keys::write_new_key(&wrong).unwrap();
    let run = |key: Option<&std::path::Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_insats"));
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("DATABASE_URL", app.db.url())
            .env("RUST_LOG", "error");
        match key {
            Some(key) => command.env("INSATS_MASTER_KEY_FILE", key),
            None => command.env_remove("INSATS_MASTER_KEY_FILE"),
        };
        command.output().unwrap()
    };
    let output = run(Some(&wrong));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not the one this database was set up with"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let output = run(None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("Set INSATS_MASTER_KEY_FILE"));

    // After rotating to another key, that key opens every text and the old one is refused.
    let (_, case) = app
        .post("/api/v1/areas/araby/cases", json!({"title": "Före bytet", "description": "Text före nyckelbytet", "strategies": ["matchningsmetodik"]}))
        .await;
    let rotated = std::process::Command::new(env!("CARGO_BIN_EXE_insats"))
        .args(["privacy", "rotate-key"])
        .arg(&wrong)
        .env("DATABASE_URL", app.db.url())
        .env("INSATS_MASTER_KEY_FILE", key_file())
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let new = insats::privacy::Keyring::from_file(&wrong).unwrap();
    assert!(new.check(&app.db.pool).await.is_ok());
    assert!(crate::helpers::keyring().check(&app.db.pool).await.is_err());
    let rotated_insats = insats::app::Services::new(app.store.clone(), new);
    let mut events = app
        .stream(&format!("case-{}", case["id"].as_str().unwrap()))
        .await;
    rotated_insats
        .privacy()
        .open_all(events.iter_mut().map(|e| &mut e.data))
        .await
        .unwrap();
    assert_eq!(events[0].data["description"], "Text före nyckelbytet");
    std::fs::remove_file(wrong).unwrap();
}

/// A batch mixing text to seal with events that carry none (an acknowledgement of an item
/// whose subject has no key yet) seals the text and leaves the rest alone.
#[tokio::test]
async fn sealing_a_batch_skips_events_without_text() {
    let app = TestApp::spawn().await;
    let privacy = crate::helpers::insats(&app).privacy().clone();
    let mut events = vec![
        insats::event_log::NewEvent::new("ItemRaised", json!({"text": "Lokal saknas"}))
            .with_tags(["item:first".to_owned()]),
        insats::event_log::NewEvent::new("ItemAcknowledged", json!({"note": "mottaget"}))
            .with_tags(["item:second".to_owned()]),
    ];
    privacy.seal(&mut events).await.expect("the batch seals");
    assert!(insats::privacy::is_sealed(&events[0].data["text"]));
    assert_eq!(events[1].data, json!({"note": "mottaget"}));
    let keys: i64 =
        sqlx::query_scalar("SELECT count(*) FROM data_keys WHERE subject LIKE 'item:%'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(keys, 1, "a key only for the subject that has text");
}
