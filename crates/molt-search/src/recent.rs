//! A bounded map of recently used entries, for the service's caches (query
//! vectors, answers).
//!
//! Two generations of at most `capacity / 2` entries each: when the newer one
//! fills up, the older is dropped whole. An entry read from the older one moves
//! to the newer, so what is in use survives — a cheap approximation of
//! least-recently-used with one lock and no per-entry bookkeeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

pub struct Recent<K, V> {
    capacity: usize,
    generations: Mutex<(HashMap<K, V>, HashMap<K, V>)>,
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    pub fn new(capacity: usize) -> Recent<K, V> {
        Recent { capacity: capacity.max(2), generations: Mutex::new((HashMap::new(), HashMap::new())) }
    }

    pub fn get(&self, key: &K) -> Option<V>
    where
        K: Clone,
    {
        let mut g = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = g.0.get(key) {
            return Some(v.clone());
        }
        let v = g.1.remove(key)?;
        self.insert(&mut g, key.clone(), v.clone());
        Some(v)
    }

    pub fn put(&self, key: K, value: V) {
        let mut g = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        self.insert(&mut g, key, value);
    }

    fn insert(&self, g: &mut (HashMap<K, V>, HashMap<K, V>), key: K, value: V) {
        if g.0.len() >= self.capacity / 2 && !g.0.contains_key(&key) {
            g.1 = std::mem::take(&mut g.0);
        }
        g.0.insert(key, value);
    }

    pub fn len(&self) -> usize {
        let g = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        g.0.len() + g.1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn bounded_and_keeps_what_is_read() {
        let cache = Recent::new(4);
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            cache.put(k, v);
        }
        assert_eq!(cache.get(&"a"), Some(1), "read from the older generation, moved to the newer");
        cache.put("d", 4);
        cache.put("e", 5);
        assert!(cache.len() <= 4);
        assert_eq!(cache.get(&"b"), None, "the least recently used went first");
        assert_eq!(cache.get(&"e"), Some(5));
        cache.put("e", 6);
        assert_eq!(cache.get(&"e"), Some(6), "a put replaces");
    }
}
