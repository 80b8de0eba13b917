//! The newcomer's path: `insats` with no DATABASE_URL runs its own PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(data_dir: &Path, args: &[&str]) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_insats"))
            .args(args)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .env_remove("DATABASE_URL")
            .env("INSATS_DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("insats starts");
        Server {
            child,
            address: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn wait_until_healthy(&mut self) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(format!("{}/healthz", self.address)).await
                && response.status() == 200
            {
                return response.json().await.unwrap();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("insats exited early: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("insats did not answer /healthz in time");
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        // SAFETY: sending SIGTERM to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn postmaster_running(data_dir: &Path) -> bool {
    data_dir.join("postgres/postmaster.pid").exists()
}

fn temp_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!("insats-managed-{}", uuid::Uuid::new_v4().simple()))
}

#[tokio::test]
async fn without_database_url_insats_creates_starts_and_stops_its_own_postgres() {
    let data_dir = temp_data_dir();

    let mut server = Server::start(&data_dir, &["serve"]);
    let health = server.wait_until_healthy().await;
    assert_eq!(health["database"], "ok");
    assert!(
        data_dir.join("postgres/PG_VERSION").exists(),
        "the cluster lives in the data folder"
    );
    assert!(postmaster_running(&data_dir));
    let conf = std::fs::read_to_string(data_dir.join("postgres/postgresql.conf")).unwrap();
    assert!(conf.contains("listen_addresses = ''"), "no TCP port");
    assert!(server.terminate().success(), "SIGTERM is a clean shutdown");
    assert!(
        !postmaster_running(&data_dir),
        "the cluster is stopped when Insats exits"
    );

    // A second start reuses the cluster, and `insats migrate` works against it too.
    let migrate = Command::new(env!("CARGO_BIN_EXE_insats"))
        .arg("migrate")
        .env_remove("DATABASE_URL")
        .env("INSATS_DATA_DIR", &data_dir)
        .status()
        .unwrap();
    assert!(migrate.success());
    assert!(
        !postmaster_running(&data_dir),
        "migrate stops the cluster it started"
    );
    let mut again = Server::start(&data_dir, &[]);
    again.wait_until_healthy().await;
    assert!(again.terminate().success());

    std::fs::remove_dir_all(&data_dir).unwrap();
}
