//! Backup with `pg_basebackup` and WAL archiving, and a restore to a point in time, done
//! the way docs/operations.md tells an operator to, on a cluster of the test's own.

use insats::database::managed::{MANAGED_USER, ManagedPostgres, find_server_binaries};
use insats::event_log::{EventStore, ExpectedVersion};
use sqlx::{Connection, PgPool};
use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::restart;
use crate::helpers::activity;

/// Runs `program` as the user the cluster runs as (PostgreSQL refuses to run as root, so
/// its files must not belong to root) and fails the test if it fails.
fn run_as_owner(cluster: &Path, program: impl AsRef<OsStr>, args: &[&str]) {
    let owner = std::fs::metadata(cluster).unwrap();
    let output = std::process::Command::new(&program)
        .args(args)
        .uid(owner.uid())
        .gid(owner.gid())
        .current_dir("/")
        .output()
        .unwrap_or_else(|error| panic!("{:?}: {error}", program.as_ref()));
    assert!(
        output.status.success(),
        "{:?} {args:?}: {}",
        program.as_ref(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A program of the PostgreSQL installation the managed clusters are made with: beside its
/// `initdb`, following a link to it (a folder on PATH may hold links to only some programs).
fn server_program(name: &str) -> std::path::PathBuf {
    let initdb = find_server_binaries().unwrap().join("initdb");
    initdb.canonicalize().unwrap().with_file_name(name)
}

/// A folder made for the cluster's user.
fn folder_for_owner(cluster: &Path, folder: &Path) {
    let owner = std::fs::metadata(cluster).unwrap();
    std::fs::create_dir_all(folder).unwrap();
    std::os::unix::fs::chown(folder, Some(owner.uid()), Some(owner.gid())).unwrap();
}

/// Appends `count` activities, one stream each.
async fn append(store: &EventStore, title: &str, count: usize) {
    for n in 0..count {
        let stream = format!("activity-{}", uuid::Uuid::new_v4());
        store
            .append(
                &stream,
                ExpectedVersion::NoStream,
                &[activity("araby", &format!("{title} {n}"))],
            )
            .await
            .unwrap();
    }
}

/// Every column of every event, in log order.
async fn rows(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT row_to_json(e)::text FROM events e ORDER BY position")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn count_titled(pool: &PgPool, prefix: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE data->>'title' LIKE $1 || '%'")
        .bind(prefix)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Stops a cluster and waits until it is down.
async fn stop(mut cluster: ManagedPostgres) {
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap();
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

#[tokio::test]
async fn a_restore_to_a_named_point_has_the_log_up_to_that_point_and_it_verifies() {
    let root = std::env::temp_dir().join(format!("insats-pitr-{}", uuid::Uuid::new_v4().simple()));
    let (archive, base) = (root.join("wal"), root.join("base"));

    // The original cluster, archiving its WAL.
    let original = restart(&root.join("original")).await;
    let cluster = original.cluster_dir().to_path_buf();
    folder_for_owner(&cluster, &archive);
    let mut admin =
        sqlx::PgConnection::connect_with(&original.connect_options().database("postgres"))
            .await
            .unwrap();
    let archive_command = format!(
        "test ! -f {0}/%f && cp %p {0}/%f",
        archive.display().to_string().replace('\'', "''")
    );
    for setting in [
        "ALTER SYSTEM SET wal_level = 'replica'".to_owned(),
        "ALTER SYSTEM SET archive_mode = 'on'".to_owned(),
        format!("ALTER SYSTEM SET archive_command = '{archive_command}'"),
        "CREATE DATABASE insats".to_owned(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(setting))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    admin.close().await.unwrap();
    // archive_mode takes a restart.
    stop(original).await;
    let original = restart(&root.join("original")).await;
    let pool = insats::database::pool(original.connect_options().database("insats"), 4);
    let archiving: String = sqlx::query_scalar("SHOW archive_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(archiving, "on");
    insats::database::migrate(&pool).await.unwrap();
    let store = EventStore::new(pool.clone());

    // Events, the base backup, more events and a seal, the point, more events.
    append(&store, "Före säkerhetskopian", 100).await;
    folder_for_owner(&cluster, &base);
    run_as_owner(
        &cluster,
        server_program("pg_basebackup"),
        &[
            "-h",
            &cluster.to_string_lossy(),
            "-U",
            MANAGED_USER,
            "-D",
            &base.to_string_lossy(),
            "-Ft",
            "-z",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
    );
    append(&store, "Efter säkerhetskopian", 100).await;
    store.seal(50, Duration::ZERO).await.unwrap();
    let at_point = rows(&pool).await;
    sqlx::query("SELECT pg_create_restore_point('insats-test')")
        .execute(&pool)
        .await
        .unwrap();
    append(&store, "Efter punkten", 50).await;
    // The WAL holding the point is archived once its segment is complete.
    let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (archived, failed): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver")
                .fetch_one(&pool)
                .await
                .unwrap();
        if archived.as_deref() >= Some(segment.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{segment} was not archived (last archived {archived:?}, last failed {failed:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The restore: the base backup unpacked into an empty data folder, the WAL replayed
    // from the archive up to the point, then promoted.
    let restored_dir = root.join("restored");
    let data = restored_dir.join("postgres");
    folder_for_owner(&cluster, &data);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    run_as_owner(
        &cluster,
        "tar",
        &[
            "-xzf",
            &base.join("base.tar.gz").to_string_lossy(),
            "-C",
            &data.to_string_lossy(),
        ],
    );
    run_as_owner(
        &cluster,
        "tar",
        &[
            "-xzf",
            &base.join("pg_wal.tar.gz").to_string_lossy(),
            "-C",
            &data.join("pg_wal").to_string_lossy(),
        ],
    );
    // The copy's own socket, beside the original's; its lock file came along in the
    // backup and names the original's postmaster.
    for entry in std::fs::read_dir(&data).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with(".s.PGSQL.") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    let settings = format!(
        "\n# The restore to a point in time.\n\
         unix_socket_directories = {}\n\
         archive_mode = 'off'\n\
         restore_command = 'cp {}/%f %p'\n\
         recovery_target_name = 'insats-test'\n\
         recovery_target_action = 'promote'\n",
        quoted(&data),
        archive.display().to_string().replace('\'', "''"),
    );
    // After the settings made with ALTER SYSTEM in the backup, so that these win.
    let auto_conf = data.join("postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&auto_conf).unwrap();
    text.push_str(&settings);
    std::fs::write(&auto_conf, text).unwrap();
    run_as_owner(
        &cluster,
        "touch",
        &[&data.join("recovery.signal").to_string_lossy()],
    );
    let restored = restart(&restored_dir).await;
    let restored_pool = insats::database::pool(restored.connect_options().database("insats"), 2);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let recovering: Result<bool, _> = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&restored_pool)
            .await;
        if let Ok(false) = recovering {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restored cluster did not finish its recovery ({recovering:?}); its log: {}",
            std::fs::read_to_string(data.join("server.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The restored log is the original's up to the point, to the last byte, and verifies.
    assert_eq!(
        count_titled(&restored_pool, "Efter säkerhetskopian").await,
        100,
        "the archived WAL was replayed past the base backup"
    );
    assert_eq!(
        count_titled(&restored_pool, "Efter punkten").await,
        0,
        "nothing after the point"
    );
    assert_eq!(rows(&restored_pool).await, at_point);
    let verification = EventStore::new(restored_pool.clone())
        .verify_log(|_| {})
        .await
        .unwrap();
    assert!(verification.is_verified(), "{verification:?}");
    assert_eq!(verification.events_checked, at_point.len() as u64);
    assert!(
        verification.seals_checked > 0 && verification.sealed_up_to_position.is_some(),
        "the seals before the point are there: {verification:?}"
    );

    restored_pool.close().await;
    pool.close().await;
    stop(restored).await;
    stop(original).await;
    std::fs::remove_dir_all(&root).unwrap();
}
