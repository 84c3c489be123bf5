//! An embedder that remembers: each distinct text is embedded once.
//!
//! The corpus repeats stanzas (each song draws its stanzas from a pool), so
//! indexing 20,000 songs through the real model would embed the same passage
//! many times; this wrapper embeds it once and hands every song the same
//! vector. Every song still gets its own rows in `search_lines`. The vectors
//! are the model's own (same model id), so a server started later on the
//! corpus sees them as current.

use molt_vector::{EmbedError, Embedder, Role};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct CachingEmbedder {
    inner: Arc<dyn Embedder>,
    known: Mutex<HashMap<(bool, String), Vec<f32>>>,
    pub embedded: AtomicUsize,
    pub reused: AtomicUsize,
}

impl CachingEmbedder {
    pub fn new(inner: Arc<dyn Embedder>) -> CachingEmbedder {
        CachingEmbedder {
            inner,
            known: Mutex::new(HashMap::new()),
            embedded: AtomicUsize::new(0),
            reused: AtomicUsize::new(0),
        }
    }
}

fn key(role: Role, text: &str) -> (bool, String) {
    (matches!(role, Role::Query), text.to_string())
}

impl Embedder for CachingEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn embed(&self, texts: &[&str], role: Role) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut missing: Vec<&str> = {
            let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            texts.iter().copied().filter(|t| !known.contains_key(&key(role, t))).collect()
        };
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            // Outside the lock: the model call is the slow part.
            let vectors = self.inner.embed(&missing, role)?;
            let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            for (text, vector) in missing.iter().zip(vectors) {
                known.insert(key(role, text), vector);
            }
        }
        self.embedded.fetch_add(missing.len(), Ordering::Relaxed);
        self.reused.fetch_add(texts.len() - missing.len(), Ordering::Relaxed);
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        Ok(texts.iter().map(|t| known[&key(role, t)].clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts calls; a text's vector is its length.
    struct Counting(AtomicUsize);

    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            "counting"
        }
        fn dim(&self) -> usize {
            1
        }
        fn embed(&self, texts: &[&str], _: Role) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.0.fetch_add(texts.len(), Ordering::Relaxed);
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        }
    }

    #[test]
    fn each_distinct_text_is_embedded_once() {
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = CachingEmbedder::new(inner.clone());
        let v = cache.embed(&["ab", "abc", "ab"], Role::Passage).unwrap();
        assert_eq!(v, [vec![2.0], vec![3.0], vec![2.0]]);
        cache.embed(&["abc", "abcd"], Role::Passage).unwrap();
        assert_eq!(inner.0.load(Ordering::Relaxed), 3);
        cache.embed(&["abc"], Role::Query).unwrap();
        assert_eq!(inner.0.load(Ordering::Relaxed), 4, "a query is not a passage");
        assert_eq!(cache.reused.load(Ordering::Relaxed), 2);
    }
}
