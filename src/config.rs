//! Configuration from the environment (and the matching command-line flags).

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Settings shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// PostgreSQL to use, e.g. postgres://insats@db.example/insats. Without it, Insats runs
    /// its own PostgreSQL cluster under the data folder.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for Insats's own files, including the managed PostgreSQL cluster.
    #[arg(long, env = "INSATS_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "INSATS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Use cookies without `Secure` and the `__Host-` prefix: only for plain HTTP on a host
    /// other than localhost (browsers treat http://localhost as secure already).
    #[arg(
        long,
        env = "INSATS_INSECURE_COOKIES",
        global = true,
        default_value_t = false
    )]
    pub insecure_cookies: bool,

    /// Connections in the database pool of this instance.
    #[arg(long, env = "INSATS_DB_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
