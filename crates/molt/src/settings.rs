//! Loading the configuration and setting up logging.

use crate::output::{CliError, CliResult};
use molt_core::config::LogFormat;
use molt_core::Config;
use std::path::{Path, PathBuf};
use tracing_subscriber::EnvFilter;

/// `--config`/MOLT_CONFIG if given (it must exist), else `./molt.toml` if present, else defaults.
pub fn load_config(explicit: Option<&Path>) -> CliResult<Config> {
    let path: Option<PathBuf> = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("molt.toml")).filter(|p| p.is_file()),
    };
    let text = match &path {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
            CliError::new("config_unreadable", format!("cannot read the config file {}: {e}", p.display()))
        })?),
        None => None,
    };
    Config::load(text.as_deref(), std::env::vars())
        .map_err(|e| CliError::new("invalid_config", e.to_string()))
}

/// Logs go to stderr, so stdout stays clean for `--json`. `MOLT_LOG` overrides the level.
pub fn init_logging(config: &Config, default_level: &str) {
    let level = std::env::var("MOLT_LOG").unwrap_or_else(|_| {
        if default_level.is_empty() {
            config.log.level.clone()
        } else {
            default_level.to_string()
        }
    });
    // whisper.cpp narrates every model load at info level; keep it for `MOLT_LOG=whisper_rs=info`.
    let level = if level.contains("whisper_rs") { level } else { format!("{level},whisper_rs=warn") };
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info,whisper_rs=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}
