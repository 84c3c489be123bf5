//! How the CLI prints results and errors: text for people, `--json` for scripts.

use serde::Serialize;
use std::process::ExitCode;

/// A command's failure: a stable code and a message for the user.
#[derive(Debug)]
pub struct CliError {
    pub code: &'static str,
    pub message: String,
}

impl CliError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CliError { code, message: message.into() }
    }
}

impl From<molt_store::StoreError> for CliError {
    fn from(e: molt_store::StoreError) -> Self {
        let code = match e {
            molt_store::StoreError::Locked { .. } => "database_locked",
            molt_store::StoreError::NotFound { .. } => "not_found",
            molt_store::StoreError::NotMoltDatabase(_) => "not_a_molt_database",
            molt_store::StoreError::Migration { .. } => "migration_failed",
            _ => "store_error",
        };
        CliError::new(code, e.to_string())
    }
}

impl From<molt_catalog::IngestError> for CliError {
    fn from(e: molt_catalog::IngestError) -> Self {
        CliError::new(e.code(), e.to_string())
    }
}

impl From<molt_core::ValidationError> for CliError {
    fn from(e: molt_core::ValidationError) -> Self {
        CliError::new(e.code, e.to_string())
    }
}

impl From<molt_catalog::review::ReviewError> for CliError {
    fn from(e: molt_catalog::review::ReviewError) -> Self {
        CliError::new(e.code(), e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

/// Print `value` as JSON, or as the text `human` renders.
pub fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        println!("{}", human(value));
    }
}

/// Report an error on stderr (JSON with `--json`) and exit 1.
pub fn fail(json: bool, code: &str, message: &str) -> ExitCode {
    if json {
        let body = serde_json::json!({ "error": { "code": code, "message": message } });
        eprintln!("{body}");
    } else {
        eprintln!("error: {message}");
    }
    ExitCode::from(1)
}
