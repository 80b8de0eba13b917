//! What the integration tests share: a running Insats on a fresh database.

use insats::accounts::{Accounts, NewUser};
use insats::app::{CommandContext, Services};
use insats::database::scratch::ScratchDatabase;
use insats::domain::actor::Actor;
use insats::event_log::{EventStore, NewEvent, RecordedEvent};
use insats::startup::Application;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

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
        Self::spawn_with(insats::web::Settings::default()).await
    }

    /// A test app with other web settings (trusted proxies, session limits, HTTPS …).
    pub async fn spawn_with(settings: insats::web::Settings) -> TestApp {
        Self::spawn_on(10, settings).await
    }

    /// A test app whose pool holds `pool_size` connections.
    pub async fn spawn_on(pool_size: u32, settings: insats::web::Settings) -> TestApp {
        let db = ScratchDatabase::create(pool_size)
            .await
            .expect("a test database");
        let address = serve_with(db.pool.clone(), settings).await;
        let (store, accounts) = services(&db.pool);
        let token = account(&accounts, &email_for("samordnare"), "samordnare", &[], &[])
            .await
            .1;
        TestApp {
            address,
            client: client(),
            store,
            db,
            accounts,
            token,
        }
    }

    /// A new account with `role` (and areas or processes), and an API token for it.
    pub async fn user(
        &self,
        role: &str,
        areas: &[&str],
        processes: &[&str],
    ) -> (insats::accounts::User, String) {
        account(&self.accounts, &email_for(role), role, areas, processes).await
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
}

/// A client that follows no redirects, as the tests want to see them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts an Insats in this process on `pool`, at a free port, and returns its address
/// once `/healthz` answers 200.
pub async fn serve(pool: sqlx::PgPool) -> String {
    serve_with(pool, insats::web::Settings::default()).await
}

/// Like [`serve`], with other web settings.
pub async fn serve_with(pool: sqlx::PgPool, settings: insats::web::Settings) -> String {
    let app = Application::build_with("127.0.0.1:0".parse().unwrap(), pool, keyring(), settings)
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    wait_until_healthy(&address, || None).await;
    address
}

/// Waits, for at most 90 s, until `address/healthz` answers 200, and returns its answer.
/// `gone` tells why the server will never answer (it exited), if so.
pub async fn wait_until_healthy(address: &str, mut gone: impl FnMut() -> Option<String>) -> Value {
    let client = client();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(response) = client.get(format!("{address}/healthz")).send().await
            && response.status() == 200
        {
            return response.json().await.unwrap_or(Value::Null);
        }
        if let Some(why) = gone() {
            panic!("Insats at {address} will not answer: {why}");
        }
        assert!(
            Instant::now() < deadline,
            "Insats at {address} did not answer /healthz in time"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The event store and the accounts on `pool`, as an Insats instance has them.
pub fn services(pool: &sqlx::PgPool) -> (EventStore, Accounts) {
    let store = EventStore::new(pool.clone());
    let accounts = Accounts::new(pool.clone(), Services::new(store.clone(), keyring()));
    (store, accounts)
}

/// A fresh e-mail address for a test account with `role`.
fn email_for(role: &str) -> String {
    format!("{role}-{}@test.local", uuid::Uuid::new_v4().simple())
}

/// A new account `email` with `role` (and areas or processes) and the test password, and
/// an API token for it.
pub async fn account(
    accounts: &Accounts,
    email: &str,
    role: &str,
    areas: &[&str],
    processes: &[&str],
) -> (insats::accounts::User, String) {
    let operator = CommandContext::new(Actor::system());
    let user = accounts
        .add_user(
            &operator,
            NewUser {
                email: email.to_owned(),
                name: format!("Test {role}"),
                role: role.to_owned(),
                areas: areas.iter().map(|a| a.to_string()).collect(),
                processes: processes.iter().map(|p| p.to_string()).collect(),
                password: PASSWORD.to_owned(),
            },
        )
        .await
        .expect("a test account");
    let (_, token) = accounts
        .create_token(&operator, email, "test")
        .await
        .expect("a token");
    (user, token)
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
pub fn insats(app: &TestApp) -> Services {
    Services::new(app.store.clone(), keyring())
}

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

/// Writes about `events` events of demo history (`insats::demo`) in `areas` (id, name),
/// ending on `today`.
pub async fn demo_history(
    services: &Services,
    areas: &[(&str, &str)],
    events: u64,
    seed: u64,
    today: time::Date,
) {
    let areas: Vec<(String, String)> = areas
        .iter()
        .map(|(id, name)| (id.to_string(), name.to_string()))
        .collect();
    insats::demo::write(services, &areas, events, seed, today, |_| {})
        .await
        .unwrap();
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

/// Every projection rebuilt from the log into fresh tables and swapped in: their snapshot.
/// Rebuilt 3 000 events at a time, so that a history of some thousand events is rebuilt in
/// several rounds, and the timeline's chunks (1 500 events each) are written two at once.
pub async fn rebuilt(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    for projection in insats::projections::ALL {
        insats::projections::rebuild::rebuild_in_chunks_of(pool, projection, 3_000, |_, _| {})
            .await
            .unwrap();
    }
    snapshot(pool).await
}

/// How many events each projection has applied, by name.
pub async fn events_applied(pool: &sqlx::PgPool) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT name, events_applied FROM projection_checkpoints ORDER BY name")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// `insats` in a process of its own on a free port, its log in a file of its own; killed
/// if it still runs when this value is dropped.
pub struct InsatsProcess {
    child: std::process::Child,
    pub address: String,
    log: std::path::PathBuf,
}

impl InsatsProcess {
    /// Runs `insats <args> --addr 127.0.0.1:<free port>` with `env` added to the
    /// environment, without the test's own `DATABASE_URL`.
    pub fn start(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> InsatsProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!(
            "insats-process-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_insats"))
            .args(args)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("insats starts");
        InsatsProcess {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// `insats serve` on the database at `url` with the tests' key-encryption key, once it
    /// answers `/healthz` with 200.
    pub async fn serve(url: &str) -> InsatsProcess {
        let key_file = key_file();
        let mut process = Self::start(
            &["serve"],
            &[
                ("DATABASE_URL", url.as_ref()),
                ("INSATS_MASTER_KEY_FILE", key_file.as_os_str()),
                ("INSATS_DB_POOL_SIZE", "8".as_ref()),
            ],
        );
        process.wait_until_healthy().await;
        process
    }

    /// Waits until `/healthz` answers 200, and returns its answer.
    pub async fn wait_until_healthy(&mut self) -> Value {
        let Self {
            child,
            address,
            log,
        } = self;
        wait_until_healthy(address, || {
            let status = child.try_wait().unwrap()?;
            Some(format!("it exited ({status}); its log: {}", tail(log)))
        })
        .await
    }

    /// The process's resident memory now and at its peak, in KiB (from /proc).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and its exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: sending SIGTERM to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }

    /// `kill -9`: the process ends at once, whatever it was doing.
    pub fn kill_9(&mut self) -> std::process::ExitStatus {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap()
    }
}

impl Drop for InsatsProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The last lines of a log file.
fn tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
