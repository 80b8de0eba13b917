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

    /// File holding the key-encryption key (64 hex digits) that wraps the keys of personal
    /// data. Without it, the managed local setup uses (and creates) master.key in the data
    /// folder; with DATABASE_URL it is required.
    #[arg(long, env = "INSATS_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,

    /// Years after a case is closed that its free text is erased by
    /// `insats privacy retention` (no rule when unset).
    #[arg(long, env = "INSATS_RETENTION_CASE_YEARS", global = true)]
    pub retention_case_years: Option<u32>,

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

    /// Where people reach Insats, e.g. https://insats.vaxjo.se. With https, browsers are
    /// told to use nothing else (Strict-Transport-Security).
    #[arg(long, env = "INSATS_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// The load balancers or proxies in front of Insats (addresses or networks, comma
    /// separated, e.g. 10.0.0.5,10.1.0.0/16). Only requests from these may name the
    /// client's address in X-Forwarded-For or Forwarded.
    #[arg(
        long,
        env = "INSATS_TRUSTED_PROXIES",
        global = true,
        default_value = ""
    )]
    pub trusted_proxies: String,

    /// Minutes without a request after which a session ends.
    #[arg(
        long,
        env = "INSATS_SESSION_IDLE_MINUTES",
        global = true,
        default_value_t = 30
    )]
    pub session_idle_minutes: u64,

    /// Hours after signing in at which a session ends, however active.
    #[arg(
        long,
        env = "INSATS_SESSION_MAX_HOURS",
        global = true,
        default_value_t = 12
    )]
    pub session_max_hours: u64,

    /// The municipality whose key indicators Insats follows (Kolada's code; 0780 is Växjö).
    #[arg(
        long,
        env = "INSATS_MUNICIPALITY",
        default_value = "0780",
        global = true
    )]
    pub municipality: String,

    /// The units the municipality is compared with (Kolada's codes, comma separated; 0000
    /// is the whole country).
    #[arg(
        long,
        env = "INSATS_COMPARISON_UNITS",
        default_value = "0000",
        global = true
    )]
    pub comparison_units: String,

    /// Kolada's API (version 3).
    #[arg(
        long,
        env = "INSATS_KOLADA_URL",
        default_value = crate::kolada::DEFAULT_URL,
        global = true
    )]
    pub kolada_url: String,

    /// Seconds one request to Kolada may take.
    #[arg(
        long,
        env = "INSATS_KOLADA_TIMEOUT_SECONDS",
        default_value_t = 30,
        global = true
    )]
    pub kolada_timeout_seconds: u64,

    /// Tries of one request to Kolada before a fetch fails.
    #[arg(
        long,
        env = "INSATS_KOLADA_ATTEMPTS",
        default_value_t = 4,
        global = true
    )]
    pub kolada_attempts: u32,

    /// Milliseconds before the second try of a request to Kolada (doubling after).
    #[arg(
        long,
        env = "INSATS_KOLADA_BACKOFF_MS",
        default_value_t = 500,
        global = true
    )]
    pub kolada_backoff_ms: u64,

    /// Let the server fetch the Kolada indicators once a day (one instance at a time).
    #[arg(
        long,
        env = "INSATS_INDICATORS_FETCH_DAILY",
        default_value_t = false,
        global = true
    )]
    pub indicators_fetch_daily: bool,

    /// The mail server for reminders, e.g. smtp://user:secret@mail.example:587?tls=required
    /// (STARTTLS), smtps://user:secret@mail.example (TLS), or smtp://127.0.0.1:2525 (plain,
    /// a local server). Without it, reminders are only in the app.
    #[arg(long, env = "INSATS_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of reminder mails, e.g. "Insats <insats@vaxjo.se>" (required with
    /// INSATS_SMTP_URL).
    #[arg(long, env = "INSATS_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,

    /// Connections in the database pool of this instance.
    #[arg(long, env = "INSATS_DB_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The municipality and its comparison units.
    pub fn units(&self) -> anyhow::Result<crate::app::Units> {
        let code = |code: &str| {
            let code = code.trim();
            anyhow::ensure!(
                code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()),
                "{code:?} is not a municipality code (four digits, e.g. 0780)"
            );
            Ok(code.to_owned())
        };
        Ok(crate::app::Units {
            municipality: code(&self.municipality)?,
            comparison: self
                .comparison_units
                .split(',')
                .filter(|c| !c.trim().is_empty())
                .map(code)
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// How Insats sends mail, when an SMTP server is configured.
    pub fn mail(&self) -> anyhow::Result<Option<crate::notifications::MailSettings>> {
        let Some(url) = self
            .smtp_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
        else {
            return Ok(None);
        };
        let from = self
            .mail_from
            .as_deref()
            .filter(|from| !from.trim().is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "INSATS_MAIL_FROM is required with INSATS_SMTP_URL (e.g. \"Insats <insats@vaxjo.se>\")"
                )
            })?;
        Ok(Some(crate::notifications::MailSettings {
            url: url.trim().to_owned(),
            from: from.trim().to_owned(),
        }))
    }

    /// How Insats talks to Kolada.
    pub fn kolada(&self) -> crate::kolada::Settings {
        crate::kolada::Settings {
            base_url: self.kolada_url.trim_end_matches('/').to_owned(),
            timeout: std::time::Duration::from_secs(self.kolada_timeout_seconds.max(1)),
            attempts: self.kolada_attempts.max(1),
            backoff: std::time::Duration::from_millis(self.kolada_backoff_ms),
        }
    }
}
