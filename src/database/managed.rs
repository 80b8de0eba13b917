//! The managed local PostgreSQL: what a newcomer gets when `DATABASE_URL` is not set.
//!
//! Insats keeps its own cluster under `$INSATS_DATA_DIR/postgres`, made with the server
//! programs installed on the machine (`initdb`, `pg_ctl`). The cluster listens on a Unix
//! socket inside that folder and on no TCP port, so it never collides with another server.
//! It is created on first start, started on demand and stopped by the Insats process that
//! started it. `initdb` refuses to run as root, so when Insats runs as root the cluster runs
//! as the `postgres` system user.

use anyhow::{Context, bail};
use sqlx::postgres::PgConnectOptions;
use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The cluster's superuser and database.
pub const MANAGED_USER: &str = "insats";
pub const MANAGED_DATABASE: &str = "insats";

/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 107;
const SOCKET_FILE: &str = ".s.PGSQL.5432";

/// A running managed cluster. Stops the server on drop if this process started it.
#[derive(Debug)]
pub struct ManagedPostgres {
    cluster_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<SystemUser>,
    started_here: bool,
}

#[derive(Debug, Clone, Copy)]
struct SystemUser {
    uid: u32,
    gid: u32,
}

impl ManagedPostgres {
    /// Creates the cluster under `data_dir/postgres` if needed and starts it if it is not
    /// running. Blocking: call it from a blocking thread.
    pub fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let bin_dir = find_server_binaries()?;
        fs::create_dir_all(data_dir)
            .with_context(|| format!("Failed to create the data folder {}", data_dir.display()))?;
        let data_dir = data_dir
            .canonicalize()
            .with_context(|| format!("Failed to resolve the data folder {}", data_dir.display()))?;
        let cluster_dir = data_dir.join("postgres");
        let socket = cluster_dir.join(SOCKET_FILE);
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "The data folder path is too long for PostgreSQL's socket ({}): set INSATS_DATA_DIR to a shorter path.",
                socket.display()
            );
        }
        let run_as = cluster_user()?;
        if let Some(user) = run_as {
            check_reachable_by(&data_dir, user)?;
        }

        // One Insats process at a time creates or starts the cluster.
        let _lock = lock_file(&data_dir.join("postgres.lock"))?;
        let mut cluster = Self {
            cluster_dir,
            bin_dir,
            run_as,
            started_here: false,
        };
        if !cluster.cluster_dir.join("PG_VERSION").exists() {
            cluster.init(&data_dir)?;
        }
        if !cluster.is_running()? {
            cluster.start_server()?;
            cluster.started_here = true;
        }
        Ok(cluster)
    }

    /// Connection options for the cluster's socket, as the cluster's superuser.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.cluster_dir)
            .username(MANAGED_USER)
            .database(MANAGED_DATABASE)
    }

    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    /// Leaves the server running after this value is gone (for the test cluster, which
    /// the next test process reuses).
    pub fn keep_running(mut self) {
        self.started_here = false;
    }

    /// Stops the server if this process started it. Blocking.
    pub fn stop(&mut self) {
        if !self.started_here {
            return;
        }
        self.started_here = false;
        let dir = self.cluster_dir.to_string_lossy().into_owned();
        match self.run_tool("pg_ctl", &["stop", "-D", &dir, "-m", "fast", "-w", "-s"]) {
            Ok(output) if output.status.success() => {
                tracing::info!("stopped the managed PostgreSQL")
            }
            Ok(output) => tracing::warn!(
                stderr = %String::from_utf8_lossy(&output.stderr).trim(),
                "could not stop the managed PostgreSQL"
            ),
            Err(error) => tracing::warn!(%error, "could not stop the managed PostgreSQL"),
        }
    }

    fn init(&self, data_dir: &Path) -> anyhow::Result<()> {
        tracing::info!(dir = %self.cluster_dir.display(), "creating the managed PostgreSQL cluster");
        // Initialise beside the final place and rename, so an interrupted initdb never
        // leaves a half-made cluster that looks finished.
        let staging = data_dir.join("postgres.initdb");
        if staging.exists() {
            fs::remove_dir_all(&staging).context("Failed to remove an interrupted initdb")?;
        }
        fs::create_dir(&staging).context("Failed to create the cluster folder")?;
        fs::set_permissions(&staging, fs::Permissions::from_mode(0o700))?;
        if let Some(user) = self.run_as {
            std::os::unix::fs::chown(&staging, Some(user.uid), Some(user.gid))
                .context("Failed to give the cluster folder to the postgres user")?;
        }
        let staging_text = staging.to_string_lossy().into_owned();
        let output = self.run_tool(
            "initdb",
            &[
                "-D",
                &staging_text,
                "--username",
                MANAGED_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            ],
        )?;
        if !output.status.success() {
            bail!(
                "initdb failed to create the managed PostgreSQL cluster: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        // Only a socket inside the cluster folder (mode 0700), no TCP.
        let settings = format!(
            "\n# Managed by Insats: a Unix socket inside this folder, no TCP port.\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\n\
             max_connections = 200\n\
             shared_buffers = 128MB\n",
            self.cluster_dir.display().to_string().replace('\'', "''")
        );
        let conf = staging.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf).context("Failed to read postgresql.conf")?;
        text.push_str(&settings);
        fs::write(&conf, text).context("Failed to write postgresql.conf")?;
        fs::rename(&staging, &self.cluster_dir)
            .context("Failed to move the new cluster in place")?;
        Ok(())
    }

    fn is_running(&self) -> anyhow::Result<bool> {
        let dir = self.cluster_dir.to_string_lossy().into_owned();
        let output = self.run_tool("pg_ctl", &["status", "-D", &dir])?;
        // pg_ctl status: 0 running, 3 not running, 4 no data directory.
        Ok(output.status.success())
    }

    fn start_server(&self) -> anyhow::Result<()> {
        let dir = self.cluster_dir.to_string_lossy().into_owned();
        let log = self
            .cluster_dir
            .join("server.log")
            .to_string_lossy()
            .into_owned();
        tracing::info!(dir = %dir, "starting the managed PostgreSQL");
        let output = self.run_tool(
            "pg_ctl",
            &["start", "-D", &dir, "-l", &log, "-w", "-t", "60", "-s"],
        )?;
        if !output.status.success() {
            let tail = fs::read_to_string(&log)
                .map(|text| text.lines().rev().take(5).collect::<Vec<_>>().join(" | "))
                .unwrap_or_default();
            bail!(
                "The managed PostgreSQL did not start ({}); its log {} ends with: {tail}",
                String::from_utf8_lossy(&output.stderr).trim(),
                log
            );
        }
        Ok(())
    }

    fn run_tool(&self, tool: &str, args: &[&str]) -> anyhow::Result<Output> {
        let mut command = Command::new(self.bin_dir.join(tool));
        command
            .args(args)
            .env("LC_ALL", "C")
            // Its own process group: a Ctrl-C in the terminal reaches Insats, which then
            // stops the server cleanly, instead of killing the server under it.
            .process_group(0);
        if let Some(user) = self.run_as {
            command
                .uid(user.uid)
                .gid(user.gid)
                .current_dir(self.cluster_dir.parent().unwrap_or(Path::new("/")));
        }
        command
            .output()
            .with_context(|| format!("Failed to run {tool}"))
    }
}

impl Drop for ManagedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The folder holding `initdb` and `pg_ctl`: from PATH, else the newest under
/// `/usr/lib/postgresql/*/bin`.
pub fn find_server_binaries() -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    find_server_binaries_in(&on_path, Path::new("/usr/lib/postgresql"))
}

fn find_server_binaries_in(path: &[PathBuf], versions_root: &Path) -> anyhow::Result<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = path.iter().find(|dir| has_tools(dir)) {
        return Ok(dir.clone());
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(versions_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "PostgreSQL's server programs (initdb, pg_ctl) were not found: install the PostgreSQL server (for example `apt install postgresql`) or set DATABASE_URL to a running PostgreSQL."
        ),
    }
}

/// The system user the cluster runs as: none (ourselves) unless we are root.
fn cluster_user() -> anyhow::Result<Option<SystemUser>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = c"postgres";
    // SAFETY: getpwnam reads a NUL-terminated name and returns a pointer to static data
    // (or null), which is copied out at once; start-up is single-threaded here.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        bail!(
            "Insats runs as root and PostgreSQL refuses to run as root, but there is no `postgres` system user to run it as: create one (`useradd --system postgres`), run Insats as an ordinary user, or set DATABASE_URL."
        );
    }
    // SAFETY: entry is non-null and points to a valid passwd record.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some(SystemUser { uid, gid }))
}

/// The `postgres` user must be able to reach the data folder through every parent.
fn check_reachable_by(data_dir: &Path, user: SystemUser) -> anyhow::Result<()> {
    for dir in data_dir.ancestors().skip(1) {
        let meta = fs::metadata(dir)?;
        let mode = meta.mode();
        let reachable = mode & 0o001 != 0
            || (meta.uid() == user.uid && mode & 0o100 != 0)
            || (meta.gid() == user.gid && mode & 0o010 != 0);
        if !reachable {
            bail!(
                "The managed PostgreSQL runs as the `postgres` system user, which cannot enter {}: set INSATS_DATA_DIR to a folder it can reach (for example under /var/lib/insats) or set DATABASE_URL.",
                dir.display()
            );
        }
    }
    Ok(())
}

/// An exclusive lock on `path`, held until the returned file is dropped.
fn lock_file(path: &Path) -> anyhow::Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("Failed to open {}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; it is released when the file closes.
    let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
    if locked != 0 {
        bail!("Failed to lock {}", path.display());
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_install(root: &Path, version: &str) -> PathBuf {
        let bin = root.join(version).join("bin");
        fs::create_dir_all(&bin).unwrap();
        for tool in ["initdb", "pg_ctl"] {
            fs::write(bin.join(tool), "").unwrap();
        }
        bin
    }

    #[test]
    fn without_server_programs_the_error_says_what_to_install() {
        let empty = std::env::temp_dir().join(format!("insats-no-pg-{}", uuid::Uuid::new_v4()));
        let error = find_server_binaries_in(std::slice::from_ref(&empty), &empty).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("install the PostgreSQL server"),
            "{message}"
        );
        assert!(message.contains("DATABASE_URL"), "{message}");
        assert_eq!(message.matches(". ").count(), 0, "one sentence: {message}");
    }

    #[test]
    fn the_newest_installed_version_is_chosen_when_path_has_none() {
        let root = std::env::temp_dir().join(format!("insats-pg-{}", uuid::Uuid::new_v4()));
        fake_install(&root, "9");
        let newest = fake_install(&root, "15");
        fake_install(&root, "13");
        assert_eq!(find_server_binaries_in(&[], &root).unwrap(), newest);
        let on_path = fake_install(&root, "path");
        assert_eq!(
            find_server_binaries_in(std::slice::from_ref(&on_path), &root).unwrap(),
            on_path
        );
        fs::remove_dir_all(root).unwrap();
    }
}
