//! `molt`: one binary for the studio. Exit codes: 0 ok, 1 error, 2 usage.

mod cli;
mod commands;
mod output;
mod settings;
mod studio;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return output::fail(json, "runtime", &format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output::fail(json, e.code, &e.message),
    }
}
