//! Nothing doubled: a form sent twice (a double click, the browser's "resend") and an API
//! call retried with its Idempotency-Key each record one thing, sequentially and sixteen
//! at once, and every answer is the first one's.

use reqwest::header::COOKIE;
use scraper::{Html, Selector};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::visitor::Visitor;

/// How many events of `event_type` the log holds.
async fn count(app: &TestApp, event_type: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// A form as the page shows it: its hidden fields (the session's token and the one-time
/// submission id).
async fn form(visitor: &mut Visitor, page: &str, action: &str) -> Vec<(String, String)> {
    let shown = visitor.get(page).await;
    assert_eq!(shown.status, 200, "{page}");
    let html = Html::parse_document(&shown.body);
    let selector = Selector::parse(&format!("form[action='{action}'] input[type=hidden]")).unwrap();
    let hidden: Vec<(String, String)> = html
        .select(&selector)
        .filter_map(|input| {
            Some((
                input.value().attr("name")?.to_owned(),
                input.value().attr("value")?.to_owned(),
            ))
        })
        .collect();
    assert!(
        hidden.iter().any(|(name, _)| name == "submission"),
        "the form {action} on {page} carries a one-time submission id"
    );
    hidden
}

/// Posts `fields` (with the form's hidden fields) as the browser would, `times` times at
/// once; returns each answer's status and redirect target.
async fn send(
    app: &TestApp,
    cookies: &str,
    action: &str,
    hidden: &[(String, String)],
    fields: &[(&str, &str)],
    times: usize,
) -> Vec<(u16, Option<String>)> {
    let mut body: Vec<(String, String)> = hidden.to_vec();
    body.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let posts = (0..times).map(|_| {
        app.client
            .post(format!("{}{action}", app.address))
            .header(COOKIE, cookies)
            .form(&body)
            .send()
    });
    futures_util::future::join_all(posts)
        .await
        .into_iter()
        .map(|response| {
            let response = response.unwrap();
            (
                response.status().as_u16(),
                response
                    .headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_owned()),
            )
        })
        .collect()
}

/// Sends one form twice in a row, then a fresh one sixteen times at once, checking that
/// each records exactly one `event_type` and that every answer is the first one's.
async fn once_each(
    app: &TestApp,
    visitor: &mut Visitor,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
    event_type: &str,
) {
    let cookies = visitor.cookie_header();
    let before = count(app, event_type).await;
    let hidden = form(visitor, page, action).await;
    let first = send(app, &cookies, action, &hidden, fields, 1).await;
    assert_eq!(first[0].0, 303, "{action}: {first:?}");
    let again = send(app, &cookies, action, &hidden, fields, 1).await;
    assert_eq!(again, first, "{action}: the second answer is the first's");
    assert_eq!(
        count(app, event_type).await,
        before + 1,
        "{action}: sent twice"
    );

    let hidden = form(visitor, page, action).await;
    let answers = send(app, &cookies, action, &hidden, fields, 16).await;
    assert!(
        answers.iter().all(|answer| *answer == answers[0]) && answers[0].0 == 303,
        "{action}: sixteen at once, one answer: {answers:?}"
    );
    assert_ne!(answers[0], first[0], "another form is another thing");
    assert_eq!(
        count(app, event_type).await,
        before + 2,
        "{action}: sixteen at once"
    );
}

#[tokio::test]
async fn the_same_form_sent_twice_or_sixteen_times_at_once_records_one_thing() {
    let app = TestApp::spawn().await;
    let team = app.user("omradesteam", &["araby"], &[]).await;
    let (mut visitor, _) = Visitor::signed_in(&app, &team.0.email).await;
    once_each(
        &app,
        &mut visitor,
        "/omraden/araby/insatser/ny",
        "/omraden/araby/insatser",
        &[
            ("date", "2026-05-04"),
            ("title", "Språkcafé"),
            ("description", "Samtal på lätt svenska"),
            ("strategies", "sprakutvecklande-insatser"),
            ("participants", "12"),
        ],
        "ActivityLogged",
    )
    .await;

    let (_, case) = app
        .post_as(
            Some(&team.1),
            "/api/v1/areas/araby/cases",
            json!({"title": "Bostad", "description": "x", "strategies": ["oka-tillgangen-till-bostader"]}),
        )
        .await;
    let case_id = case["id"].as_str().unwrap();
    once_each(
        &app,
        &mut visitor,
        &format!("/arenden/{case_id}?efter={}", case["position"]),
        &format!("/arenden/{case_id}/anteckning"),
        &[("text", "Ringt hyresvärden.")],
        "CaseNoteAdded",
    )
    .await;

    let owner = app.user("processagare", &[], &["aktiv-fritid"]).await;
    let (mut owner_visitor, _) = Visitor::signed_in(&app, &owner.0.email).await;
    once_each(
        &app,
        &mut owner_visitor,
        "/processagare",
        "/processagare/strategier/aktiv-fritid/status",
        &[
            ("strategy-aktiv-fritid", "stodja-civilsamhallet"),
            ("period_start-aktiv-fritid", "2026-01-01"),
            ("period_end-aktiv-fritid", "2026-04-30"),
            ("status-aktiv-fritid", "risk"),
            ("comment-aktiv-fritid", "Få föreningar söker stöd."),
        ],
        "StrategyStatusReported",
    )
    .await;

    once_each(
        &app,
        &mut visitor,
        "/forum/nytt",
        "/forum/nytt",
        &[
            ("from", "omradesteam:araby"),
            ("to", "integrationsrad"),
            ("kind", "fraga"),
            ("title", "Lokaler för språkcafé"),
            ("text", "Kan rådet hjälpa till?"),
            ("strategy", ""),
        ],
        "ItemRaised",
    )
    .await;
}

#[tokio::test]
async fn a_form_sent_again_with_other_content_is_refused_in_swedish() {
    let app = TestApp::spawn().await;
    let team = app.user("omradesteam", &["araby"], &[]).await;
    let (mut visitor, _) = Visitor::signed_in(&app, &team.0.email).await;
    let hidden = form(
        &mut visitor,
        "/omraden/araby/insatser/ny",
        "/omraden/araby/insatser",
    )
    .await;
    let cookies = visitor.cookie_header();
    let fields = |title: &'static str| {
        vec![
            ("date", "2026-05-04"),
            ("title", title),
            ("strategies", "sprakutvecklande-insatser"),
            ("participants", "3"),
        ]
    };
    let first = send(
        &app,
        &cookies,
        "/omraden/araby/insatser",
        &hidden,
        &fields("Läxhjälp"),
        1,
    )
    .await;
    assert_eq!(first[0].0, 303);
    let mut body: Vec<(String, String)> = hidden.clone();
    body.extend(
        fields("Något annat")
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let response = app
        .client
        .post(format!("{}/omraden/araby/insatser", app.address))
        .header(COOKIE, &cookies)
        .form(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("redan skickat, med annat innehåll"),
        "the page says why"
    );
    assert_eq!(count(&app, "ActivityLogged").await, 1);
}

async fn post_with_key(app: &TestApp, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(&app.token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_api_call_retried_with_its_key_records_one_thing_and_gets_the_first_answer() {
    let app = TestApp::spawn().await;
    let activity = json!({"date": "2026-05-04", "title": "Språkcafé",
                          "strategies": ["sprakutvecklande-insatser"], "participants": 12});
    let path = "/api/v1/areas/araby/activities";
    let first = post_with_key(&app, path, "\"retry-1\"", &activity).await;
    assert_eq!(first.0, 201, "{first:?}");
    let again = post_with_key(&app, path, "retry-1", &activity).await;
    assert_eq!(
        again, first,
        "the same key, quoted or not, gets the first answer"
    );
    assert_eq!(count(&app, "ActivityLogged").await, 1);

    // Sixteen at once with a new key: one activity, one answer.
    let answers = futures_util::future::join_all(
        (0..16).map(|_| post_with_key(&app, path, "retry-2", &activity)),
    )
    .await;
    assert!(
        answers.iter().all(|a| *a == answers[0] && a.0 == 201),
        "{answers:?}"
    );
    assert_eq!(count(&app, "ActivityLogged").await, 2);

    // The same key with another body.
    let changed = json!({"date": "2026-05-04", "title": "Något annat",
                         "strategies": ["sprakutvecklande-insatser"], "participants": 12});
    let (status, body) = post_with_key(&app, path, "retry-1", &changed).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key");
    // A key that cannot be one.
    let (status, _) = post_with_key(&app, path, "två ord", &activity).await;
    assert_eq!(status, 400);
    assert_eq!(count(&app, "ActivityLogged").await, 2);
    // Without a key, every call is a new activity, as before.
    for _ in 0..2 {
        assert_eq!(app.post(path, activity.clone()).await.0, 201);
    }
    assert_eq!(count(&app, "ActivityLogged").await, 4);

    // A command over two streams is idempotent as a whole.
    let (status, case) = app
        .post(
            "/api/v1/areas/araby/cases",
            json!({"title": "Bostad", "description": "x", "strategies": ["oka-tillgangen-till-bostader"]}),
        )
        .await;
    assert_eq!(status, 201, "{status} {case}");
    let escalate = format!("/api/v1/cases/{}/escalate", case["id"].as_str().unwrap());
    let text = json!({"text": "Behöver rådets beslut"});
    let answers = futures_util::future::join_all(
        (0..8).map(|_| post_with_key(&app, &escalate, "escalate-1", &text)),
    )
    .await;
    assert!(
        answers.iter().all(|a| *a == answers[0] && a.0 == 201),
        "{answers:?}"
    );
    assert_eq!(count(&app, "CaseEscalated").await, 1);
    assert_eq!(count(&app, "ItemRaised").await, 1);
    // The API document names the header.
    let (_, openapi) = app.get("/api/openapi.json").await;
    let parameters =
        openapi["paths"]["/api/v1/areas/{area}/activities"]["post"]["parameters"].to_string();
    assert!(parameters.contains("Idempotency-Key"), "{parameters}");
}
