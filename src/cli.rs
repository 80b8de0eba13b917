//! The `insats` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::app::{AppError, CommandContext, Insats};
use crate::config::Config;
use crate::database::{self, Database};
use crate::domain::actor::Actor;
use crate::event_log::EventStore;
use crate::projections;
use crate::startup::{self, Application};

const ENVIRONMENT_HELP: &str = "\
Environment:
  DATABASE_URL        PostgreSQL to use; without it Insats runs its own cluster
                      under $INSATS_DATA_DIR/postgres (needs initdb and pg_ctl)
  INSATS_DATA_DIR     folder for Insats's own files (default ./data)
  INSATS_LOG_FORMAT   text (default) or json
  INSATS_DB_POOL_SIZE database connections of this instance (default 16)
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
    let database = Database::open(&cli.config).await?;
    let outcome = match command {
        Command::Serve(args) => serve(args.addr, &database).await,
        Command::Migrate => database::migrate(&database.pool).await.map(|()| {
            tracing::info!("the database schema is up to date");
            ExitCode::SUCCESS
        }),
        Command::Plan(PlanCommand::Import { file }) => import_plan(&database, &file).await,
        Command::Projections(ProjectionsCommand::Status) => projection_status(&database).await,
        Command::Projections(ProjectionsCommand::Rebuild { name }) => {
            rebuild(&database, name.as_deref()).await
        }
        Command::Demo { events, seed } => demo(&database, events, seed).await,
    };
    database.close().await;
    outcome
}

async fn import_plan(database: &Database, file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("Failed to read the plan file {}", file.display()))?;
    database::migrate(&database.pool).await?;
    let insats = Insats::new(EventStore::new(database.pool.clone()));
    let ctx = CommandContext::new(Actor::system());
    let outcome = insats
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

async fn demo(database: &Database, events: u64, seed: u64) -> anyhow::Result<ExitCode> {
    database::migrate(&database.pool).await?;
    let store = EventStore::new(database.pool.clone());
    let insats = Insats::new(store.clone());
    insats
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
    let plan = insats.plan().await.map_err(anyhow::Error::new)?;
    let areas: Vec<(String, String)> = insats
        .areas()
        .await
        .map_err(anyhow::Error::new)?
        .all()
        .iter()
        .map(|area| (area.id.to_string(), area.name.clone()))
        .collect();
    let users = crate::demo::users(&plan, &areas);
    let bar = progress_bar("writing demo history");
    bar.set_length(events);
    let started = std::time::Instant::now();
    let today = time::OffsetDateTime::now_utc().date();
    let outcome = crate::demo::generate(
        &store,
        crate::demo::DemoSpec {
            plan: &plan,
            users: &users,
            areas: &areas,
            events,
            seed,
            today,
        },
        |done| bar.set_position(done),
    )
    .await?;
    bar.finish_and_clear();
    println!(
        "Wrote {} demo events over {} days in {:.1} s.",
        outcome.events,
        outcome.days,
        started.elapsed().as_secs_f64()
    );
    rebuild(database, None).await?;
    Ok(ExitCode::SUCCESS)
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

async fn serve(addr: SocketAddr, database: &Database) -> anyhow::Result<ExitCode> {
    let app = Application::build(addr, database.pool.clone()).await?;
    app.run_until(startup::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
