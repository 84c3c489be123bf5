//! `molt khmer normalize|segment|romanize TEXT`.

use crate::cli::KhmerCommand;
use crate::output::{emit, CliError, CliResult};
use molt_core::Config;
use molt_khmer::Segmenter;

/// The studio's own names list, kept whole by the segmenter next to the built-in one.
pub(crate) fn segmenter(config: &Config) -> CliResult<Segmenter> {
    let path = config.data_dir.join("khmer/names.txt");
    Segmenter::for_studio(&path)
        .map_err(|e| CliError::new("io_error", format!("cannot read {}: {e}", path.display())))
}

pub fn run(config: &Config, command: KhmerCommand, json: bool) -> CliResult {
    let (input, output): (String, serde_json::Value) = match command {
        KhmerCommand::Normalize { text, index } => {
            let out =
                if index { molt_khmer::normalize_for_index(&text) } else { molt_khmer::normalize(&text) };
            (text, out.into())
        }
        KhmerCommand::Segment { text } => {
            let words = segmenter(config)?.segment(&molt_khmer::normalize(&text));
            (text, words.into())
        }
        KhmerCommand::Romanize { text } => {
            let latin = molt_khmer::romanize_with(&segmenter(config)?, &molt_khmer::normalize(&text));
            (text, latin.into())
        }
    };
    let shown = serde_json::json!({ "input": input, "output": output });
    emit(json, &shown, |v| match &v["output"] {
        serde_json::Value::Array(words) => {
            words.iter().filter_map(|w| w.as_str()).collect::<Vec<_>>().join(" ")
        }
        other => other.as_str().unwrap_or_default().to_string(),
    });
    Ok(())
}
