//! The search benchmarks of issue 7, on a corpus data directory of their own:
//!
//! - `molt bench corpus --songs N --seed S --data DIR`: a synthetic catalogue
//!   ([`corpus`]) plus the checked-in reference songs ([`reference`]), inserted
//!   through the store and indexed by the real indexer with the real e5 model;
//! - `molt bench recall --data DIR --file bench/search/fragments.tsv`: recall@k
//!   of queries whose expected song is known ([`recall`]);
//! - `molt bench search --data DIR`: in-process latency of the real search
//!   service over a mixed query set ([`latency`]).
//!
//! `--data DIR` replaces `data_dir` for the command; the models stay where the
//! configuration had them (`<configured data_dir>/models` unless
//! `whisper.model_dir` says otherwise), so a corpus directory needs no copy of
//! the model files.

mod cache;
mod corpus;
mod latency;
mod recall;
mod reference;
mod rng;
mod words;

use super::{open_store, segmenter};
use crate::cli::BenchCommand;
use crate::output::{CliError, CliResult};
use crate::studio::embedder;
use molt_core::Config;
use molt_search::{SearchService, SearchSettings};
use molt_store::SqliteStore;
use molt_vector::Embedder;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use corpus::CorpusManifest;

/// Where the corpus command records what it made, inside the data directory.
pub const MANIFEST: &str = "bench/corpus.json";

pub async fn run(config: &Config, command: BenchCommand, json: bool) -> CliResult {
    match command {
        BenchCommand::Corpus { songs, seed, data, stanza_pool } => {
            let config = with_data_dir(config, &data);
            corpus::run(&config, corpus::Options { songs, seed, stanza_pool }, json).await
        }
        BenchCommand::Recall { data, file, k } => {
            let config = with_data_dir(config, &data);
            recall::run(&config, &file, k.max(1), json).await
        }
        BenchCommand::Search { data, queries, seed, cold_only, write_queries, answers } => {
            let config = with_data_dir(config, &data);
            let options = latency::Options { queries, seed, cold_only, answers };
            match write_queries {
                Some(path) => latency::write_paths(&config, &options, &path).await,
                None => latency::run(&config, options, json).await,
            }
        }
        other => Err(CliError::new("internal", format!("not a search benchmark: {other:?}"))),
    }
}

/// The configuration with `data` as its data directory and the models where they were.
fn with_data_dir(config: &Config, data: &Path) -> Config {
    let mut config = config.clone();
    config.whisper.model_dir = Some(config.model_dir());
    config.data_dir = data.to_path_buf();
    config
}

/// The e5 model file, or a clear error: every search benchmark needs it.
fn model_path(config: &Config) -> CliResult<PathBuf> {
    let path = config.embedding_model_path();
    if path.is_file() {
        Ok(path)
    } else {
        Err(CliError::new(
            "model_missing",
            format!("the embedding model {} is missing (scripts/setup.sh installs it)", path.display()),
        ))
    }
}

/// The corpus's manifest, written by `molt bench corpus`.
fn read_manifest(config: &Config) -> CliResult<CorpusManifest> {
    let path = config.data_dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::new(
            "not_a_corpus",
            format!("cannot read {} ({e}): make the corpus with `molt bench corpus` first", path.display()),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| CliError::new("not_a_corpus", format!("{}: {e}", path.display())))
}

/// The real search service over the corpus store, with the real (lazily loaded) e5 model.
fn search_service(
    config: &Config,
    store: &SqliteStore,
) -> CliResult<(Arc<SearchService>, Arc<dyn Embedder>)> {
    model_path(config)?;
    let model = embedder(config);
    let service = SearchService::new(
        Arc::new(store.clone()),
        Some(model.clone()),
        Arc::new(segmenter(config)?),
        SearchSettings::from_config(&config.search),
    );
    Ok((Arc::new(service), model))
}

/// Opens the corpus store (it must exist: these commands never make an empty one).
async fn open_corpus(config: &Config) -> CliResult<SqliteStore> {
    read_manifest(config)?;
    open_store(config).await
}

/// Writes `bytes` to `path` through a temp file beside it (synced, then
/// renamed), so a reader never sees half a file; the directories are made first.
fn write_file(path: &Path, bytes: &[u8]) -> CliResult {
    use std::io::Write;
    let io = |e: std::io::Error| CliError::new("io_error", format!("{}: {e}", path.display()));
    let mut tmp = temp_file_for(path)?;
    tmp.write_all(bytes).and_then(|()| tmp.as_file().sync_all()).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// A temp file in the directory `path` will be in (made if missing), or why
/// `path` cannot be written: called before a long measurement too, so that a
/// bad output path fails at once rather than after minutes of work.
fn temp_file_for(path: &Path) -> CliResult<tempfile::NamedTempFile> {
    let io = |e: std::io::Error| CliError::new("io_error", format!("{}: {e}", path.display()));
    if path.is_dir() {
        return Err(CliError::new("io_error", format!("{} is a directory, not a file", path.display())));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    tempfile::NamedTempFile::new_in(dir).map_err(io)
}

/// Runs blocking work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> CliResult<T> + Send + 'static) -> CliResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| CliError::new("runtime", e.to_string()))?
}

/// `p`-th percentile (0..=100) of sorted values, nearest rank.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
    }
}
