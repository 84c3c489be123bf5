//! The knowledge-base service: add, list, remove and search documents. The
//! CLI and the Historian both go through it.

use crate::chunk::passages;
use crate::document::{self, DocumentError, ParsedDocument};
use crate::search::{DocumentHit, Snapshot};
use crate::text::index_text;
use molt_core::knowledge::{KbDocument, KbPutOutcome, NewKbChunk, NewKbDocument};
use molt_khmer::Segmenter;
use molt_store::{KnowledgeStore, StoreError};
use molt_vector::{EmbedError, Embedder, Role};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Passages embedded per model call.
const EMBED_BATCH: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("{path}: {error}")]
    Document { path: String, error: DocumentError },
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What adding one file did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Added {
    pub key: String,
    pub origin: String,
    pub outcome: KbPutOutcome,
    pub chunks: i64,
    /// Paragraphs converted from legacy Limon encoding.
    pub converted_paragraphs: usize,
}

pub struct KnowledgeBase {
    store: Arc<dyn KnowledgeStore>,
    embedder: Arc<dyn Embedder>,
    segmenter: Arc<Segmenter>,
    max_document_bytes: u64,
    snapshot: Mutex<Option<Arc<Snapshot>>>,
}

impl KnowledgeBase {
    pub fn new(
        store: Arc<dyn KnowledgeStore>,
        embedder: Arc<dyn Embedder>,
        segmenter: Arc<Segmenter>,
        max_document_bytes: u64,
    ) -> KnowledgeBase {
        KnowledgeBase { store, embedder, segmenter, max_document_bytes, snapshot: Mutex::new(None) }
    }

    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    pub fn store(&self) -> &dyn KnowledgeStore {
        self.store.as_ref()
    }

    /// Adds a file, or every `.md`/`.markdown`/`.txt` file under a directory.
    /// Every file is checked before anything is written, so one bad file in a
    /// directory leaves the knowledge base as it was; each document is then
    /// written whole, in its own transaction.
    pub fn add_path(&self, path: &Path, actor: &str) -> Result<Vec<Added>, KbError> {
        let files = files_under(path)?;
        let mut parsed = Vec::with_capacity(files.len());
        for file in &files {
            let bytes =
                std::fs::read(file).map_err(|e| KbError::Input(format!("{}: {e}", file.display())))?;
            parsed.push((self.parse(file, &bytes)?, file.display().to_string(), sha256(&bytes)));
        }
        check_unique_keys(&parsed)?;
        parsed.into_iter().map(|(doc, origin, sha)| self.put(doc, origin, sha, actor)).collect()
    }

    /// Adds one document from its bytes; `name` gives its key and kind.
    pub fn add_bytes(&self, name: &str, origin: &str, bytes: &[u8], actor: &str) -> Result<Added, KbError> {
        let doc = self.parse(Path::new(name), bytes)?;
        self.put(doc, origin.to_string(), sha256(bytes), actor)
    }

    fn parse(&self, path: &Path, bytes: &[u8]) -> Result<ParsedDocument, KbError> {
        document::parse(path, bytes, self.max_document_bytes)
            .map_err(|error| KbError::Document { path: path.display().to_string(), error })
    }

    fn put(
        &self,
        doc: ParsedDocument,
        origin: String,
        sha256: String,
        actor: &str,
    ) -> Result<Added, KbError> {
        let converted_paragraphs = doc.converted_paragraphs;
        if let Some(existing) = self.store.kb_document(&doc.key)? {
            if existing.sha256 == sha256 && existing.model == self.embedder.model_id() {
                return Ok(added(existing, origin, KbPutOutcome::Unchanged, converted_paragraphs));
            }
        }
        let chunks = self.chunks(&doc)?;
        let new = NewKbDocument {
            title_norm: index_text(&self.segmenter, &doc.title),
            key: doc.key,
            title: doc.title,
            entity: doc.entity,
            aliases: doc.aliases,
            related: doc.related,
            sources: doc.sources,
            years: doc.years,
            origin: origin.clone(),
            sha256,
            body: doc.body,
            model: self.embedder.model_id().to_string(),
        };
        let (outcome, stored) = self.store.kb_put(new, chunks, actor)?;
        Ok(added(stored, origin, outcome, converted_paragraphs))
    }

    /// The document's passages, normalised and embedded. Each passage is
    /// embedded with its document's title and heading, which say what it is about.
    fn chunks(&self, doc: &ParsedDocument) -> Result<Vec<NewKbChunk>, KbError> {
        let passages = passages(&doc.body);
        let inputs: Vec<String> = passages
            .iter()
            .map(|p| match &p.heading {
                Some(h) if *h != doc.title => format!("{}. {h}. {}", doc.title, p.text),
                _ => format!("{}. {}", doc.title, p.text),
            })
            .collect();
        let mut vectors = Vec::with_capacity(inputs.len());
        for batch in inputs.chunks(EMBED_BATCH) {
            let texts: Vec<&str> = batch.iter().map(String::as_str).collect();
            vectors.extend(self.embedder.embed(&texts, Role::Passage)?);
        }
        Ok(passages
            .into_iter()
            .zip(vectors)
            .map(|(p, embedding)| NewKbChunk {
                text_norm: index_text(&self.segmenter, &p.text),
                heading: p.heading,
                text: p.text,
                embedding,
            })
            .collect())
    }

    pub fn list(&self) -> Result<Vec<KbDocument>, KbError> {
        Ok(self.store.kb_documents()?)
    }

    /// Removes a document by key; false when there was none.
    pub fn remove(&self, key: &str, actor: &str) -> Result<bool, KbError> {
        Ok(self.store.kb_remove(key, actor)?)
    }

    /// The `k` best documents for `query`.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<DocumentHit>, KbError> {
        let query = check_query(query)?;
        // Embed first: a model that cannot load says why here.
        let embedding = self.embed_query(query)?;
        let snapshot = self.snapshot()?;
        Ok(snapshot.search(&self.segmenter, query, &embedding, k, &|_| true))
    }

    pub fn embed_query(&self, query: &str) -> Result<Vec<f32>, KbError> {
        let mut vectors = self.embedder.embed(&[query], Role::Query)?;
        vectors.pop().ok_or_else(|| KbError::Input("the embedding model returned no vector".into()))
    }

    /// The current snapshot, rebuilt when the store changed since it was taken.
    pub fn snapshot(&self) -> Result<Arc<Snapshot>, KbError> {
        let fingerprint = self.store.kb_fingerprint()?;
        let mut cached = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cached.as_ref().filter(|s| s.fingerprint == fingerprint) {
            return Ok(s.clone());
        }
        let dim = self.embedder.dim();
        if dim == 0 {
            return Err(KbError::Embed(EmbedError::Model("the embedding model could not be loaded".into())));
        }
        let documents = self.store.kb_documents()?;
        let chunks = self.store.kb_chunks(self.embedder.model_id())?;
        let snapshot = Snapshot::build(fingerprint, dim, documents, chunks)
            .map_err(|e| KbError::Input(format!("a stored vector does not fit the model: {e}")))?;
        let snapshot = Arc::new(snapshot);
        *cached = Some(snapshot.clone());
        Ok(snapshot)
    }
}

fn added(doc: KbDocument, origin: String, outcome: KbPutOutcome, converted_paragraphs: usize) -> Added {
    Added { key: doc.key, origin, outcome, chunks: doc.chunks, converted_paragraphs }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A query must say something, and not too much.
fn check_query(query: &str) -> Result<&str, KbError> {
    const MAX_QUERY_CHARS: usize = 2000;
    let query = query.trim();
    if query.is_empty() {
        return Err(KbError::Input("the query is empty".into()));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(KbError::Input(format!("the query is longer than {MAX_QUERY_CHARS} characters")));
    }
    Ok(query)
}

/// The file itself, or the knowledge-base files under a directory (sorted;
/// hidden entries and README files skipped).
fn files_under(path: &Path) -> Result<Vec<PathBuf>, KbError> {
    let meta = std::fs::metadata(path).map_err(|e| KbError::Input(format!("{}: {e}", path.display())))?;
    if meta.is_file() {
        if !has_kb_extension(path) {
            return Err(KbError::Input(format!(
                "{}: not a knowledge-base file (expected .md, .markdown or .txt)",
                path.display()
            )));
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    collect(path, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(KbError::Input(format!("{}: no .md, .markdown or .txt files in it", path.display())));
    }
    Ok(files)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), KbError> {
    let entries = std::fs::read_dir(dir).map_err(|e| KbError::Input(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry.map_err(|e| KbError::Input(format!("{}: {e}", dir.display())))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        if name.starts_with('.') || name.starts_with("readme") {
            continue;
        }
        if path.is_dir() {
            collect(&path, files)?;
        } else if has_kb_extension(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn has_kb_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| document::EXTENSIONS.contains(&e.to_lowercase().as_str()))
}

fn check_unique_keys(parsed: &[(ParsedDocument, String, String)]) -> Result<(), KbError> {
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for (doc, origin, _) in parsed {
        if let Some(first) = seen.insert(&doc.key, origin) {
            return Err(KbError::Input(format!(
                "{origin} and {first} would both be the document `{}`: rename one",
                doc.key
            )));
        }
    }
    Ok(())
}
