//! One module per command group; each calls the application services.

mod alert;
mod bench;
mod bench_search;
mod budget;
mod db;
mod intent;
mod kb;
mod khmer;
mod lyrics;
mod models;
mod process;
mod report;
mod review;
pub(crate) mod schedule;
pub(crate) mod search;
mod serve;
mod song;
mod song_archive;
mod status;
mod token;

pub(crate) use khmer::segmenter;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::output::{emit, CliResult};
use crate::settings;
use molt_core::Config;
use molt_store::{SqliteStore, StoreOptions};

pub async fn run(cli: Cli) -> CliResult {
    let config = settings::load_config(cli.config.as_deref())?;
    let quiet = if matches!(cli.command, Command::Serve(_)) { "" } else { "warn" };
    settings::init_logging(&config, quiet);
    let json = cli.json;
    match cli.command {
        Command::Serve(args) => serve::run(config, args).await,
        Command::Config(ConfigCommand::Show) => {
            emit(json, &config, Config::to_redacted_toml);
            Ok(())
        }
        Command::Db(command) => db::run(&config, command, json).await,
        Command::Song(command) => song::run(&config, command, json).await,
        Command::Token(command) => token::run(&config, command, json).await,
        Command::Bench(command) => bench::run(&config, command, json).await,
        Command::Process(args) => process::run(&config, args, json).await,
        Command::Worker { workers } => process::worker(&config, workers).await,
        Command::Budget(command) => budget::run(&config, command, json).await,
        Command::Lyrics(command) => lyrics::run(&config, command, json).await,
        Command::Models(command) => models::run(&config, command, json).await,
        Command::Khmer(command) => khmer::run(&config, command, json),
        Command::Intent { text, rules_only } => intent::run(&config, text, rules_only, json),
        Command::Kb(command) => kb::run(&config, command, json).await,
        Command::Query(args) => search::query(&config, args, json).await,
        Command::Search(command) => search::run(&config, command, json).await,
        Command::Review(command) => review::run(&config, command, json).await,
        Command::Schedule(command) => schedule::run(&config, command, json).await,
        Command::Price(command) => budget::prices(&config, command, json).await,
        Command::Alert(command) => alert::run(&config, command, json).await,
        Command::Status => status::run(&config, json).await,
        Command::Kpi { window } => report::kpi(&config, &window, json).await,
        Command::Report(command) => report::run(&config, command, json).await,
    }
}

/// Open the store with its schema brought up to date.
pub(crate) async fn open_store(config: &Config) -> CliResult<SqliteStore> {
    let options = StoreOptions::from_config(config);
    Ok(tokio::task::spawn_blocking(move || SqliteStore::open_migrated(&options))
        .await
        .map_err(|e| crate::output::CliError::new("runtime", e.to_string()))??)
}
