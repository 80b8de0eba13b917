//! The `insats` command line.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::process::ExitCode;

use crate::config::Config;
use crate::database::{self, Database};
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
    };
    database.close().await;
    outcome
}

async fn serve(addr: SocketAddr, database: &Database) -> anyhow::Result<ExitCode> {
    let app = Application::build(addr, database.pool.clone()).await?;
    app.run_until(startup::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
