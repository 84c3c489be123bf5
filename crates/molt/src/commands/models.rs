//! `molt models list|import-ct2`.

use crate::cli::ModelsCommand;
use crate::output::{emit, CliError, CliResult};
use molt_core::Config;
use molt_models::ModelFormat;

pub async fn run(config: &Config, command: ModelsCommand, json: bool) -> CliResult {
    let dir = config.model_dir();
    match command {
        ModelsCommand::List => {
            let models = molt_models::list_models(&dir);
            let shown: Vec<serde_json::Value> = models
                .iter()
                .map(|m| {
                    let state = match &m.format {
                        ModelFormat::Ggml { multilingual, .. } => {
                            if *multilingual {
                                "ggml, multilingual".to_string()
                            } else {
                                "ggml, English only".to_string()
                            }
                        }
                        ModelFormat::BrokenGgml { reason } => format!("BROKEN: {reason}"),
                        ModelFormat::Ct2NotImported { import_to } => {
                            format!("CTranslate2, not imported yet (→ {})", import_to.display())
                        }
                    };
                    serde_json::json!({ "name": m.name, "path": m.path, "bytes": m.bytes, "state": state })
                })
                .collect();
            emit(json, &shown, |rows| {
                if rows.is_empty() {
                    return format!("no models in {}: run scripts/setup.sh", dir.display());
                }
                rows.iter()
                    .map(|r| {
                        format!(
                            "{:<24} {:>12} bytes  {}",
                            r["name"].as_str().unwrap_or(""),
                            r["bytes"],
                            r["state"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ModelsCommand::ImportCt2 { dir: src, name } => {
            let dest = match name {
                Some(name) => dir.join(format!("whisper-{}.ggml.bin", name.replace('.', "-"))),
                None => molt_models::ggml_path_for(&dir, &src),
            };
            std::fs::create_dir_all(&dir).map_err(|e| CliError::new("io_error", e.to_string()))?;
            let report =
                tokio::task::spawn_blocking(move || molt_models::import_ct2(&src, &dest).map(|r| (r, dest)))
                    .await
                    .map_err(|e| CliError::new("runtime", e.to_string()))?
                    .map_err(|e| CliError::new("import_failed", e.to_string()))?;
            let (report, dest) = report;
            let shown = serde_json::json!({ "path": dest, "bytes": report.bytes, "sha256": report.sha256,
                "tensors": report.tensors, "multilingual": report.multilingual });
            emit(json, &shown, |_| {
                format!(
                    "imported {} ({} bytes, {} tensors, {})\nsha256 {}",
                    dest.display(),
                    report.bytes,
                    report.tensors,
                    if report.multilingual { "multilingual" } else { "English only" },
                    report.sha256
                )
            });
        }
    }
    Ok(())
}
