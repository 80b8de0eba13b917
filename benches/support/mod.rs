//! What the benchmarks share: a scratch database holding the Växjö plan and a deterministic
//! demo history, figures from the environment, and percentiles.

#![allow(dead_code)] // each benchmark uses its own part of this module

use insats::app::Services;
use insats::database::scratch::ScratchDatabase;
use insats::demo::DemoUser;
use insats::domain::plan::Plan;
use insats::event_log::EventStore;
use std::time::Instant;

/// A scratch database with the plan and a demo history, and what wrote it.
pub struct Demo {
    pub db: ScratchDatabase,
    pub store: EventStore,
    pub services: Services,
    pub plan: std::sync::Arc<Plan>,
    pub areas: Vec<(String, String)>,
    pub users: Vec<DemoUser>,
    pub keyring: insats::privacy::Keyring,
    /// The key-encryption key behind `keyring`, for an Insats process of its own.
    pub kek: [u8; 32],
    /// Events in the log.
    pub events: u64,
}

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes about `target` demo events (seed 2018, ending today) into a fresh database with
/// `pool_size` connections, then `VACUUM ANALYZE`s the log.
///
/// With `INSATS_BENCH_KEEP_DEMO=1` the history written is kept as a database of its own
/// (`insats_demo_<events>`, its key in the temporary folder) and the next run with the same
/// setting starts from a copy of it, migrated to the current migrations, instead of writing
/// it again: for measuring one change after another. Drop that database after changing the
/// demo generator.
pub async fn demo(target: u64, pool_size: u32) -> anyhow::Result<Demo> {
    let kept = if std::env::var("INSATS_BENCH_KEEP_DEMO").is_ok_and(|v| v == "1") {
        let name = format!("insats_demo_{target}");
        let key = std::env::temp_dir().join(format!("{name}.key"));
        Some((name, key))
    } else {
        None
    };
    if let Some((name, key)) = &kept
        && key.exists()
        && ScratchDatabase::exists(name).await?
    {
        let started = Instant::now();
        let db = ScratchDatabase::copy_of(name, pool_size).await?;
        insats::database::MIGRATOR.run(&db.pool).await?;
        let kek: [u8; 32] = hex::decode(std::fs::read_to_string(key)?.trim())?
            .try_into()
            .map_err(|_| anyhow::anyhow!("{} does not hold a key", key.display()))?;
        let demo = open(db, kek).await?;
        println!(
            "{} demo events copied from {name} in {:.1} s",
            demo.events,
            started.elapsed().as_secs_f64()
        );
        return Ok(demo);
    }
    let mut db = ScratchDatabase::create(pool_size).await?;
    let kek: [u8; 32] = insats::privacy::keys::random();
    let store = EventStore::new(db.pool.clone());
    let services = Services::new(store, insats::privacy::Keyring::from_bytes(kek));
    services.import_bundled_plan_if_empty().await?;
    let areas = insats::demo::areas_of(&services).await?;
    let started = Instant::now();
    let today = time::OffsetDateTime::now_utc().date();
    let written = insats::demo::write(&services, &areas, target, 2018, today, |_| {}).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} demo events written in {seconds:.1} s ({:.0} events/s with append_bulk)",
        written.events,
        written.events as f64 / seconds
    );
    sqlx::query("VACUUM ANALYZE events")
        .execute(&db.pool)
        .await?;
    if let Some((name, key)) = &kept {
        db.keep_copy(name).await?;
        std::fs::write(key, hex::encode(kek))?;
        println!("demo history kept as {name} for the next run");
    }
    open(db, kek).await
}

/// The demo around a database holding the plan and a demo history.
async fn open(db: ScratchDatabase, kek: [u8; 32]) -> anyhow::Result<Demo> {
    let store = EventStore::new(db.pool.clone());
    let keyring = insats::privacy::Keyring::from_bytes(kek);
    let services = Services::new(store.clone(), keyring.clone());
    let plan = services.plan().await?;
    let areas = insats::demo::areas_of(&services).await?;
    let users = insats::demo::users(&plan, &areas);
    let events = store.count_events().await? as u64;
    Ok(Demo {
        db,
        store,
        services,
        plan,
        areas,
        users,
        keyring,
        kek,
        events,
    })
}

impl Demo {
    /// Rebuilds every read model from the start of the log.
    pub async fn rebuild_all(&self) -> anyhow::Result<()> {
        for projection in insats::projections::ALL {
            insats::projections::rebuild::rebuild(&self.db.pool, projection, |_, _| {}).await?;
        }
        Ok(())
    }

    /// Seals the log as a running Insats keeps it sealed (a seal every
    /// `seal::EVERY` events, the rest sealed too), so that a server started on it does not
    /// spend its first minutes sealing a million events.
    pub async fn seal(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        let sealed = self
            .store
            .seal(insats::event_log::seal::EVERY, std::time::Duration::ZERO)
            .await?;
        println!(
            "log sealed in {:.1} s: {sealed:?}",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Creates the demo user with this e-mail as an account and returns their password.
    pub async fn account(&self, email: &str) -> anyhow::Result<String> {
        let user = self
            .users
            .iter()
            .find(|u| u.email == email)
            .ok_or_else(|| anyhow::anyhow!("no demo user {email}"))?;
        let password = insats::demo::password(user);
        let accounts = insats::accounts::Accounts::new(self.db.pool.clone(), self.services.clone());
        accounts
            .ensure_user(
                user.id,
                insats::accounts::NewUser {
                    email: user.email.clone(),
                    name: user.name.clone(),
                    role: user.role.as_str().to_owned(),
                    areas: user.areas.clone(),
                    processes: user.processes.clone(),
                    password: password.clone(),
                },
            )
            .await?;
        Ok(password)
    }
}

/// The `p` quantile (0..=1) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Rounds to one decimal.
pub fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Signs in through the login form and returns the `Cookie` header of the new session.
pub async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let form = client.get(format!("{base}/logga-in")).send().await?;
    let first = set_cookies(&form);
    let page = form.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let start = page
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("the login form has no token"))?
        + marker.len();
    let token = &page[start..start + page[start..].find('"').unwrap_or(0)];
    let answer = client
        .post(format!("{base}/logga-in"))
        .header(reqwest::header::COOKIE, first.join("; "))
        .form(&[("email", email), ("password", password), ("csrf", token)])
        .send()
        .await?;
    anyhow::ensure!(
        answer.status() == 303 && answer.headers().get(reqwest::header::LOCATION).is_some(),
        "signing in as {email}: {}",
        answer.status()
    );
    Ok(set_cookies(&answer).join("; "))
}

/// The `name=value` pairs a response sets.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|line| !line.contains("Max-Age=0"))
        .filter_map(|line| line.split(';').next().map(str::to_owned))
        .collect()
}

/// Waits (at most two minutes) until `GET /healthz` answers 200.
pub async fn wait_until_ready(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let ok = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "Insats did not become ready");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
