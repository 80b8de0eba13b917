use insats::database;
use insats::startup::Application;
use serde_json::{Value, json};
use std::str::FromStr;

use crate::helpers::TestApp;

#[tokio::test]
async fn healthz_answers_200_when_the_database_answers() {
    let app = TestApp::spawn().await;
    let response = app.get_healthz().await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (&body["status"], &body["database"]),
        (&json!("ok"), &json!("ok"))
    );
    // Once the projections have started, /healthz reports their lag.
    crate::helpers::caught_up(&app.db.pool).await;
    let body: Value = app.get_healthz().await.json().await.unwrap();
    assert_eq!(body["projections"]["timeline"]["lag_events"], 0, "{body}");
}

#[tokio::test]
async fn healthz_answers_503_when_the_database_is_unreachable() {
    // Nothing listens on port 1.
    let options =
        sqlx::postgres::PgConnectOptions::from_str("postgres://insats@127.0.0.1:1/insats").unwrap();
    let app = Application::build(
        "127.0.0.1:0".parse().unwrap(),
        database::pool(options, 2),
        crate::helpers::keyring(),
    )
    .await
    .unwrap();
    let address = format!("http://127.0.0.1:{}/healthz", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    let response = reqwest::get(address).await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "unavailable", "database": "unreachable"})
    );
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test]
async fn metrics_count_requests_per_route_pattern_and_report_the_log_and_projections() {
    let app = TestApp::spawn().await;
    crate::helpers::caught_up(&app.db.pool).await;
    for _ in 0..3 {
        assert_eq!(app.get_healthz().await.status(), 200);
    }
    let (status, _) = app.get("/api/v1/areas/araby/timeline").await;
    assert_eq!(status, 200);
    let (status, _) = app.get("/api/v1/areas/finns-inte/timeline").await;
    assert_eq!(status, 404);

    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let metrics = response.text().await.unwrap();
    let healthz = r#"insats_http_request_duration_seconds_count{method="GET",route="/healthz"}"#;
    assert!(sample(&metrics, healthz).unwrap() >= 3.0, "{metrics}");
    // Routes are labelled by their pattern, never by the address with its ids.
    let timeline = r#"route="/api/v1/areas/{area}/timeline""#;
    assert_eq!(
        sample(
            &metrics,
            &format!("insats_http_responses_total{{method=\"GET\",{timeline},status=\"200\"}}")
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("insats_http_responses_total{{method=\"GET\",{timeline},status=\"404\"}}")
        ),
        Some(1.0)
    );
    assert!(!metrics.contains("finns-inte") && !metrics.contains("/areas/araby"));
    // Buckets are cumulative and end with every request.
    let buckets: Vec<f64> = metrics
        .lines()
        .filter(|l| {
            l.starts_with(
                r#"insats_http_request_duration_seconds_bucket{method="GET",route="/healthz""#,
            )
        })
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
        .collect();
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1])
            && buckets.last() == sample(&metrics, healthz).as_ref()
    );

    let head = sample(&metrics, "insats_log_head_position").unwrap();
    assert_eq!(
        head as i64,
        app.store.count_events().await.unwrap(),
        "every event so far"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"insats_projection_lag_events{projection="timeline"}"#
        ),
        Some(0.0)
    );
    assert_eq!(sample(&metrics, "insats_database_up"), Some(1.0));
    let max = sample(&metrics, "insats_db_pool_max_connections").unwrap();
    let in_use = sample(&metrics, r#"insats_db_pool_connections{state="in_use"}"#).unwrap();
    assert!(max >= 1.0 && in_use <= max);
}
