//! The in-memory vector index of passages ([`molt_vector::default_index`]),
//! rebuilt from the store when its passages changed (the store's fingerprint
//! of `search_lines` moved).

use molt_core::search::LineVector;
use molt_store::{SearchStore, StoreError};
use molt_vector::{default_index, VectorIndex};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A passage the index holds.
#[derive(Debug, Clone)]
pub struct Passage {
    pub song_id: i64,
    pub line_no: u32,
    pub text: String,
}

pub struct Snapshot {
    fingerprint: (i64, i64),
    index: Box<dyn VectorIndex>,
    passages: HashMap<i64, Passage>,
}

/// A song's nearest passage to a query.
#[derive(Debug, Clone)]
pub struct SongHit {
    pub song_id: i64,
    pub cosine: f32,
    pub passage: Passage,
}

impl Snapshot {
    fn build(fingerprint: (i64, i64), dim: usize, lines: Vec<LineVector>) -> Snapshot {
        let mut index = default_index(dim);
        let mut passages = HashMap::with_capacity(lines.len());
        for line in lines {
            // A vector that does not fit this model's size is skipped, not fatal.
            if index.insert(line.id, &line.embedding).is_ok() {
                passages.insert(
                    line.id,
                    Passage { song_id: line.song_id, line_no: line.line_no, text: line.text },
                );
            }
        }
        Snapshot { fingerprint, index, passages }
    }

    pub fn len(&self) -> usize {
        self.passages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.passages.is_empty()
    }

    /// Songs by their nearest passage, best first, among `candidates` passages.
    pub fn songs(&self, query: &[f32], candidates: usize) -> Vec<SongHit> {
        let mut seen = std::collections::HashSet::new();
        self.index
            .search(query, candidates)
            .into_iter()
            .filter_map(|hit| {
                let passage = self.passages.get(&hit.id)?;
                seen.insert(passage.song_id).then(|| SongHit {
                    song_id: passage.song_id,
                    cosine: hit.score,
                    passage: passage.clone(),
                })
            })
            .collect()
    }
}

/// The current snapshot for one model, rebuilt on change.
#[derive(Default)]
pub struct VectorCache {
    current: Mutex<Option<Arc<Snapshot>>>,
}

impl VectorCache {
    pub fn snapshot(
        &self,
        store: &dyn SearchStore,
        model: &str,
        dim: usize,
    ) -> Result<Arc<Snapshot>, StoreError> {
        let fingerprint = store.search_lines_fingerprint()?;
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = current.as_ref().filter(|s| s.fingerprint == fingerprint) {
            return Ok(s.clone());
        }
        let snapshot = Arc::new(Snapshot::build(fingerprint, dim, store.search_line_vectors(model)?));
        *current = Some(snapshot.clone());
        Ok(snapshot)
    }
}
