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

/// Query vectors already computed, by query text: a listener's repeated or
/// popular query skips the model (≈ 30 ms on 2 cores, most of a search).
/// Bounded: two generations of at most `capacity / 2` entries each; when the
/// newer one fills up, the older is dropped whole (a cheap approximation of
/// least-recently-used: an entry read from the older one moves to the newer).
pub struct QueryVectors {
    capacity: usize,
    generations: Mutex<Generations>,
}

/// The newer and the older generation of remembered query vectors.
type Generations = (HashMap<String, Arc<[f32]>>, HashMap<String, Arc<[f32]>>);

impl QueryVectors {
    pub fn new(capacity: usize) -> QueryVectors {
        QueryVectors { capacity: capacity.max(2), generations: Mutex::new((HashMap::new(), HashMap::new())) }
    }

    /// The vector of `query` for `model`, if computed before.
    pub fn get(&self, model: &str, query: &str) -> Option<Arc<[f32]>> {
        let key = cache_key(model, query);
        let mut g = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = g.0.get(&key) {
            return Some(v.clone());
        }
        let v = g.1.remove(&key)?;
        self.insert_locked(&mut g, key, v.clone());
        Some(v)
    }

    pub fn put(&self, model: &str, query: &str, vector: Arc<[f32]>) {
        let mut g = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        self.insert_locked(&mut g, cache_key(model, query), vector);
    }

    fn insert_locked(&self, g: &mut Generations, key: String, vector: Arc<[f32]>) {
        if g.0.len() >= self.capacity / 2 {
            g.1 = std::mem::take(&mut g.0);
        }
        g.0.insert(key, vector);
    }

    pub fn len(&self) -> usize {
        let g = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        g.0.len() + g.1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The model is part of the key: vectors of two models never mix.
fn cache_key(model: &str, query: &str) -> String {
    format!("{model}\u{0}{query}")
}

#[cfg(test)]
mod tests {
    use super::QueryVectors;
    use std::sync::Arc;

    #[test]
    fn query_vectors_are_bounded_and_keep_what_is_read() {
        let cache = QueryVectors::new(4);
        let v = |x: f32| -> Arc<[f32]> { Arc::from(vec![x]) };
        cache.put("m", "a", v(1.0));
        cache.put("m", "b", v(2.0));
        cache.put("m", "c", v(3.0));
        assert_eq!(cache.get("m", "a").as_deref(), Some(&[1.0][..]), "read from the older generation");
        cache.put("m", "d", v(4.0));
        cache.put("m", "e", v(5.0));
        assert!(cache.len() <= 4);
        assert!(cache.get("m", "b").is_none(), "the least recently used went first");
        assert!(cache.get("other", "e").is_none(), "another model's vectors are not shared");
        assert!(cache.get("m", "e").is_some());
    }
}
