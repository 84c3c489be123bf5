//! Keeping the `k` best hits of a scan, in O(n log k) with a bounded heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::Hit;

/// A hit ordered so that the *worse* of two compares greater: a lower score,
/// or on equal scores the higher id. The heap's top is then the worst kept hit,
/// the one a better hit replaces, and ties are broken by id whatever the order
/// of the scan.
#[derive(Debug, Clone, Copy)]
struct Worse(Hit);

impl Ord for Worse {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.score.total_cmp(&self.0.score).then(self.0.id.cmp(&other.0.id))
    }
}

impl PartialOrd for Worse {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Worse {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Worse {}

/// The best `k` hits seen so far.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Worse>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> TopK {
        TopK { k, heap: BinaryHeap::with_capacity(k.saturating_add(1).min(4096)) }
    }

    /// Whether a hit with `score` could be kept. Cheap, and called before the
    /// caller's filter, so the filter runs only for the few rows that matter.
    #[inline]
    pub(crate) fn admits(&self, score: f32) -> bool {
        if self.heap.len() < self.k {
            return true;
        }
        // Equal scores may still win on the id. An empty full heap means k = 0.
        self.heap.peek().is_some_and(|worst| score.total_cmp(&worst.0.score).is_ge())
    }

    pub(crate) fn push(&mut self, hit: Hit) {
        if self.heap.len() < self.k {
            self.heap.push(Worse(hit));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if Worse(hit) < *worst {
                *worst = Worse(hit);
            }
        }
    }

    /// The kept hits, best first.
    pub(crate) fn into_sorted(self) -> Vec<Hit> {
        self.heap.into_sorted_vec().into_iter().map(|w| w.0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: i64, score: f32) -> Hit {
        Hit { id, score }
    }

    #[test]
    fn keeps_the_best_k_best_first_ties_by_id() {
        let mut top = TopK::new(3);
        for h in [hit(5, 0.5), hit(1, 0.9), hit(9, 0.7), hit(3, 0.7), hit(2, 0.1), hit(4, 0.7)] {
            if top.admits(h.score) {
                top.push(h);
            }
        }
        assert_eq!(top.into_sorted(), vec![hit(1, 0.9), hit(3, 0.7), hit(4, 0.7)]);
    }

    #[test]
    fn k_zero_keeps_nothing() {
        let mut top = TopK::new(0);
        assert!(!top.admits(1.0));
        top.push(hit(1, 1.0));
        assert!(top.into_sorted().is_empty());
    }

    #[test]
    fn admits_only_what_could_enter() {
        let mut top = TopK::new(1);
        assert!(top.admits(-1.0));
        top.push(hit(7, 0.5));
        assert!(top.admits(0.5), "an equal score may win on a lower id");
        assert!(!top.admits(0.4));
        top.push(hit(8, 0.5));
        assert_eq!(top.into_sorted(), vec![hit(7, 0.5)]);
    }
}
