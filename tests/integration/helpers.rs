//! What the integration tests share: a running Insats on a fresh database.

use insats::database::scratch::ScratchDatabase;
use insats::event_log::{EventStore, NewEvent};
use insats::startup::Application;
use serde_json::json;
use std::time::Duration;

/// An Insats server on a free port, with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Kept alive for the test's duration.
    _db: ScratchDatabase,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let db = ScratchDatabase::create(10).await.expect("a test database");
        let app = Application::build("127.0.0.1:0".parse().unwrap(), db.pool.clone())
            .await
            .expect("the application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until(std::future::pending()));
        let test_app = TestApp {
            address,
            client: reqwest::Client::new(),
            _db: db,
        };
        test_app.wait_until_healthy().await;
        test_app
    }

    pub async fn get_healthz(&self) -> reqwest::Response {
        self.client
            .get(format!("{}/healthz", self.address))
            .send()
            .await
            .expect("the server answers")
    }

    async fn wait_until_healthy(&self) {
        for _ in 0..200 {
            if self.get_healthz().await.status().is_success() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the test server did not become healthy");
    }
}

/// A fresh event store on a fresh database.
pub async fn store(pool_size: u32) -> (EventStore, ScratchDatabase) {
    let db = ScratchDatabase::create(pool_size)
        .await
        .expect("a test database");
    (EventStore::new(db.pool.clone()), db)
}

/// An activity as an area team would log it, about 400 bytes of JSON.
pub fn activity(area: &str, title: &str) -> NewEvent {
    NewEvent::new(
        "ActivityLogged",
        json!({
            "area": area,
            "date": "2026-05-04",
            "title": title,
            "description": "Språkcafé med samhällsinformation på lätt svenska, i samverkan med civilsamhället.",
            "strategies": ["matchningsmetodik", "sprakutvecklande-insatser"],
            "partners": ["Civilsamhället", "Arbetsförmedlingen"],
            "participants": 14,
            "follow_up": false
        }),
    )
    .with_metadata(json!({
        "actor": "0192f0c4-1111-7000-8000-000000000001",
        "role": "omradesteam",
        "area": area,
        "correlation_id": "0192f0c4-2222-7000-8000-000000000002",
    }))
    .with_tags([
        format!("area:{area}"),
        "strategy:matchningsmetodik".to_string(),
        "strategy:sprakutvecklande-insatser".to_string(),
    ])
}
