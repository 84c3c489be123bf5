//! Song views, counted in memory and added to the store in batches.
//!
//! A learner opening a song page or its lyrics is a read; writing a row per
//! read would put the single SQLite writer on the hottest path. So views are
//! counted here and [`ViewCounter::flush`]ed every few seconds (`molt serve`)
//! and at shutdown. What a crash can lose is the views of the last few
//! seconds — statistics, never a song or a paid-for result. A flush that
//! fails puts its counts back, so a store hiccup loses nothing.
//!
//! Views are attributed to the UTC day of the flush (off by at most one flush
//! interval around midnight).

use molt_store::{SongViews, StoreError, ViewStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct ViewCounter {
    store: Arc<dyn ViewStore>,
    pending: Mutex<HashMap<i64, u64>>,
}

impl ViewCounter {
    pub fn new(store: Arc<dyn ViewStore>) -> ViewCounter {
        ViewCounter { store, pending: Mutex::new(HashMap::new()) }
    }

    /// One view of `song_id` (call it only for learners and fans, not staff).
    pub fn record(&self, song_id: i64) {
        *self.lock().entry(song_id).or_default() += 1;
    }

    /// Views counted and not yet stored.
    pub fn pending(&self) -> u64 {
        self.lock().values().sum()
    }

    /// Stores the counted views under today's UTC day; returns how many the
    /// store kept (views of songs deleted meanwhile are dropped).
    pub fn flush(&self) -> Result<u64, StoreError> {
        self.flush_as(&molt_core::time::day_ago(0))
    }

    /// [`Self::flush`] under a given day (`YYYY-MM-DD`).
    pub fn flush_as(&self, day: &str) -> Result<u64, StoreError> {
        let taken = std::mem::take(&mut *self.lock());
        if taken.is_empty() {
            return Ok(0);
        }
        let batch: Vec<SongViews> = taken
            .iter()
            .map(|(&song_id, &views)| SongViews { song_id, day: day.to_string(), views })
            .collect();
        self.store.record_views(&batch).inspect_err(|_| {
            // Put them back for the next flush: views counted meanwhile add up.
            let mut pending = self.lock();
            for (song_id, views) in taken {
                *pending.entry(song_id).or_default() += views;
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, u64>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use molt_store::{PopularSong, StoreResult};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A store that refuses while `down`, and remembers what it was given.
    #[derive(Default)]
    struct Flaky {
        down: AtomicBool,
        stored: Mutex<Vec<SongViews>>,
    }

    impl ViewStore for Flaky {
        fn record_views(&self, views: &[SongViews]) -> StoreResult<u64> {
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Closed);
            }
            self.stored.lock().unwrap().extend_from_slice(views);
            Ok(views.iter().map(|v| v.views).sum())
        }
        fn popular_songs(&self, _: &str, _: usize) -> StoreResult<Vec<PopularSong>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_failed_flush_keeps_the_views_for_the_next_one() {
        let store = Arc::new(Flaky::default());
        let counter = ViewCounter::new(store.clone());
        assert_eq!(counter.flush().unwrap(), 0, "nothing counted, nothing written");
        counter.record(7);
        counter.record(7);
        store.down.store(true, Ordering::SeqCst);
        assert!(counter.flush_as("2026-11-21").is_err());
        assert_eq!(counter.pending(), 2);
        counter.record(7);
        counter.record(8);
        store.down.store(false, Ordering::SeqCst);
        assert_eq!(counter.flush_as("2026-11-21").unwrap(), 4);
        let mut stored = store.stored.lock().unwrap().clone();
        stored.sort_by_key(|v| v.song_id);
        let day = "2026-11-21".to_string();
        assert_eq!(
            stored,
            [SongViews { song_id: 7, day: day.clone(), views: 3 }, SongViews { song_id: 8, day, views: 1 }]
        );
        assert_eq!(counter.pending(), 0);
    }
}
