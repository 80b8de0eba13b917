use clap::Parser;
use std::process::ExitCode;

use insats::cli::{self, Cli};
use insats::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    match cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "Insats stopped");
            eprintln!("insats: {error:#}");
            ExitCode::FAILURE
        }
    }
}
