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

async fn serve(addr: SocketAddr, database: &Database) -> anyhow::Result<ExitCode> {
    let app = Application::build(addr, database.pool.clone()).await?;
    app.run_until(startup::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
