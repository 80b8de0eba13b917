//! The key indicators: `insats indicators fetch` against a local HTTP server that answers
//! as Kolada's API (version 3) does, `insats indicators import` of a saved answer, figures
//! entered through the API and the form, and the pages that show them.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::Command;

use crate::helpers::{TestApp, key_file};
use crate::visitor::Visitor;

/// The plan's one Kolada indicator.
const KPI: &str = "U15461";
const INDICATOR: &str = "gymnasiebehorighet-avvikelse";

/// One row of Kolada's answer: the unit, the year, and the figures for everyone, women, men.
type Row = (&'static str, i32, [Option<f64>; 3]);

/// How the local Kolada answers.
#[derive(Clone)]
struct Behaviour {
    /// The pages of the data answer, each a list of (unit, year, [T, K, M]).
    pages: Vec<Vec<Row>>,
    /// Answer 500 to this many data requests first.
    failures: usize,
    /// Wait this long before answering a data request.
    delay: Duration,
    /// Answer this instead of JSON on the last page.
    broken_last_page: bool,
    /// Know no KPI.
    no_kpis: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            pages: vec![
                vec![
                    ("0780", 2023, [Some(1.5), Some(2.0), Some(1.0)]),
                    ("0780", 2024, [Some(-0.5), None, Some(-1.0)]),
                ],
                vec![
                    ("0000", 2023, [Some(0.0), None, None]),
                    ("0000", 2024, [Some(0.25), None, None]),
                ],
            ],
            failures: 0,
            delay: Duration::ZERO,
            broken_last_page: false,
            no_kpis: false,
        }
    }
}

#[derive(Clone)]
struct Kolada {
    behaviour: Arc<Mutex<Behaviour>>,
    /// Data requests answered (including failures).
    requests: Arc<Mutex<usize>>,
    address: Arc<Mutex<String>>,
}

impl Kolada {
    async fn start(behaviour: Behaviour) -> Kolada {
        let kolada = Kolada {
            behaviour: Arc::new(Mutex::new(behaviour)),
            requests: Arc::new(Mutex::new(0)),
            address: Arc::new(Mutex::new(String::new())),
        };
        let router = Router::new()
            .route("/v3/kpi/{ids}", get(kpis))
            .route(
                "/v3/data/kpi/{kpis}/municipality/{units}/year/{years}",
                get(first_page),
            )
            .route("/v3/page/{n}", get(page))
            .with_state(kolada.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *kolada.address.lock().unwrap() = format!("http://{}/v3", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        kolada
    }

    fn url(&self) -> String {
        self.address.lock().unwrap().clone()
    }

    fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.behaviour.lock().unwrap());
    }

    fn requests(&self) -> usize {
        *self.requests.lock().unwrap()
    }
}

async fn kpis(State(kolada): State<Kolada>, Path(ids): Path<String>) -> Response {
    let known = !kolada.behaviour.lock().unwrap().no_kpis;
    let values: Vec<Value> = ids
        .split(',')
        .filter(|_| known)
        .map(|id| json!({"id": id, "title": "Elever i åk 9 som är behöriga till yrkesprogram, avvikelse från modellberäknat värde, kommunala skolor", "is_divided_by_gender": true}))
        .collect();
    axum::Json(json!({"count": values.len(), "values": values})).into_response()
}

async fn first_page(State(kolada): State<Kolada>) -> Response {
    answer(kolada, 1).await
}

async fn page(State(kolada): State<Kolada>, Path(n): Path<usize>) -> Response {
    answer(kolada, n).await
}

/// Page `n` (from 1) in Kolada's format, with `next_url` to the next.
async fn answer(kolada: Kolada, n: usize) -> Response {
    let behaviour = kolada.behaviour.lock().unwrap().clone();
    let request = {
        let mut requests = kolada.requests.lock().unwrap();
        *requests += 1;
        *requests
    };
    tokio::time::sleep(behaviour.delay).await;
    if request <= behaviour.failures {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
    }
    let last = behaviour.pages.len().max(1);
    if behaviour.broken_last_page && n == last {
        return (StatusCode::OK, "{\"values\": [{\"kpi\": ").into_response();
    }
    let rows: Vec<Value> = behaviour
        .pages
        .get(n - 1)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|(unit, year, values)| {
            let cells: Vec<Value> = ["T", "K", "M"]
                .iter()
                .zip(values)
                .map(|(gender, value)| {
                    json!({"gender": gender, "count": 1, "status": "", "value": value, "isdeleted": false})
                })
                .collect();
            json!({"kpi": KPI, "municipality": unit, "period": year, "values": cells})
        })
        .collect();
    let next = (n < last).then(|| format!("{}/page/{}", kolada.url(), n + 1));
    axum::Json(json!({
        "values": rows,
        "count": rows.len(),
        "next_url": next,
        "previous_url": null
    }))
    .into_response()
}

/// Runs `insats` with `args` against the app's database and the local Kolada; its exit code
/// and what it printed (out and err).
/// (The local Kolada runs on this test's runtime, so the CLI is awaited, not waited for.)
async fn insats(app: &TestApp, kolada_url: &str, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_insats"))
        .args(args)
        .env("DATABASE_URL", app.db.url())
        .env("INSATS_MASTER_KEY_FILE", key_file())
        .env("INSATS_KOLADA_URL", kolada_url)
        .env("INSATS_KOLADA_TIMEOUT_SECONDS", "1")
        .env("INSATS_KOLADA_ATTEMPTS", "3")
        .env("INSATS_KOLADA_BACKOFF_MS", "10")
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("the CLI runs");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The indicator events in the log, by type.
async fn appended(app: &TestApp) -> (i64, i64) {
    let count = |event_type: &'static str| {
        let pool = app.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE event_type = $1")
                .bind(event_type)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    (
        count("IndicatorValueRecorded").await,
        count("IndicatorValueRevised").await,
    )
}

async fn fetch(app: &TestApp, kolada: &Kolada) -> (i32, String) {
    insats(
        app,
        &kolada.url(),
        &["indicators", "fetch", "--years", "2023..2024"],
    )
    .await
}

#[tokio::test]
async fn a_fetch_over_several_pages_records_each_figure_once_and_a_changed_one_as_a_revision() {
    let app = TestApp::spawn().await;
    let kolada = Kolada::start(Behaviour::default()).await;
    let (code, out) = fetch(&app, &kolada).await;
    assert_eq!(code, 0, "{out}");
    // Page 1: 3 + 2 figures with a value; page 2: 2.
    assert_eq!(appended(&app).await, (7, 0), "{out}");
    assert!(out.contains("7 recorded"), "{out}");

    let (code, out) = fetch(&app, &kolada).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        appended(&app).await,
        (7, 0),
        "fetching again appends nothing"
    );

    kolada.set(|b| b.pages[0][1].2[0] = Some(-0.75));
    let (code, out) = fetch(&app, &kolada).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        appended(&app).await,
        (7, 1),
        "one figure changed at the source"
    );

    crate::helpers::caught_up(&app.db.pool).await;
    let (status, view) = app.get(&format!("/api/v1/indicators/{INDICATOR}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["kpi"], KPI);
    assert_eq!(view["latest"]["year"], 2024);
    assert_eq!(view["latest"]["value"], -0.75);
    assert_eq!(
        view["trend"], "worse",
        "from 1.5 to -0.75, and higher is better"
    );
    let revised = view["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["unit"] == "0780" && f["year"] == 2024 && f["gender"] == "T")
        .unwrap();
    assert_eq!(revised["previous"], -0.5, "the earlier figure is kept");
    assert_eq!(revised["revisions"], 1);
}

#[tokio::test]
async fn a_server_error_is_tried_again_and_the_fetch_succeeds() {
    let app = TestApp::spawn().await;
    let kolada = Kolada::start(Behaviour {
        failures: 2,
        ..Behaviour::default()
    })
    .await;
    let (code, out) = fetch(&app, &kolada).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(appended(&app).await, (7, 0));
    assert_eq!(kolada.requests(), 4, "two failures, then the two pages");
}

#[tokio::test]
async fn a_fetch_that_fails_anywhere_appends_nothing_and_says_why() {
    let app = TestApp::spawn().await;
    for (behaviour, said) in [
        (
            Behaviour {
                delay: Duration::from_millis(1500),
                ..Behaviour::default()
            },
            "could not be reached",
        ),
        (
            Behaviour {
                failures: 10,
                ..Behaviour::default()
            },
            "500",
        ),
        (
            Behaviour {
                broken_last_page: true,
                ..Behaviour::default()
            },
            "not the JSON Kolada sends",
        ),
        (
            Behaviour {
                no_kpis: true,
                ..Behaviour::default()
            },
            "Kolada knows no KPI U15461",
        ),
    ] {
        let kolada = Kolada::start(behaviour).await;
        let (code, out) = fetch(&app, &kolada).await;
        assert_ne!(code, 0, "{said}: {out}");
        assert!(out.contains(said), "expected {said:?} in: {out}");
        assert!(out.contains("Nothing was recorded"), "{out}");
        assert_eq!(appended(&app).await, (0, 0), "{said}: nothing appended");
    }
    // No network at all: nothing listens there.
    let (code, out) = insats(
        &app,
        "http://127.0.0.1:9/v3",
        &["indicators", "fetch", "--years", "2024"],
    )
    .await;
    assert_ne!(code, 0, "{out}");
    assert_eq!(appended(&app).await, (0, 0));
}

#[tokio::test]
async fn an_empty_answer_records_nothing_and_succeeds() {
    let app = TestApp::spawn().await;
    let kolada = Kolada::start(Behaviour {
        pages: vec![vec![]],
        ..Behaviour::default()
    })
    .await;
    let (code, out) = fetch(&app, &kolada).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Read 0 figures"), "{out}");
    assert_eq!(appended(&app).await, (0, 0));
}

#[tokio::test]
async fn a_saved_answer_imports_and_the_pages_draw_it() {
    let app = TestApp::spawn().await;
    let saved = std::env::temp_dir().join(format!("kolada-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(
        &saved,
        json!({"values": [
            {"kpi": KPI, "municipality": "0780", "period": 2022, "values": [{"gender": "T", "count": 1, "status": "", "value": 2.5, "isdeleted": false}]},
            {"kpi": KPI, "municipality": "0780", "period": 2023, "values": [{"gender": "T", "count": 1, "status": "", "value": 3.25, "isdeleted": false}]},
            {"kpi": KPI, "municipality": "0000", "period": 2023, "values": [{"gender": "T", "count": 1, "status": "", "value": 0.5, "isdeleted": false}]}
        ], "count": 3, "next_url": null, "previous_url": null})
        .to_string(),
    )
    .unwrap();
    let (code, out) = insats(
        &app,
        "http://127.0.0.1:9/v3",
        &["indicators", "import", saved.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(appended(&app).await, (3, 0));
    std::fs::write(&saved, "{\"values\": ").unwrap();
    let (code, out) = insats(
        &app,
        "http://127.0.0.1:9/v3",
        &["indicators", "import", saved.to_str().unwrap()],
    )
    .await;
    assert_ne!(code, 0, "a broken file is refused: {out}");
    assert_eq!(appended(&app).await, (3, 0));
    let _ = std::fs::remove_file(&saved);
    crate::helpers::caught_up(&app.db.pool).await;

    let (member, _) = app.user("integrationsrad", &[], &[]).await;
    let (mut council, _) = Visitor::signed_in(&app, &member.email).await;
    let list = council.get("/planen/nyckeltal").await;
    assert_eq!(list.status, 200);
    let row = list
        .texts("tbody tr")
        .into_iter()
        .find(|row| row.contains("uppnår gymnasiebehörighet"))
        .expect("the indicator's row");
    assert!(row.contains("3,25") && row.contains("bättre"), "{row}");
    let page = council.get(&format!("/planen/nyckeltal/{INDICATOR}")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.count("svg[role=img] title"),
        1,
        "the chart has a title"
    );
    assert_eq!(page.count("svg polyline"), 2, "Växjö and the whole country");
    assert!(page.text("table").contains("3,25"));
    assert!(page.body.contains("Källa: Kolada (RKA)"));
    assert_eq!(
        page.count("form[action$='/varden']"),
        0,
        "only the coordinator enters figures"
    );
    let plan = council.get("/planen").await;
    assert!(
        plan.texts("li")
            .iter()
            .any(|li| li.contains("En mer likvärdig skola") && li.contains("3,25")),
        "the plan shows the indicator under its goal"
    );
}

#[tokio::test]
async fn the_coordinator_enters_a_figure_and_corrects_it_with_a_reason() {
    let app = TestApp::spawn().await;
    let path = "/api/v1/indicators/sfi-hogsta-kurs/values";
    let (status, body) = app
        .post(path, json!({"year": "2024", "value": "42,5"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app.post(path, json!({"year": "2024", "value": "43"})).await;
    assert_eq!(status, 422, "a correction without a reason: {body}");
    assert_eq!(body["errors"][0]["field"], "reason", "{body}");
    let (status, body) = app
        .post(
            path,
            json!({"year": "2024", "value": "43", "reason": "SCB rättade siffran"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for bad in [
        json!({"year": "1800", "value": "1"}),
        json!({"year": "2024", "value": "många"}),
        json!({"year": "2024", "value": "1", "unit": "9999"}),
        json!({"year": "2024", "value": "1", "gender": "X"}),
    ] {
        let (status, body) = app.post(path, bad.clone()).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    let (status, _) = app
        .post(
            "/api/v1/indicators/finns-inte/values",
            json!({"year": "2024", "value": "1"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(appended(&app).await, (1, 1));
    crate::helpers::caught_up(&app.db.pool).await;
    let (_, view) = app.get("/api/v1/indicators/sfi-hogsta-kurs").await;
    assert_eq!(view["figures"][0]["value"], 43.0);
    assert_eq!(view["figures"][0]["previous"], 42.5);

    // A process owner may not enter figures.
    let (_, token) = app.user("processagare", &[], &["aktiv-fritid"]).await;
    let (status, _) = app
        .post_as(Some(&token), path, json!({"year": "2023", "value": "40"}))
        .await;
    assert_eq!(status, 403);

    // The coordinator's form keeps what was typed when it is refused.
    let (coordinator, _) = app.user("samordnare", &[], &[]).await;
    let (mut visitor, _) = Visitor::signed_in(&app, &coordinator.email).await;
    let page = visitor.get("/planen/nyckeltal/sfi-hogsta-kurs").await;
    visitor.csrf = page.attr("input[name=csrf]", "value").unwrap();
    let refused = visitor
        .submit(
            "/planen/nyckeltal/sfi-hogsta-kurs/varden",
            &[("year", "2024"), ("value", "44"), ("reference", "SCB")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.attr("#value", "value").as_deref(), Some("44"));
    assert!(refused.text("#reason-fel").contains("Skriv varför"));
    let saved = visitor
        .submit(
            "/planen/nyckeltal/sfi-hogsta-kurs/varden",
            &[("year", "2023"), ("value", "39,5"), ("reference", "SCB")],
        )
        .await;
    assert_eq!(saved.status, 303);
    let shown = visitor.get(saved.location.as_deref().unwrap()).await;
    assert!(shown.text("[role=status]").contains("sparat"));
    assert!(shown.text("table").contains("39,5"));
}
