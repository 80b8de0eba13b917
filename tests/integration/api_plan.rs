//! The plan as data: the bundled import, re-imports, revisions, and the plan API.

use insats::app::CommandContext;
use insats::domain::actor::Actor;
use insats::domain::plan::document::BUNDLED;
use serde_json::{Value, json};
use std::process::Command;

use crate::helpers::{TestApp, error_fields};

const PROCESSES: [&str; 6] = [
    "Främja en fungerande arbetsmarknad och växande näringsliv",
    "Utbilda för livslångt lärande",
    "Utveckla och förvalta en växande stad, tätorter och landsbygd",
    "Möjliggöra en aktiv fritid",
    "Ge goda möjligheter för insyn, delaktighet och påverkan för stärkt demokrati",
    "Lednings- och stödprocesser för ökad måluppfyllelse",
];

fn strategies_of(process: &Value) -> Vec<Value> {
    process["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|challenge| challenge["focus_areas"].as_array().unwrap().iter())
        .flat_map(|focus| focus["strategies"].as_array().unwrap().iter().cloned())
        .collect()
}

#[tokio::test]
async fn the_plan_api_returns_the_six_processes_with_every_strategy_of_the_seed() {
    let app = TestApp::spawn().await;
    let (status, plan) = app.get("/api/v1/plan").await;
    assert_eq!(status, 200);
    let processes = plan["processes"].as_array().unwrap();
    let titles: Vec<&str> = processes
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, PROCESSES);
    let all: Vec<Value> = processes.iter().flat_map(strategies_of).collect();
    assert_eq!(all.len(), 32);
    let matchning = all.iter().find(|s| s["id"] == "matchningsmetodik").unwrap();
    assert_eq!(matchning["title"], "Matchningsmetodik");
    let partner_names: Vec<&str> = matchning["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        partner_names,
        [
            "Växjölöftets styrgrupp",
            "Arbetsförmedlingen",
            "Företagsorganisationer",
            "branschorganisationer"
        ]
    );
    assert_eq!(plan["goals"].as_array().unwrap().len(), 3);
    assert_eq!(plan["key_indicators"].as_array().unwrap().len(), 8);
    assert_eq!(plan["values"].as_array().unwrap().len(), 4);
    assert_eq!(plan["principles"].as_array().unwrap().len(), 8);
    assert_eq!(plan["definitions"].as_array().unwrap().len(), 3);
    assert_eq!(plan["organisation"].as_array().unwrap().len(), 4);
    let areas: Vec<&str> = plan["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(areas, ["Araby", "Teleborg", "Lammhult", "Braås"]);
    let challenges: Vec<&str> = plan["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert!(
        challenges.contains(&"Brist på nätverk")
            && challenges.contains(&"Strukturell diskriminering")
    );
    assert!(
        plan["budget_quote"]["text"]
            .as_str()
            .unwrap()
            .starts_with("”Etableringen har sämst resultat")
    );
}

#[tokio::test]
async fn importing_the_bundled_plan_again_leaves_the_log_unchanged() {
    let app = TestApp::spawn().await;
    let before = app.store.count_events().await.unwrap();
    assert!(
        before > 100,
        "the first start imported the plan ({before} events)"
    );
    let insats = crate::helpers::insats(&app);
    let outcome = insats
        .import_plan(&CommandContext::new(Actor::system()), BUNDLED)
        .await
        .unwrap();
    assert_eq!((outcome.plan_events, outcome.areas_added), (0, 0));
    assert_eq!(app.store.count_events().await.unwrap(), before);
    let plan_stream = app.stream("plan").await;
    assert_eq!(plan_stream.first().unwrap().event_type, "PlanAdopted");
    assert_eq!(plan_stream.last().unwrap().event_type, "PlanImported");
    let strategy_events = plan_stream
        .iter()
        .filter(|e| e.event_type == "StrategyDefined")
        .count();
    assert_eq!(strategy_events, 32);
    let defined = plan_stream
        .iter()
        .find(|e| e.data["id"] == "matchningsmetodik")
        .unwrap();
    assert_eq!(
        defined.tags,
        [
            "plan",
            "strategy:matchningsmetodik",
            "process:arbetsmarknad-och-naringsliv"
        ]
    );
}

#[tokio::test]
async fn a_revised_plan_file_appends_only_its_differences_through_the_cli() {
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("insats-plan-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let revised_path = dir.join("revised.toml");
    let revised = BUNDLED
        .replace("title = \"Matchningsmetodik\"", "title = \"Matchningsmetodik för alla\"")
        .replace("[[areas]]\nid = \"braas\"\nname = \"Braås\"", "[[areas]]\nid = \"braas\"\nname = \"Braås\"\n\n[[areas]]\nid = \"vastra-mark\"\nname = \"Västra Mark\"");
    assert_ne!(revised, BUNDLED);
    std::fs::write(&revised_path, &revised).unwrap();
    let import = |path: &std::path::Path| {
        let output = Command::new(env!("CARGO_BIN_EXE_insats"))
            .args(["plan", "import"])
            .arg(path)
            .env("DATABASE_URL", app.db.url())
            .env("INSATS_MASTER_KEY_FILE", crate::helpers::key_file())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let before = app.store.count_events().await.unwrap();
    let first = import(&revised_path);
    assert!(
        first.contains("2 plan events (0 defined, 1 revised, 0 retired), 1 areas added"),
        "{first}"
    );
    let second = import(&revised_path);
    assert!(
        second.contains("matches the log: nothing appended"),
        "{second}"
    );
    assert_eq!(app.store.count_events().await.unwrap(), before + 3);
    let reworded = app
        .stream("plan")
        .await
        .into_iter()
        .find(|e| e.event_type == "StrategyReworded")
        .unwrap();
    assert_eq!(
        reworded.data["previous"],
        json!({"title": "Matchningsmetodik"})
    );
    assert_eq!(reworded.data["title"], "Matchningsmetodik för alla");
    let (_, areas) = app.get("/api/v1/areas").await;
    assert_eq!(areas.as_array().unwrap().len(), 5);

    std::fs::write(&revised_path, "schema = 1\nid = \"x\"").unwrap();
    let broken = Command::new(env!("CARGO_BIN_EXE_insats"))
        .args(["plan", "import"])
        .arg(&revised_path)
        .env("DATABASE_URL", app.db.url())
        .env("INSATS_MASTER_KEY_FILE", crate::helpers::key_file())
        .output()
        .unwrap();
    assert!(!broken.status.success());
    assert!(String::from_utf8_lossy(&broken.stderr).contains("the plan file is not valid"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn one_strategy_with_its_links_and_process_owner() {
    let app = TestApp::spawn().await;
    let (status, strategy) = app.get("/api/v1/strategies/matchningsmetodik").await;
    assert_eq!(status, 200);
    assert_eq!(strategy["process"]["id"], "arbetsmarknad-och-naringsliv");
    assert_eq!(strategy["focus_area"]["title"], "Matchning");
    assert_eq!(strategy["process_owner"], Value::Null);

    let (status, _) = app
        .post(
            "/api/v1/processes/arbetsmarknad-och-naringsliv/owner",
            json!({"name": "Karin Ek"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, strategy) = app.get("/api/v1/strategies/matchningsmetodik").await;
    assert_eq!(strategy["process_owner"], "Karin Ek");
    let (status, body) = app
        .post(
            "/api/v1/processes/arbetsmarknad-och-naringsliv/owner",
            json!({"name": "Karin Ek"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    let (status, body) = app.get("/api/v1/strategies/finns-inte").await;
    assert_eq!(
        (status, body["errors"][0]["message"].as_str()),
        (404, Some("Strategin finns inte i planen."))
    );
    let (status, _) = app
        .post("/api/v1/processes/finns-inte/owner", json!({"name": "X"}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn status_reports_and_decisions_are_recorded_and_refused_when_invalid() {
    let app = TestApp::spawn().await;
    let report = json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "status": "risk", "comment": "Få företagsbesök"});
    let (status, created) = app
        .post(
            "/api/v1/strategies/matchningsmetodik/status-reports",
            report,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let events = app.stream("strategy-matchningsmetodik").await;
    assert_eq!(events[0].event_type, "StrategyStatusReported");
    assert_eq!(events[0].data["status"], "risk");
    assert_eq!(events[0].position, created["position"].as_i64().unwrap());
    assert!(
        events[0]
            .tags
            .contains(&"process:arbetsmarknad-och-naringsliv".to_string())
    );

    let (status, body) = app
        .post("/api/v1/strategies/matchningsmetodik/status-reports", json!({"period_start": "2026-05-01", "period_end": "2026-04-30", "status": "avvikelse"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["period_end"]);
    let (status, body) = app
        .post("/api/v1/strategies/matchningsmetodik/status-reports", json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "status": "avvikelse"}))
        .await;
    assert_eq!(
        (status, error_fields(&body)),
        (422, vec!["comment".to_string()])
    );
    let (status, _) = app
        .post(
            "/api/v1/strategies/matchningsmetodik/status-reports",
            json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "status": "bra"}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .post("/api/v1/strategies/finns-inte/status-reports", json!({"period_start": "2026-01-01", "period_end": "2026-04-30", "status": "risk", "comment": "x"}))
        .await;
    assert_eq!(status, 404);

    let (status, _) = app
        .post("/api/v1/processes/aktiv-fritid/decisions", json!({"title": "Föreningsbidrag", "text": "Beviljat", "strategy": "stodja-civilsamhallet", "decided_on": "2026-03-01"}))
        .await;
    assert_eq!(status, 201);
    let (status, body) = app
        .post(
            "/api/v1/processes/aktiv-fritid/decisions",
            json!({"title": "", "decided_on": "1999-01-01", "strategy": "finns-inte"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["title", "decided_on", "strategy"]);
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let app = TestApp::spawn().await;
    let (status, document) = app.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/v1/plan",
        "/api/v1/areas",
        "/api/v1/strategies/{id}",
        "/api/v1/areas/{area}/activities",
        "/api/v1/areas/{area}/cases",
        "/api/v1/cases/{id}/notes",
        "/api/v1/cases/{id}/escalate",
        "/api/v1/strategies/{id}/status-reports",
        "/api/v1/items",
        "/api/v1/items/{id}/answer",
        "/api/v1/items/{id}/close",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} is missing from the OpenAPI document"
        );
    }
}
