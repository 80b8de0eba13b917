//! The newcomer's path: `insats` with no DATABASE_URL runs its own PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::InsatsProcess;

/// `insats <args>` with its data folder at `data_dir` and no `DATABASE_URL`.
fn start(data_dir: &Path, args: &[&str]) -> InsatsProcess {
    InsatsProcess::start(args, &[("INSATS_DATA_DIR", data_dir.as_os_str())])
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

    let mut server = start(&data_dir, &["serve"]);
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
    let mut again = start(&data_dir, &[]);
    again.wait_until_healthy().await;
    assert!(again.terminate().success());

    std::fs::remove_dir_all(&data_dir).unwrap();
}
