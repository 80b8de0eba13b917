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
