//! Logging activities through the API, and every way a request can be refused.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields};

fn activity() -> Value {
    json!({
        "date": "2026-05-04",
        "title": "Språkcafé på biblioteket",
        "description": "Samtal på lätt svenska om arbetsmarknaden.",
        "strategies": ["sprakutvecklande-insatser", "matchningsmetodik"],
        "partners": ["Civilsamhället", "Röda korset"],
        "participants": 12,
        "follow_up": false
    })
}

#[tokio::test]
async fn a_logged_activity_lands_in_the_log_with_its_tags_and_who_logged_it() {
    let app = TestApp::spawn().await;
    let (status, created) = app.post("/api/v1/areas/araby/activities", activity()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let events = app.stream(&format!("activity-{id}")).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, "ActivityLogged");
    assert_eq!(event.position, created["position"].as_i64().unwrap());
    assert_eq!(event.data["area"], "araby");
    assert_eq!(event.data["participants"], 12);
    assert_eq!(
        event.data["partners"],
        json!([{"id": "civilsamhallet", "name": "Civilsamhället"}, {"name": "Röda korset"}])
    );
    for tag in [
        format!("activity:{id}"),
        "area:araby".into(),
        "strategy:sprakutvecklande-insatser".into(),
        "strategy:matchningsmetodik".into(),
        "process:arbetsmarknad-och-naringsliv".into(),
    ] {
        assert!(
            event.tags.contains(&tag),
            "{tag} missing from {:?}",
            event.tags
        );
    }
    assert_eq!(event.metadata["area"], "araby");
    assert!(event.metadata["role"].is_string());
    assert!(event.metadata["correlation_id"].is_string());
    assert!(
        event.metadata["request_id"].is_string(),
        "{}",
        event.metadata
    );
}

#[tokio::test]
async fn corrections_and_retractions_are_new_events_with_reasons() {
    let app = TestApp::spawn().await;
    let (_, created) = app.post("/api/v1/areas/braas/activities", activity()).await;
    let id = created["id"].as_str().unwrap();
    let mut corrected = activity();
    corrected["participants"] = json!(15);
    let (status, body) = app
        .post(
            &format!("/api/v1/activities/{id}/corrections"),
            json!({"reason": "Räknade fel", "activity": corrected}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/activities/{id}/corrections"),
            json!({"reason": "", "activity": activity()}),
        )
        .await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["reason".to_string()])
    );
    let (status, _) = app
        .post(
            &format!("/api/v1/activities/{id}/retraction"),
            json!({"reason": "Dubbelregistrerad"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .post(
            &format!("/api/v1/activities/{id}/retraction"),
            json!({"reason": "Igen"}),
        )
        .await;
    assert_eq!(
        (status, body["errors"][0]["message"].as_str()),
        (409, Some("Insatsen är redan återkallad."))
    );
    let types: Vec<String> = app
        .stream(&format!("activity-{id}"))
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        ["ActivityLogged", "ActivityCorrected", "ActivityRetracted"]
    );
    let (status, _) = app
        .post(
            "/api/v1/activities/00000000-0000-0000-0000-000000000000/retraction",
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_activities_get_a_swedish_message_per_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let before = app.store.count_events().await.unwrap();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["date", "title", "strategies"]),
        (
            json!({"date": "2017-12-31", "title": "x", "strategies": ["matchningsmetodik"]}),
            vec!["date"],
        ),
        (
            json!({"date": "3026-01-01", "title": "x", "strategies": ["matchningsmetodik"]}),
            vec!["date"],
        ),
        (
            json!({"date": "2026-05-04", "title": "x".repeat(201), "strategies": ["matchningsmetodik"]}),
            vec!["title"],
        ),
        (
            json!({"date": "2026-05-04", "title": "x", "strategies": ["finns-inte"]}),
            vec!["strategies"],
        ),
        (
            json!({"date": "2026-05-04", "title": "x", "strategies": ["matchningsmetodik"], "participants": -1}),
            vec!["participants"],
        ),
        (
            json!({"date": "2026-05-04", "title": "x", "strategies": ["matchningsmetodik"], "participants": 1_000_000}),
            vec!["participants"],
        ),
        (
            json!({"date": "2026-05-04", "title": "noll\u{0}", "strategies": ["matchningsmetodik"]}),
            vec!["title"],
        ),
        (
            json!({"date": "2026-05-04", "title": "x", "strategies": "matchningsmetodik"}),
            vec!["strategies"],
        ),
        (
            json!({"date": 20260504, "title": "x", "strategies": ["matchningsmetodik"]}),
            vec!["date"],
        ),
        (
            json!({"date": "2026-05-04", "title": "x", "strategies": ["matchningsmetodik"], "participants": 1.5}),
            vec!["participants"],
        ),
    ];
    for (body, fields) in cases {
        let (status, answer) = app
            .post("/api/v1/areas/araby/activities", body.clone())
            .await;
        assert_eq!(status, 422, "{body} → {answer}");
        assert_eq!(error_fields(&answer), fields, "{body} → {answer}");
        for error in answer["errors"].as_array().unwrap() {
            let message = error["message"].as_str().unwrap();
            assert!(
                !message.is_empty() && message.ends_with('.'),
                "a sentence: {message}"
            );
        }
    }
    let (status, answer) = app
        .post("/api/v1/areas/finns-inte/activities", activity())
        .await;
    assert_eq!(
        (status, answer["errors"][0]["message"].as_str()),
        (404, Some("Området finns inte."))
    );
    assert_eq!(
        app.store.count_events().await.unwrap(),
        before,
        "refused requests write nothing"
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_wrong_content_types_415_and_huge_bodies_413() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post_raw(
            "/api/v1/areas/araby/activities",
            b"{\"title\": ".to_vec(),
            Some("application/json"),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["message"], "Kroppen är inte giltig JSON.");
    let (status, _) = app
        .post_raw(
            "/api/v1/areas/araby/activities",
            vec![0xff, 0xfe, 0x00],
            Some("application/json"),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .post_raw(
            "/api/v1/areas/araby/activities",
            activity().to_string().into_bytes(),
            None,
        )
        .await;
    assert_eq!(status, 415);
    let (status, _) = app
        .post_raw(
            "/api/v1/areas/araby/activities",
            activity().to_string().into_bytes(),
            Some("text/plain"),
        )
        .await;
    assert_eq!(status, 415);
    let huge = json!({"title": "x".repeat(2 * 1024 * 1024)})
        .to_string()
        .into_bytes();
    let (status, _) = app
        .post_raw(
            "/api/v1/areas/araby/activities",
            huge,
            Some("application/json"),
        )
        .await;
    assert_eq!(status, 413);
    let (status, body) = app.get("/api/v1/finns-inte").await;
    assert_eq!(
        (status, body["errors"][0]["message"].as_str()),
        (404, Some("Adressen finns inte i Insats API."))
    );
}
