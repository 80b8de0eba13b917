//! Cases through their lifecycle, escalation to the council, items between forums,
//! reviews, areas, and what the API refuses.

use serde_json::{Value, json};

use crate::helpers::{TestApp, caught_up, error_fields};

async fn open_case(app: &TestApp) -> String {
    let (status, created) = app
        .post(
            "/api/v1/areas/teleborg/cases",
            json!({"title": "Familj saknar bostad", "description": "Behöver stöd från bostadsbolaget.", "strategies": ["oka-tillgangen-till-bostader"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_case_goes_through_its_whole_lifecycle_and_illegal_steps_are_refused() {
    let app = TestApp::spawn().await;
    let case = open_case(&app).await;
    let url = |action: &str| format!("/api/v1/cases/{case}/{action}");

    let (status, note) = app
        .post(&url("notes"), json!({"text": "Ringt hyresvärden."}))
        .await;
    assert_eq!(status, 201);
    assert_ne!(note["id"].as_str().unwrap(), case, "a note has its own id");
    assert_eq!(app.post(&url("notes"), json!({"text": "  "})).await.0, 422);
    assert_eq!(
        app.post(
            &url("assign"),
            json!({"kind": "process_owner", "process": "vaxande-stad-och-landsbygd"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.post(
            &url("assign"),
            json!({"kind": "team_member", "name": "Anna Berg"})
        )
        .await
        .0,
        200
    );
    let (status, body) = app
        .post(
            &url("assign"),
            json!({"kind": "process_owner", "process": "finns-inte"}),
        )
        .await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["process".to_string()])
    );
    assert_eq!(
        app.post(&url("assign"), json!({"kind": "someone"})).await.0,
        422
    );
    assert_eq!(
        app.post(&url("status"), json!({"status": "pagaende"}))
            .await
            .0,
        200
    );
    let (status, body) = app
        .post(&url("status"), json!({"status": "pagaende"}))
        .await;
    assert_eq!(
        (status, message(&body)),
        (409, "Ärendet har redan status Pågående.")
    );
    assert_eq!(
        app.post(&url("status"), json!({"status": "avslutad"}))
            .await
            .0,
        422
    );

    assert_eq!(
        app.post(&url("close"), json!({"resolution": "Bostad ordnad."}))
            .await
            .0,
        200
    );
    let (status, body) = app.post(&url("close"), json!({})).await;
    assert_eq!(
        (status, message(&body)),
        (409, "Ärendet är redan avslutat.")
    );
    let (status, body) = app.post(&url("notes"), json!({"text": "En till"})).await;
    assert_eq!(
        (status, message(&body)),
        (
            409,
            "Ärendet är avslutat. Öppna det igen för att skriva en anteckning."
        )
    );
    assert_eq!(
        app.post(&url("escalate"), json!({"text": "x"})).await.0,
        409
    );
    assert_eq!(app.post(&url("reopen"), json!({"reason": ""})).await.0, 422);
    assert_eq!(
        app.post(&url("reopen"), json!({"reason": "Bostaden föll bort."}))
            .await
            .0,
        200
    );
    assert_eq!(
        app.post(&url("reopen"), json!({"reason": "igen"})).await.0,
        409
    );

    let types: Vec<String> = app
        .stream(&format!("case-{case}"))
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        [
            "CaseOpened",
            "CaseNoteAdded",
            "CaseAssigned",
            "CaseAssigned",
            "CaseStatusChanged",
            "CaseClosed",
            "CaseReopened"
        ]
    );

    // The timeline says who the case went to as people know them: the process by its
    // title in the plan, never by its id.
    caught_up(&app.db.pool).await;
    let (status, timeline) = app
        .get(&format!("/api/v1/areas/teleborg/timeline?case={case}"))
        .await;
    assert_eq!(status, 200, "{timeline}");
    let summaries: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["summary"].as_str())
        .collect();
    assert!(
        summaries.contains(
            &"Ärendet tilldelades processägaren för Utveckla och förvalta en växande stad, tätorter och landsbygd"
        ),
        "{summaries:?}"
    );
    assert!(
        !summaries.iter().any(|s| s.contains("vaxande-stad")),
        "{summaries:?}"
    );

    let unknown = "/api/v1/cases/0192f0c4-0000-7000-8000-000000000000/notes";
    assert_eq!(
        app.post(unknown, json!({"text": "x"})).await,
        (404, json!({"errors": [{"message": "Ärendet finns inte."}]}))
    );
    assert_eq!(
        app.post("/api/v1/cases/inte-ett-id/notes", json!({"text": "x"}))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn an_escalation_reaches_the_council_and_its_answer_reaches_the_case() {
    let app = TestApp::spawn().await;
    let case = open_case(&app).await;
    let (status, item) = app
        .post(
            &format!("/api/v1/cases/{case}/escalate"),
            json!({"text": "Rådet behöver besluta om förtur."}),
        )
        .await;
    assert_eq!(status, 201, "{item}");
    let item = item["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post(
            &format!("/api/v1/cases/{case}/escalate"),
            json!({"text": "Igen"}),
        )
        .await;
    assert_eq!(
        (status, message(&body)),
        (
            409,
            "Ärendet är redan eskalerat till Integrationsrådet och väntar på svar."
        )
    );

    let raised = &app.stream(&format!("item-{item}")).await[0];
    assert_eq!(raised.event_type, "ItemRaised");
    assert_eq!(raised.data["from"], "omradesteam:teleborg");
    assert_eq!(raised.data["to"], "integrationsrad");
    assert_eq!(raised.data["kind"], "eskalering");
    assert_eq!(raised.data["case_id"], case.as_str());
    for tag in [
        format!("item:{item}"),
        format!("case:{case}"),
        "area:teleborg".into(),
        "strategy:oka-tillgangen-till-bostader".into(),
    ] {
        assert!(raised.tags.contains(&tag), "{tag} in {:?}", raised.tags);
    }

    assert_eq!(
        app.post(&format!("/api/v1/items/{item}/acknowledge"), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        app.post(&format!("/api/v1/items/{item}/acknowledge"), json!({}))
            .await
            .0,
        409
    );
    assert_eq!(
        app.post(&format!("/api/v1/items/{item}/answer"), json!({"text": ""}))
            .await
            .0,
        422
    );
    let (status, _) = app
        .post(
            &format!("/api/v1/items/{item}/answer"),
            json!({"text": "Rådet ger förtur."}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.post(
            &format!("/api/v1/items/{item}/answer"),
            json!({"text": "Igen"})
        )
        .await
        .0,
        409
    );

    let stored = app.stream(&format!("case-{case}")).await;
    assert!(
        insats::privacy::is_sealed(&stored.last().unwrap().data["answer"]),
        "the answer is sealed in the log"
    );
    let case_events = app.opened_stream(&format!("case-{case}")).await;
    let answered = case_events.last().unwrap();
    assert_eq!(answered.event_type, "CaseEscalationAnswered");
    assert_eq!(answered.data["answer"], "Rådet ger förtur.");
    let item_events = app.stream(&format!("item-{item}")).await;
    assert_eq!(
        answered.metadata["causation_id"],
        json!(item_events.last().unwrap().event_id),
        "the case's event was caused by the item's answer"
    );
    // Answered: the case can be escalated anew.
    assert_eq!(
        app.post(
            &format!("/api/v1/cases/{case}/escalate"),
            json!({"text": "Ny fråga."})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        app.post(&format!("/api/v1/items/{item}/close"), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        app.post(&format!("/api/v1/items/{item}/close"), json!({}))
            .await
            .0,
        409
    );
}

#[tokio::test]
async fn items_follow_the_plans_organisation() {
    let app = TestApp::spawn().await;
    // A process owner writes about its own process's strategies.
    let item = |from: &str, to: &str| {
        let strategy = if from.starts_with("processagare:aktiv-fritid") {
            "stodja-civilsamhallet"
        } else {
            "utveckla-yttre-miljo"
        };
        json!({"from": from, "to": to, "kind": "rapport", "title": "Läget i området", "text": "Se bilaga.", "strategy": strategy})
    };
    for (from, to) in [
        ("omradesteam:araby", "integrationsrad"),
        ("integrationsrad", "integrationsberedning"),
        ("integrationsrad", "omradesteam:lammhult"),
        ("integrationsrad", "processagare:aktiv-fritid"),
        ("processagare:aktiv-fritid", "integrationsrad"),
    ] {
        let (status, body) = app.post("/api/v1/items", item(from, to)).await;
        assert_eq!(status, 201, "{from} → {to}: {body}");
    }
    let (status, body) = app
        .post(
            "/api/v1/items",
            item("omradesteam:araby", "integrationsberedning"),
        )
        .await;
    assert_eq!((status, error_fields(&body)), (422, vec!["to".to_string()]));
    let (status, body) = app
        .post(
            "/api/v1/items",
            item("omradesteam:finns-inte", "integrationsrad"),
        )
        .await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["from".to_string()])
    );
    let (status, body) = app
        .post(
            "/api/v1/items",
            json!({"from": "x", "to": "integrationsrad", "title": ""}),
        )
        .await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["from".to_string(), "kind".into(), "title".into()])
    );
    let (status, _) = app
        .post(
            "/api/v1/items/0192f0c4-0000-7000-8000-000000000000/answer",
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn reviews_and_areas() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post("/api/v1/areas/araby/reviews", json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "feedback": "Bra spridning över strategierna."}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            "/api/v1/areas/araby/reviews",
            json!({"period_start": "2026-13-01", "period_end": ""}),
        )
        .await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["period_start".to_string(), "period_end".into()])
    );
    assert_eq!(
        app.post("/api/v1/areas/finns-inte/reviews", json!({}))
            .await
            .0,
        404
    );

    let (status, body) = app
        .post("/api/v1/areas", json!({"name": "Västra Mark"}))
        .await;
    assert_eq!((status, body["id"].as_str()), (201, Some("vastra-mark")));
    assert_eq!(
        app.post("/api/v1/areas", json!({"name": "Västra Mark"}))
            .await
            .0,
        409
    );
    assert_eq!(
        app.post("/api/v1/areas", json!({"id": "Fel Id", "name": "X"}))
            .await
            .0,
        422
    );
    let (_, areas) = app.get("/api/v1/areas").await;
    assert_eq!(
        areas.as_array().unwrap().last().unwrap(),
        &json!({"id": "vastra-mark", "name": "Västra Mark"})
    );
    assert_eq!(app.post("/api/v1/areas/vastra-mark/activities", json!({"date": "2026-05-04", "title": "Första", "strategies": ["lokala-integrationsplaner"]})).await.0, 201);
}

#[tokio::test]
async fn concurrent_changes_to_one_case_are_each_stored_or_refused_with_409() {
    let app = TestApp::spawn().await;
    let case = open_case(&app).await;
    let url = format!("/api/v1/cases/{case}/notes");
    let requests = (0..10).map(|i| app.post(&url, json!({"text": format!("Anteckning {i}")})));
    let answers = futures_util::future::join_all(requests).await;
    let stored = answers.iter().filter(|(status, _)| *status == 201).count();
    let refused = answers.iter().filter(|(status, _)| *status == 409).count();
    assert_eq!(stored + refused, 10, "{answers:?}");
    assert!(stored >= 1);
    let notes = app
        .stream(&format!("case-{case}"))
        .await
        .into_iter()
        .filter(|e| e.event_type == "CaseNoteAdded")
        .count();
    assert_eq!(
        notes, stored,
        "every 201 is a stored note and every 409 wrote nothing"
    );
}

#[tokio::test]
async fn concurrent_notes_on_one_case_are_all_kept_without_a_conflict() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let case = open_case(&app).await;
    let mut writers = Vec::new();
    for n in 0..8 {
        let (app, case) = (app.clone(), case.clone());
        writers.push(tokio::spawn(async move {
            app.post(
                &format!("/api/v1/cases/{case}/notes"),
                json!({"text": format!("Anteckning {n}")}),
            )
            .await
            .0
        }));
    }
    for writer in writers {
        assert_eq!(
            writer.await.unwrap(),
            201,
            "a note is decided again on the newer case"
        );
    }
    let stream = app.stream(&format!("case-{case}")).await;
    let notes = stream
        .iter()
        .filter(|e| e.event_type == "CaseNoteAdded")
        .count();
    assert_eq!(notes, 8);
    let versions: Vec<i64> = stream.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
}
