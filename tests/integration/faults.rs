//! Faults: the database going away under a running Insats, and coming back.
//!
//! Insats reaches its database through a TCP proxy in the test that can cut every
//! connection and refuse new ones, and later let them through again: a database server
//! that crashed and restarted, as the application sees it, without touching the test
//! server that other tests share. `instances` kills and runs Insats processes;
//! `point_in_time` backs a database up and restores it to a point in time.

mod instances;
mod point_in_time;
mod retries;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::helpers::{PASSWORD, account, client, env_number, serve, services};
use crate::visitor::Visitor;

/// A proxy in front of the database that can be cut off.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(options: &sqlx::postgres::PgConnectOptions) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (socket, host, upstream_port) = (
            options.get_socket().map(|s| s.to_path_buf()),
            options.get_host().to_owned(),
            options.get_port(),
        );
        let (up_in_loop, connections_in_loop) = (up.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up_in_loop.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let socket = socket.clone();
                let host = host.clone();
                let task = tokio::spawn(async move {
                    match &socket {
                        Some(path) => {
                            let path = if path.is_dir() {
                                path.join(format!(".s.PGSQL.{upstream_port}"))
                            } else {
                                path.clone()
                            };
                            if let Ok(mut server) = tokio::net::UnixStream::connect(path).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
                        None => {
                            if let Ok(mut server) =
                                TcpStream::connect((host.as_str(), upstream_port)).await
                            {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
                    }
                });
                connections_in_loop.lock().await.push(task);
            }
        });
        Proxy {
            port,
            up,
            connections,
        }
    }

    /// Every open connection is cut and new ones are refused.
    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.connections.lock().await.drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn status(client: &reqwest::Client, url: &str) -> u16 {
    client.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn with_the_database_gone_pages_and_api_answer_503_and_service_resumes_by_itself() {
    let db = insats::database::scratch::ScratchDatabase::create(4)
        .await
        .unwrap();
    let proxy = Proxy::start(&db.connect_options()).await;
    let through_proxy = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(proxy.port)
        .username(db.connect_options().get_username())
        .database(db.connect_options().get_database().unwrap());
    let address = serve(insats::database::pool(through_proxy, 4)).await;
    let client = client();
    // An area team member with a session and a token.
    let (store, accounts) = services(&db.pool);
    let (_, token) = account(
        &accounts,
        "anna@insats.local",
        "omradesteam",
        &["araby"],
        &[],
    )
    .await;
    let mut visitor = Visitor::at_address(&client, &address);
    assert_eq!(
        visitor.log_in("anna@insats.local", PASSWORD).await.status,
        303
    );
    assert_eq!(visitor.get("/omraden/araby").await.status, 200);
    let api = |path: &str| {
        client
            .get(format!("{address}{path}"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(
        api("/api/v1/areas/araby/timeline").await.unwrap().status(),
        200
    );

    proxy.cut().await;
    let health = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["database"], "unreachable");
    let answer = api("/api/v1/areas/araby/timeline").await.unwrap();
    assert_eq!(answer.status(), 503);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Databasen svarar inte"),
        "{body}"
    );
    let page = visitor.get("/omraden/araby").await;
    assert_eq!(page.status, 503);
    assert!(
        page.text("main").contains("Försök igen om en stund"),
        "{}",
        page.body
    );
    let write = client
        .post(format!("{address}/api/v1/areas/araby/activities"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"date": "2026-05-04", "title": "Under avbrottet", "strategies": ["matchningsmetodik"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        write.status(),
        503,
        "a write that cannot be saved is not acknowledged"
    );

    // The database is back: Services reconnects without a restart.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(&client, &format!("{address}/healthz")).await != 200 {
        assert!(
            Instant::now() < deadline,
            "Insats did not reconnect by itself"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        visitor.get("/omraden/araby").await.status,
        200,
        "the session survived"
    );
    let write = client
        .post(format!("{address}/api/v1/areas/araby/activities"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"date": "2026-05-04", "title": "Efter avbrottet", "strategies": ["matchningsmetodik"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 201);
    // Nothing from the outage was written; the log is whole.
    let titles: Vec<String> = sqlx::query_scalar(
        "SELECT data->>'title' FROM events WHERE event_type = 'ActivityLogged' ORDER BY position",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(titles, vec!["Efter avbrottet".to_owned()]);
    assert!(store.verify_all(|_| {}).await.unwrap().is_verified());
}

/// The postmaster's pid, from the first line of its pid file.
fn postmaster_pid(cluster: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(cluster.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Starts the cluster again after a crash, retrying while the dead server's backends are
/// still on their way out.
async fn restart(data_dir: &std::path::Path) -> insats::database::managed::ManagedPostgres {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let dir = data_dir.to_path_buf();
        match tokio::task::spawn_blocking(move || {
            insats::database::managed::ManagedPostgres::start(&dir)
        })
        .await
        .unwrap()
        {
            Ok(cluster) => return cluster,
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "PostgreSQL did not come back: {error:#}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

#[tokio::test]
async fn kill_9_of_postgres_under_write_load_loses_no_acknowledged_write() {
    use sqlx::Connection;
    let rounds = env_number("INSATS_FAULT_ROUNDS", 3);
    let data_dir =
        std::env::temp_dir().join(format!("insats-crash-{}", uuid::Uuid::new_v4().simple()));
    let mut cluster = restart(&data_dir).await;
    let mut admin =
        sqlx::PgConnection::connect_with(&cluster.connect_options().database("postgres"))
            .await
            .unwrap();
    sqlx::query("CREATE DATABASE insats")
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let options = cluster.connect_options().database("insats");
    let pool = insats::database::pool(options.clone(), 4);
    let address = serve(insats::database::pool(options, 12)).await;
    let client = client();
    let (store, accounts) = services(&pool);
    let (_, token) = account(
        &accounts,
        "team@insats.local",
        "omradesteam",
        &["araby", "braas"],
        &[],
    )
    .await;

    // Eight writers through the API, for as long as the rounds last.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (client, address, token, stop) =
            (client.clone(), address.clone(), token.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let (mut acknowledged, mut refused) = (Vec::new(), 0u32);
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let area = if writer % 2 == 0 { "araby" } else { "braas" };
                let sent = client
                    .post(format!("{address}/api/v1/areas/{area}/activities"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"date": "2026-05-04", "title": format!("Skrivare {writer} nr {n}"), "strategies": ["matchningsmetodik"]}))
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 201 => {
                        let body: serde_json::Value = response.json().await.unwrap();
                        acknowledged.push(body["id"].as_str().unwrap().to_owned());
                    }
                    Ok(response) => {
                        assert!(
                            response.status() == 503 || response.status() == 409,
                            "a write during a crash answers 503 (or 409), not {}",
                            response.status()
                        );
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(_) => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            (acknowledged, refused)
        }));
    }
    for round in 0..rounds {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let pid = postmaster_pid(cluster.cluster_dir()).expect("the server runs");
        let killed = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success(), "round {round}: kill -9 {pid}");
        // Until the dead postmaster is gone for good (reaped), `pg_ctl status` still sees it.
        let gone = Instant::now() + Duration::from_secs(20);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(
                Instant::now() < gone,
                "round {round}: the killed postmaster lingers"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The old handle would stop the new server when dropped: it is the same cluster.
        std::mem::replace(&mut cluster, restart(&data_dir).await).keep_running();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let (mut acknowledged, mut refused) = (Vec::new(), 0);
    for writer in writers {
        let (ids, count) = writer.await.unwrap();
        acknowledged.extend(ids);
        refused += count;
    }
    assert!(
        acknowledged.len() > 50,
        "the writers got through between the crashes"
    );
    // A write sent while the server was down is refused (503) or waits for a connection
    // until the restarted server takes it; on a busy machine the restarts can be quick
    // enough that every write waited. Either is right; what must hold is below: every
    // acknowledged write is in the log.
    eprintln!("{refused} writes were refused during the crashes");

    // Every acknowledged write is in the log; Insats reconnected without a restart.
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(&client, &format!("{address}/healthz")).await != 200 {
        assert!(
            Instant::now() < deadline,
            "Insats did not reconnect by itself"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stored: std::collections::HashSet<String> = sqlx::query_scalar(
        "SELECT data->>'activity_id' FROM events WHERE event_type = 'ActivityLogged'",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // The projections catch up by themselves and applied every event once.
    crate::helpers::caught_up(&pool).await;
    let on_timelines: i64 =
        sqlx::query_scalar("SELECT count(*) FROM timeline_entries WHERE kind = 'insats'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        on_timelines as usize,
        stored.len(),
        "each activity once on its area's timeline"
    );
    // And the chains verify.
    assert!(store.verify_log(|_| {}).await.unwrap().is_verified());
    pool.close().await;
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap();
    std::fs::remove_dir_all(&data_dir).ok();
}
