//! The `insats` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::accounts::{Accounts, NewUser};
use crate::app::{AppError, CommandContext, ErasureTarget, Services};
use crate::config::Config;
use crate::database::{self, Database};
use crate::domain::actor::Actor;
use crate::event_log::EventStore;
use crate::privacy::Keyring;
use crate::projections;
use crate::startup::{self, Application};

const ENVIRONMENT_HELP: &str = "\
Environment:
  DATABASE_URL        PostgreSQL to use; without it Insats runs its own cluster
                      under $INSATS_DATA_DIR/postgres (needs initdb and pg_ctl)
  INSATS_DATA_DIR     folder for Insats's own files (default ./data)
  INSATS_LOG_FORMAT   text (default) or json
  INSATS_DB_POOL_SIZE database connections of this instance (default 16)
  INSATS_PUBLIC_URL   where people reach Insats (https://… turns on HSTS)
  INSATS_TRUSTED_PROXIES  load balancers whose X-Forwarded-For is believed
  INSATS_MUNICIPALITY the municipality's code for its key indicators (default 0780)
  INSATS_COMPARISON_UNITS units it is compared with (default 0000, the country)
  INSATS_KOLADA_URL   Kolada's API (default https://api.kolada.se/v3)
  RUST_LOG            log filter, e.g. info or insats=debug,sqlx=warn";

#[derive(Debug, Parser)]
#[command(
    name = "insats",
    args_conflicts_with_subcommands = true,
    version,
    about = "Insats: the follow-up system for Växjö kommunkoncern's integration plan",
    after_help = ENVIRONMENT_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,

    /// `serve`'s options, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web pages and the API (the default).
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// The integration plan.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// The read models built from the log.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for machine clients.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Personal data: erasure, retention, keys.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// The auditor's checks: verify the log or one strategy's history, seal the log,
    /// check an export without a database.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The key indicators' figures: fetch them from Kolada, or import a saved answer.
    #[command(subcommand)]
    Indicators(IndicatorsCommand),
    /// Reminders by e-mail: whether mail is on and what the outbox holds, or one run of
    /// deciding and sending now.
    #[command(subcommand)]
    Notifications(NotificationsCommand),
    /// The follow-up report for a period, compiled from the log as it stands: as PDF
    /// and, if asked, the CSV of its figures.
    Report {
        /// The period, e.g. 2026-tertial-2, 2026-kvartal-3, 2026-halvar-1 or 2026-helar.
        period: String,
        /// Where to write the PDF.
        #[arg(long, default_value = "uppfoljningsrapport.pdf")]
        pdf: PathBuf,
        /// Where to write the CSV of the report's figures.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Append a realistic, deterministic demo history (into a log without activities).
    Demo {
        /// About how many events to write.
        #[arg(long, default_value_t = 20_000)]
        events: u64,
        /// The seed: the same seed and size give the same history.
        #[arg(long, default_value_t = 2018)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Erase the personal data of a case, an activity, an item or an accessibility report: its key is destroyed
    /// and an erasure event records who, when, under which decision and why.
    Erase {
        #[arg(long, conflicts_with_all = ["activity", "item", "feedback"])]
        case: Option<uuid::Uuid>,
        #[arg(long, conflicts_with_all = ["item", "feedback"])]
        activity: Option<uuid::Uuid>,
        #[arg(long, conflicts_with = "feedback")]
        item: Option<uuid::Uuid>,
        /// An accessibility report from the accessibility statement's form.
        #[arg(long)]
        feedback: Option<uuid::Uuid>,
        /// The decision that allows it (gallringsbeslut), e.g. "KS 2026-03-01 § 12".
        #[arg(long)]
        decision: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Apply the retention rule (INSATS_RETENTION_CASE_YEARS, or --years): list with
    /// --dry-run what would be erased, erase with --apply.
    Retention {
        #[arg(long, conflicts_with = "apply", required_unless_present = "apply")]
        dry_run: bool,
        #[arg(long)]
        apply: bool,
        #[arg(long)]
        years: Option<u32>,
    },
    /// Write a new key-encryption key to FILE (which must not exist).
    NewKey { file: PathBuf },
    /// Re-wrap every data key with the key in NEW_KEY_FILE (stop Insats first), then
    /// point INSATS_MASTER_KEY_FILE at it.
    RotateKey { new_key_file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from a prompt, or from standard input
    /// when it is not a terminal.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// omradesteam, processagare, integrationsrad, integrationsberedning, samordnare or revisor.
        #[arg(long)]
        role: String,
        /// An area the user works in (area teams); repeat for more.
        #[arg(long = "area")]
        areas: Vec<String>,
        /// A process the user owns (process owners); repeat for more.
        #[arg(long = "process")]
        processes: Vec<String>,
    },
    /// List the accounts.
    List,
    /// Disable an account: its sessions end and its tokens stop working.
    Disable { email: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for an account; it is printed once.
    Create {
        email: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke an API token by its id.
    Revoke { id: uuid::Uuid },
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Per projection: position, lag in events and seconds, and why it waits.
    Status,
    /// Rebuild from position zero into fresh tables and swap them in, while the old ones
    /// keep serving. Without NAME, every projection.
    Rebuild {
        /// timeline, cases, council_flow or strategy_overview.
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify every stream's hash chain and every seal, with a progress bar; or, with
    /// --strategy, that strategy's history. Exit code 0 when verified, 1 when not.
    Verify {
        /// A strategy id, e.g. matchningsmetodik.
        #[arg(long)]
        strategy: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Seal the log now, as far as every transaction has ended (Insats also seals by
    /// itself while it runs).
    Seal,
    /// Check a follow-up report's PDF against the log: is it an issued report, and does
    /// compiling it again from the log as of the place it names give the same bytes? Exit
    /// code 0 when it does, 1 when not.
    VerifyReport { file: PathBuf },
    /// Check an export of a strategy's history (JSON or CSV) without a database. Exit
    /// code 0 when it verifies, 1 when not.
    VerifyExport {
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum IndicatorsCommand {
    /// Fetch the figures of the plan's Kolada indicators for the municipality and its
    /// comparison units (INSATS_MUNICIPALITY, INSATS_COMPARISON_UNITS) from Kolada
    /// (INSATS_KOLADA_URL); appends only what is new or changed, and nothing if a page
    /// cannot be read.
    Fetch {
        /// The years, as FIRST..LAST (default: 2015 to this year).
        #[arg(long)]
        years: Option<String>,
    },
    /// Import a saved Kolada answer (version 3 JSON, one page or an array of pages).
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// Whether mail is on (INSATS_SMTP_URL), and the outbox: mails waiting, sent, given
    /// up, the last error.
    Status,
    /// Decide the reminders due now and send the outbox's waiting mails, once (what the
    /// server does every half minute).
    Send,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Import a plan file (TOML, see docs/plan.md): appends only what differs from the
    /// plan in the log, so importing the same file twice appends nothing.
    Import {
        /// The plan file, e.g. plan/vaxjo-integrationsplan.toml.
        file: PathBuf,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    if let Command::Privacy(PrivacyCommand::NewKey { file }) = &command {
        crate::privacy::keys::write_new_key(file)?;
        println!(
            "Wrote a new key-encryption key to {}. Back it up: without it, no sealed text can be read.",
            file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Audit(AuditCommand::VerifyExport { file, json }) = &command {
        return verify_export(file, *json);
    }
    let database = Database::open(&cli.config).await?;
    let config = &cli.config;
    // Only the commands that read or write sealed text need the key-encryption key.
    let outcome = async {
        let keys = || keyring(config, &database);
        match command {
            Command::Serve(args) => serve(args.addr, &database, keys()?, config).await,
            Command::Migrate => database::migrate(&database.pool).await.map(|()| {
                tracing::info!("the database schema is up to date");
                ExitCode::SUCCESS
            }),
            Command::Plan(PlanCommand::Import { file }) => {
                import_plan(&database, keys()?, &file).await
            }
            Command::Projections(ProjectionsCommand::Status) => projection_status(&database).await,
            Command::Projections(ProjectionsCommand::Rebuild { name }) => {
                rebuild(&database, name.as_deref()).await
            }
            Command::Demo { events, seed } => demo(&database, keys()?, events, seed).await,
            Command::Audit(AuditCommand::Verify { strategy, json }) => {
                audit_verify(&database, keys()?, strategy.as_deref(), json).await
            }
            Command::Audit(AuditCommand::Seal) => audit_seal(&database).await,
            Command::Audit(AuditCommand::VerifyReport { file }) => {
                verify_report(&database, keys()?, config, &file).await
            }
            Command::Report { period, pdf, csv } => {
                write_report(&database, keys()?, config, &period, &pdf, csv.as_deref()).await
            }
            Command::Indicators(command) => indicators(&database, keys()?, config, command).await,
            Command::Notifications(command) => {
                notifications(&database, keys()?, config, command).await
            }
            Command::Audit(AuditCommand::VerifyExport { .. }) => unreachable!("handled above"),
            Command::User(command) => user(&database, keys()?, command).await,
            Command::Token(command) => token(&database, keys()?, command).await,
            Command::Privacy(command) => privacy(&database, keys()?, config, command).await,
        }
    }
    .await;
    database.close().await;
    outcome
}

/// `insats report PERIOD`: the report as the log stands, written to files.
async fn write_report(
    database: &Database,
    keyring: Keyring,
    config: &Config,
    period: &str,
    pdf: &std::path::Path,
    csv: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let services = Services::new(EventStore::new(database.pool.clone()), keyring);
    let period = crate::domain::follow_up::ReportPeriod::from_key(period).ok_or_else(|| {
        anyhow::anyhow!(
            "{period:?} is not a period: write e.g. 2026-tertial-2, 2026-kvartal-3, 2026-halvar-1 or 2026-helar"
        )
    })?;
    let report = services
        .report(&config.units()?, period, None)
        .await
        .map_err(anyhow::Error::new)?;
    let bytes = crate::report::pdf::render(&report);
    std::fs::write(pdf, &bytes).with_context(|| format!("Failed to write {}", pdf.display()))?;
    println!(
        "Wrote {} ({} bytes, SHA-256 {}), compiled as of event {}.",
        pdf.display(),
        bytes.len(),
        crate::app::follow_up::digest(&bytes),
        report.as_of.position
    );
    if let Some(csv) = csv {
        std::fs::write(csv, crate::report::csv(&report))
            .with_context(|| format!("Failed to write {}", csv.display()))?;
        println!("Wrote {}.", csv.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `insats audit verify-report FILE`
async fn verify_report(
    database: &Database,
    keyring: Keyring,
    config: &Config,
    file: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let services = Services::new(EventStore::new(database.pool.clone()), keyring);
    let pdf = std::fs::read(file).with_context(|| format!("Failed to read {}", file.display()))?;
    let check = services
        .check_report(&config.units()?, &pdf)
        .await
        .map_err(anyhow::Error::new)?;
    println!("{}", crate::report::check_sentence(&check));
    Ok(match check {
        crate::app::ReportCheck::Issued { same: true, .. }
        | crate::app::ReportCheck::Compiled { same: true, .. } => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

/// `insats notifications status|send`.
async fn notifications(
    database: &Database,
    keyring: Keyring,
    config: &Config,
    command: NotificationsCommand,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let settings = crate::web::Settings::from_config(config)?;
    let state = crate::web::AppState::new(database.pool.clone(), settings, keyring);
    let notifier = crate::startup::notifier(&state)?;
    match command {
        NotificationsCommand::Status => {
            match &state.settings.mail {
                Some(mail) => println!(
                    "Mail is on: reminders are sent from {} through the SMTP server in INSATS_SMTP_URL.",
                    mail.from
                ),
                None => println!(
                    "Mail is off: INSATS_SMTP_URL is not set. Reminders are shown in the app (\"Att göra\") only."
                ),
            }
            let status = crate::notifications::status(&database.pool).await?;
            println!(
                "Outbox: {} waiting, {} sent, {} given up.",
                status.waiting, status.sent, status.given_up
            );
            if let Some(oldest) = status.oldest_waiting {
                println!("Oldest waiting since {}.", crate::clock::datetime(oldest));
            }
            if let Some(last) = status.last_sent {
                println!("Last sent {}.", crate::clock::datetime(last));
            }
            if let Some(error) = status.last_error {
                println!("Last error: {error}");
            }
            Ok(ExitCode::SUCCESS)
        }
        NotificationsCommand::Send => {
            let Some(notifier) = notifier else {
                println!("Mail is off: INSATS_SMTP_URL is not set. Nothing was sent.");
                return Ok(ExitCode::FAILURE);
            };
            match notifier.tick().await? {
                Some(run) => println!(
                    "Decided {} reminders, wrote {} mails, sent {}, {} failed (tried again later).",
                    run.decided, run.written, run.sent, run.failed
                ),
                None => println!(
                    "Another Insats is sending reminders right now. Nothing was done here."
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `insats indicators fetch|import`: the figures read, then recorded in one transaction.
async fn indicators(
    database: &Database,
    keyring: Keyring,
    config: &Config,
    command: IndicatorsCommand,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let services = Services::new(EventStore::new(database.pool.clone()), keyring);
    let ctx = CommandContext::new(Actor::system());
    let (read, outcome) = match command {
        IndicatorsCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("Failed to read {}", file.display()))?;
            let figures = crate::kolada::read_saved(&text)?;
            let read = figures.values().map(Vec::len).sum();
            let recorded = services
                .record_kolada(&ctx, &figures)
                .await
                .map_err(anyhow::Error::new)?;
            (read, recorded)
        }
        IndicatorsCommand::Fetch { years } => {
            let years = match years {
                Some(years) => parse_years(&years)?,
                None => 2015..=services.today().year(),
            };
            let units = config.units()?;
            let progress = indicatif::ProgressBar::new_spinner();
            progress.set_message(format!(
                "Fetching from Kolada ({}) for {}, {}–{}",
                config.kolada().base_url,
                units.all().join(", "),
                years.start(),
                years.end()
            ));
            let kolada = crate::kolada::Kolada::new(config.kolada())?;
            let fetched = services
                .fetch_kolada(&ctx, &kolada, &units, years, |page| {
                    progress.set_message(format!("Read page {page} from Kolada"));
                    progress.tick();
                })
                .await;
            progress.finish_and_clear();
            fetched.map_err(|error| anyhow::anyhow!("{error}. Nothing was recorded."))?
        }
    };
    println!(
        "Read {read} figures: {} recorded, {} revised, the rest already in the log.",
        outcome.recorded, outcome.revised
    );
    Ok(ExitCode::SUCCESS)
}

/// `FIRST..LAST` (or one year) as a range of years.
fn parse_years(text: &str) -> anyhow::Result<std::ops::RangeInclusive<i32>> {
    let bad = || anyhow::anyhow!("--years is FIRST..LAST, e.g. 2015..2026, not {text:?}");
    let (first, last) = text.split_once("..").unwrap_or((text, text));
    let first: i32 = first.trim().parse().map_err(|_| bad())?;
    let last: i32 = last.trim().parse().map_err(|_| bad())?;
    if !(1990..=2100).contains(&first) || last < first || last > 2100 {
        return Err(bad());
    }
    Ok(first..=last)
}

/// The key-encryption key: from INSATS_MASTER_KEY_FILE, else (managed database only) the
/// data folder's master.key.
fn keyring(config: &Config, database: &Database) -> anyhow::Result<Keyring> {
    match (&config.master_key_file, &database.managed) {
        (Some(path), _) => Keyring::from_file(path),
        (None, Some(_)) => Keyring::in_data_dir(&config.data_dir),
        (None, None) => anyhow::bail!(
            "Set INSATS_MASTER_KEY_FILE to the file holding the key-encryption key (64 hex digits): create one with `insats privacy new-key FILE` and keep a backup of it apart from the database backups."
        ),
    }
}

/// Migrations applied and the key checked against the database.
async fn prepared(database: &Database, keyring: &Keyring) -> anyhow::Result<()> {
    database::migrate(&database.pool).await?;
    keyring.check(&database.pool).await
}

async fn import_plan(
    database: &Database,
    keyring: Keyring,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("Failed to read the plan file {}", file.display()))?;
    prepared(database, &keyring).await?;
    let services = Services::new(EventStore::new(database.pool.clone()), keyring);
    let ctx = CommandContext::new(Actor::system());
    let outcome = services
        .import_plan(&ctx, &text)
        .await
        .map_err(|error| match error {
            AppError::Domain(refused) => anyhow::anyhow!("{refused}"),
            other => anyhow::Error::new(other),
        })?;
    if outcome.plan_events == 0 && outcome.areas_added == 0 {
        println!(
            "The plan in {} matches the log: nothing appended.",
            file.display()
        );
    } else {
        let counts = outcome.counts;
        println!(
            "Imported {}: {} plan events ({} defined, {} revised, {} retired), {} areas added.",
            file.display(),
            outcome.plan_events,
            counts.defined,
            counts.revised,
            counts.retired,
            outcome.areas_added
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn projection_status(database: &Database) -> anyhow::Result<ExitCode> {
    database::migrate(&database.pool).await?;
    let statuses = projections::status::all(&database.pool).await?;
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>9}  waiting",
        "projection", "position", "applied", "lag", "lag (s)"
    );
    for status in statuses {
        println!(
            "{:<18} {:>10} {:>10} {:>10} {:>9}  {}",
            status.name,
            status.position,
            status.events_applied,
            status.lag_events,
            status
                .lag_seconds
                .map(|s| format!("{s:.1}"))
                .unwrap_or_else(|| "-".into()),
            status.waiting.as_deref().unwrap_or("-"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn rebuild(database: &Database, name: Option<&str>) -> anyhow::Result<ExitCode> {
    database::migrate(&database.pool).await?;
    let chosen: Vec<&'static projections::Projection> = match name {
        Some(name) => vec![projections::by_name(name).with_context(|| {
            format!(
                "There is no projection {name:?}; the projections are: {}",
                projections::ALL.map(|p| p.name).join(", ")
            )
        })?],
        None => projections::ALL.to_vec(),
    };
    for projection in chosen {
        let bar = progress_bar(&format!("rebuilding {}", projection.name));
        let started = std::time::Instant::now();
        let rebuilt = projections::rebuild::rebuild(&database.pool, projection, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await?;
        bar.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}: rebuilt from {} events in {seconds:.1} s ({:.0} events/s) and swapped in.",
            projection.name,
            rebuilt.events,
            rebuilt.events as f64 / seconds.max(0.001)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn demo(
    database: &Database,
    keyring: Keyring,
    events: u64,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let store = EventStore::new(database.pool.clone());
    let services = Services::new(store.clone(), keyring);
    services
        .import_bundled_plan_if_empty()
        .await
        .map_err(anyhow::Error::new)?;
    let existing: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE stream_id LIKE 'activity-%'")
            .fetch_one(&database.pool)
            .await?;
    anyhow::ensure!(
        existing == 0,
        "The log already holds {existing} activities: demo data goes into a log without any (use a fresh INSATS_DATA_DIR or database)."
    );
    let areas = crate::demo::areas_of(&services).await?;
    let bar = progress_bar("writing demo history");
    bar.set_length(events);
    let started = std::time::Instant::now();
    let today = services.today();
    let outcome = crate::demo::write(&services, &areas, events, seed, today, |done| {
        bar.set_position(done)
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "Wrote {} demo events over {} days in {:.1} s.",
        outcome.events,
        outcome.days,
        started.elapsed().as_secs_f64()
    );
    rebuild(database, None).await?;
    let plan = services.plan().await.map_err(anyhow::Error::new)?;
    let accounts = Accounts::new(database.pool.clone(), services);
    println!("\nDemo accounts (for local use only):");
    for user in &crate::demo::users(&plan, &areas) {
        let password = crate::demo::password(user);
        accounts
            .ensure_user(
                user.id,
                NewUser {
                    email: user.email.clone(),
                    name: user.name.clone(),
                    role: user.role.as_str().to_owned(),
                    areas: user.areas.clone(),
                    processes: user.processes.clone(),
                    password: password.clone(),
                },
            )
            .await
            .map_err(refused)?;
        println!("  {:<28} {:<22} {password}", user.email, user.role.label());
    }
    Ok(ExitCode::SUCCESS)
}

fn accounts(database: &Database, keyring: Keyring) -> Accounts {
    let store = EventStore::new(database.pool.clone());
    Accounts::new(database.pool.clone(), Services::new(store, keyring))
}

/// The CLI acts as the coordinator: whoever can run it administers the installation.
fn operator() -> CommandContext {
    CommandContext::new(Actor::system())
}

fn refused(error: AppError) -> anyhow::Error {
    match error {
        AppError::Domain(refusal) => anyhow::anyhow!("{refusal}"),
        other => anyhow::Error::new(other),
    }
}

async fn user(
    database: &Database,
    keyring: Keyring,
    command: UserCommand,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let accounts = accounts(database, keyring);
    match command {
        UserCommand::Add {
            email,
            name,
            role,
            areas,
            processes,
        } => {
            let password = read_password()?;
            let user = accounts
                .add_user(
                    &operator(),
                    NewUser {
                        email,
                        name,
                        role,
                        areas,
                        processes,
                        password,
                    },
                )
                .await
                .map_err(refused)?;
            println!(
                "Created {} ({}), id {}.",
                user.email, user.role, user.user_id
            );
        }
        UserCommand::List => {
            for user in accounts.list().await? {
                let scope = [user.areas.join(","), user.processes.join(",")].join(" ");
                let disabled = if user.disabled_at.is_some() {
                    " (disabled)"
                } else {
                    ""
                };
                println!(
                    "{:<32} {:<22} {:<28} {}{disabled}",
                    user.email,
                    user.role,
                    user.name,
                    scope.trim()
                );
            }
        }
        UserCommand::Disable { email } => {
            let user = accounts
                .disable(&operator(), &email)
                .await
                .map_err(refused)?;
            println!("Disabled {}.", user.email);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn token(
    database: &Database,
    keyring: Keyring,
    command: TokenCommand,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let accounts = accounts(database, keyring);
    match command {
        TokenCommand::Create { email, label } => {
            let (id, token) = accounts
                .create_token(&operator(), &email, &label)
                .await
                .map_err(refused)?;
            println!("{token}");
            eprintln!("Token {id} for {email}. It is shown only now: keep it secret.");
        }
        TokenCommand::Revoke { id } => {
            accounts
                .revoke_token(&operator(), id)
                .await
                .map_err(refused)?;
            println!("Revoked token {id}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A password from a prompt (twice, not echoed), or one line of standard input.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password (at least 12 characters): ")?;
        let second = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == second, "The two passwords differ.");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

async fn audit_verify(
    database: &Database,
    keyring: Keyring,
    strategy: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let store = EventStore::new(database.pool.clone());
    let report = match strategy {
        Some(strategy) => {
            let services = Services::new(store.clone(), keyring);
            services.require_strategy(strategy).await.map_err(refused)?;
            let bar = progress_bar("reading the history");
            let history = crate::audit::history(&database.pool, strategy).await?;
            bar.finish_and_clear();
            crate::audit::verify::strategy(&store, strategy, &history).await?
        }
        None => {
            let bar = progress_bar("verifying the log");
            bar.set_length(store.count_events().await?.max(0) as u64);
            let log = store.verify_log(|done| bar.set_position(done)).await?;
            bar.finish_and_clear();
            crate::audit::verify::Integrity::from_log(&log)
        }
    };
    print_integrity(&report, json);
    Ok(if report.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_integrity(report: &crate::audit::verify::Integrity, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("a report serializes")
        );
        return;
    }
    println!("{}", report.summary);
    println!(
        "{} events, {} streams, {} seals checked{}.",
        report.events_checked,
        report.streams_checked,
        report.seals_checked,
        report
            .sealed_up_to_position
            .map(|p| format!("; sealed up to position {p}"))
            .unwrap_or_default()
    );
    for problem in &report.problems {
        println!("  - {}", problem.message);
    }
}

async fn audit_seal(database: &Database) -> anyhow::Result<ExitCode> {
    database::migrate(&database.pool).await?;
    let store = EventStore::new(database.pool.clone());
    match store
        .seal(crate::event_log::seal::EVERY, std::time::Duration::ZERO)
        .await?
    {
        crate::event_log::seal::Sealed::Appended { seals, up_to } => println!(
            "Appended {seals} seal(s); the log is sealed up to position {}.",
            up_to.position
        ),
        crate::event_log::seal::Sealed::NothingDue { .. } => {
            println!("Nothing to seal: every event is already under a seal.")
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_export(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("Failed to read the export {}", file.display()))?;
    let report = match crate::audit::export::parse(&bytes) {
        Ok(export) => crate::audit::export::verify(&export),
        Err(problem) => {
            println!("Inte verifierad: {problem}");
            return Ok(ExitCode::FAILURE);
        }
    };
    print_integrity(&report, json);
    Ok(if report.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn progress_bar(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_owned());
    bar
}

async fn privacy(
    database: &Database,
    keyring: Keyring,
    config: &Config,
    command: PrivacyCommand,
) -> anyhow::Result<ExitCode> {
    prepared(database, &keyring).await?;
    let services = Services::new(EventStore::new(database.pool.clone()), keyring);
    match command {
        PrivacyCommand::Erase {
            case,
            activity,
            item,
            feedback,
            decision,
            reason,
        } => {
            let target = match (case, activity, item, feedback) {
                (Some(id), ..) => ErasureTarget::Case(id),
                (_, Some(id), ..) => ErasureTarget::Activity(id),
                (_, _, Some(id), _) => ErasureTarget::Item(id),
                (.., Some(id)) => ErasureTarget::Feedback(id),
                _ => anyhow::bail!(
                    "Name what to erase: --case ID, --activity ID, --item ID or --feedback ID."
                ),
            };
            let done = services
                .erase_personal_data(&operator(), target, &decision, &reason, None)
                .await
                .map_err(refused)?;
            println!(
                "Erased the personal data of {} (erasure event at position {}).",
                target.subject(),
                done.position
            );
        }
        PrivacyCommand::Retention {
            dry_run,
            apply,
            years,
        } => {
            let Some(years) = years.or(config.retention_case_years) else {
                println!(
                    "No retention rule is set (INSATS_RETENTION_CASE_YEARS or --years): nothing to do."
                );
                return Ok(ExitCode::SUCCESS);
            };
            let affected = if apply && !dry_run {
                services
                    .apply_retention(&operator(), years)
                    .await
                    .map_err(refused)?
            } else {
                services
                    .retention_candidates(years)
                    .await
                    .map_err(refused)?
            };
            let verb = if apply { "Erased" } else { "Would erase" };
            for case in &affected {
                println!(
                    "{verb} case {} ({}, {}), closed {}",
                    case.case_id,
                    case.area.as_deref().unwrap_or("-"),
                    case.title.as_deref().unwrap_or("-"),
                    case.closed_at
                        .map(|at| at.date().to_string())
                        .unwrap_or_default()
                );
            }
            println!(
                "{verb} the text of {} cases closed more than {years} years ago.",
                affected.len()
            );
        }
        PrivacyCommand::NewKey { .. } => unreachable!("handled before the database is opened"),
        PrivacyCommand::RotateKey { new_key_file } => {
            let new = Keyring::from_file(&new_key_file)?;
            let count =
                crate::privacy::keys::rotate(&database.pool, services.privacy().keyring(), &new)
                    .await?;
            println!(
                "Re-wrapped {count} data keys with the key in {}. Set INSATS_MASTER_KEY_FILE to it; keep the old key until a backup with the new one exists.",
                new_key_file.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    addr: SocketAddr,
    database: &Database,
    keyring: Keyring,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let settings = crate::web::Settings::from_config(config)?;
    // Refuse to start with a wrong key; a database that does not answer yet is retried
    // in the background instead.
    match tokio::time::timeout(
        std::time::Duration::from_secs(10),
        prepared(database, &keyring),
    )
    .await
    {
        Ok(Err(error))
            if error
                .downcast_ref::<crate::privacy::keys::KeyMismatch>()
                .is_some() =>
        {
            return Err(error);
        }
        Ok(Err(error)) => {
            tracing::warn!(error = %format!("{error:#}"), "the database is not ready yet")
        }
        _ => {}
    }
    let app = Application::build_with(addr, database.pool.clone(), keyring, settings).await?;
    app.run_until(startup::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
