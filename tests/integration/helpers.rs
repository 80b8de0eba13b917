//! What the integration tests share: a running Insats on a fresh database.

use insats::accounts::{Accounts, NewUser};
use insats::app::{CommandContext, Insats};
use insats::database::scratch::ScratchDatabase;
use insats::domain::actor::Actor;
use insats::event_log::{EventStore, NewEvent, RecordedEvent};
use insats::startup::Application;
use serde_json::{Value, json};
use std::time::Duration;

/// An Insats server on a free port, with its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: EventStore,
    pub db: ScratchDatabase,
    pub accounts: Accounts,
    /// The coordinator's API token, used by `get` and `post`.
    pub token: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let db = ScratchDatabase::create(10).await.expect("a test database");
        let app = Application::build("127.0.0.1:0".parse().unwrap(), db.pool.clone(), keyring())
            .await
            .expect("the application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until(std::future::pending()));
        let store = EventStore::new(db.pool.clone());
        let accounts = Accounts::new(db.pool.clone(), Insats::new(store.clone(), keyring()));
        let mut test_app = TestApp {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            store,
            db,
            accounts,
            token: String::new(),
        };
        test_app.wait_until_healthy().await;
        test_app.token = test_app.user("samordnare", &[], &[]).await.1;
        test_app
    }

    /// A new account with `role` (and areas or processes), and an API token for it.
    pub async fn user(
        &self,
        role: &str,
        areas: &[&str],
        processes: &[&str],
    ) -> (insats::accounts::User, String) {
        let email = format!("{role}-{}@test.local", uuid::Uuid::new_v4().simple());
        let operator = CommandContext::new(Actor::system());
        let user = self
            .accounts
            .add_user(
                &operator,
                NewUser {
                    email: email.clone(),
                    name: format!("Test {role}"),
                    role: role.to_owned(),
                    areas: areas.iter().map(|a| a.to_string()).collect(),
                    processes: processes.iter().map(|p| p.to_string()).collect(),
                    password: PASSWORD.to_owned(),
                },
            )
            .await
            .expect("a test account");
        let (_, token) = self
            .accounts
            .create_token(&operator, &email, "test")
            .await
            .expect("a token");
        (user, token)
    }

    /// POSTs JSON with a token (or none) and returns the status and the JSON answer.
    pub async fn post_as(&self, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.expect("the server answers")).await
    }

    pub async fn get_as(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.expect("the server answers")).await
    }

    pub async fn get_healthz(&self) -> reqwest::Response {
        self.client
            .get(format!("{}/healthz", self.address))
            .send()
            .await
            .expect("the server answers")
    }

    /// POSTs JSON and returns the status and the JSON answer (Null when there is none).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_as(Some(&self.token.clone()), path, body).await
    }

    /// POSTs raw bytes with a content type.
    pub async fn post_raw(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(&self.token)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        answer(request.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(Some(&self.token.clone()), path).await
    }

    /// The events of a stream with their sealed text opened, as the services read them.
    pub async fn opened_stream(&self, stream: &str) -> Vec<RecordedEvent> {
        let mut events = self.stream(stream).await;
        insats(self)
            .privacy()
            .open_all(events.iter_mut().map(|event| &mut event.data))
            .await
            .unwrap();
        events
    }

    /// The events of a stream, as stored.
    pub async fn stream(&self, stream: &str) -> Vec<RecordedEvent> {
        self.store.read_stream(stream, None).await.unwrap()
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

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The field names of a 4xx answer's errors.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| error["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A fresh event store on a fresh database.
pub async fn store(pool_size: u32) -> (EventStore, ScratchDatabase) {
    let db = ScratchDatabase::create(pool_size)
        .await
        .expect("a test database");
    (EventStore::new(db.pool.clone()), db)
}

/// The tests' key-encryption key.
pub fn keyring() -> insats::privacy::Keyring {
    insats::privacy::Keyring::from_bytes([0x42; 32])
}

/// A file holding the tests' key-encryption key, for `insats` child processes.
pub fn key_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join("insats-test-master.key");
    if !path.exists() {
        let temporary = path.with_extension(format!("{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&temporary, hex::encode([0x42u8; 32])).unwrap();
        let _ = std::fs::rename(&temporary, &path);
    }
    path
}

/// Application services on the test app's database.
pub fn insats(app: &TestApp) -> Insats {
    Insats::new(app.store.clone(), keyring())
}

/// Every test account's password.
pub const PASSWORD: &str = "ett långt testlösenord";

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

/// Waits until every projection has applied everything in the log now.
pub async fn caught_up(pool: &sqlx::PgPool) {
    let last: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM events ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .unwrap();
    let Some((transaction_id, position)) = last else {
        return;
    };
    let names: Vec<&str> = insats::projections::ALL.iter().map(|p| p.name).collect();
    let done = insats::projections::wait_for(
        pool,
        &names,
        insats::event_log::Cursor::new(transaction_id, position),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(done, "the projections did not catch up in time");
}

/// Every projection table's rows, as sorted JSON lines: equal snapshots are equal tables.
pub async fn snapshot(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    let mut tables = Vec::new();
    for projection in insats::projections::ALL {
        for table in projection.tables {
            let rows: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT string_agg(row_to_json(t)::text, E'\\n' ORDER BY row_to_json(t)::text) FROM {} t",
                table.name
            )))
            .fetch_one(pool)
            .await
            .unwrap();
            tables.push((table.name.to_owned(), rows.unwrap_or_default()));
        }
    }
    tables
}
