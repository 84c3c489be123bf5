//! The `VectorIndex` contract, checked on every engine in this crate.

mod support;

use molt_vector::{default_index, BinaryIndex, FlatIndex, Hit, IndexError, VectorIndex};

const DIM: usize = 16;

/// Every engine, empty. The binary one with a small oversample, so that its
/// candidate stage runs (not only the "re-score everything" shortcut).
fn engines(dim: usize) -> Vec<(&'static str, Box<dyn VectorIndex>)> {
    vec![
        ("flat", Box::new(FlatIndex::new(dim))),
        ("binary", Box::new(BinaryIndex::new(dim).with_oversample(2))),
        ("binary, not centred", Box::new(BinaryIndex::new(dim).with_oversample(2).without_centring())),
        ("default", default_index(dim)),
    ]
}

/// The unit vector along axis `i`, plus a little of axis `i + 1` so that
/// scores differ.
fn axis(i: usize) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[i % DIM] = 0.8;
    v[(i + 1) % DIM] = 0.6;
    v
}

fn ids(hits: &[Hit]) -> Vec<i64> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn empty_index_finds_nothing() {
    for (name, index) in engines(DIM) {
        assert!(index.is_empty(), "{name}");
        assert_eq!(index.len(), 0, "{name}");
        assert_eq!(index.dim(), DIM, "{name}");
        assert!(index.search(&axis(0), 10).is_empty(), "{name}");
    }
}

#[test]
fn k_zero_and_k_beyond_len() {
    for (name, mut index) in engines(DIM) {
        for i in 0..5 {
            index.insert(i as i64, &axis(i)).unwrap();
        }
        assert!(index.search(&axis(0), 0).is_empty(), "{name}");
        let all = index.search(&axis(0), 100);
        assert_eq!(all.len(), 5, "{name}: k > len gives every vector");
        assert_eq!(all[0], Hit { id: 0, score: 1.0 }, "{name}");
        assert!(all.windows(2).all(|w| w[0].score >= w[1].score), "{name}: best first");
    }
}

#[test]
fn insert_replaces_the_vector_under_an_id() {
    for (name, mut index) in engines(DIM) {
        index.insert(1, &axis(0)).unwrap();
        index.insert(2, &axis(1)).unwrap(); // 0.48 from axis 0
        index.insert(1, &axis(9)).unwrap(); // 0 from axis 0
        assert_eq!(index.len(), 2, "{name}");
        assert_eq!(index.search(&axis(9), 1), vec![Hit { id: 1, score: 1.0 }], "{name}");
        assert_eq!(index.search(&axis(0), 1)[0].id, 2, "{name}: id 1 no longer points along axis 0");
    }
}

#[test]
fn remove_then_reinsert() {
    for (name, mut index) in engines(DIM) {
        for i in 0..6 {
            index.insert(10 + i as i64, &axis(i)).unwrap();
        }
        assert!(index.remove(10), "{name}");
        assert!(!index.remove(10), "{name}: already gone");
        assert!(!index.remove(99), "{name}: never there");
        assert_eq!(index.len(), 5, "{name}");
        assert!(!ids(&index.search(&axis(0), 10)).contains(&10), "{name}");
        // The swap-remove moved the last row (id 15) into row 0: still found.
        assert_eq!(index.search(&axis(5), 1), vec![Hit { id: 15, score: 1.0 }], "{name}");
        index.insert(10, &axis(0)).unwrap();
        assert_eq!(index.search(&axis(0), 1), vec![Hit { id: 10, score: 1.0 }], "{name}");
        assert_eq!(index.len(), 6, "{name}");
        for id in 10..16 {
            assert!(index.remove(id), "{name}");
        }
        assert!(index.is_empty() && index.search(&axis(0), 3).is_empty(), "{name}");
    }
}

#[test]
fn search_where_returns_only_kept_ids() {
    let vectors = support::uniform(300, DIM, 7);
    for (name, mut index) in engines(DIM) {
        for (id, v) in vectors.iter().enumerate() {
            index.insert(id as i64, v).unwrap();
        }
        let even = |id: i64| id % 2 == 0;
        let hits = index.search_where(&vectors[1], 10, &even);
        assert_eq!(hits.len(), 10, "{name}");
        assert!(hits.iter().all(|h| even(h.id)), "{name}");
        // A filter that keeps nothing, and one that keeps a single id.
        assert!(index.search_where(&vectors[1], 10, &|_| false).is_empty(), "{name}");
        let only = index.search_where(&vectors[1], 10, &|id| id == 123);
        assert_eq!(ids(&only), vec![123], "{name}");
    }
}

#[test]
fn filtered_flat_search_is_exact() {
    let vectors = support::uniform(500, DIM, 8);
    let mut index = FlatIndex::new(DIM);
    for (id, v) in vectors.iter().enumerate() {
        index.insert(id as i64, v).unwrap();
    }
    let keep = |id: i64| id % 3 == 0;
    let kept: Vec<Vec<f32>> = vectors.iter().step_by(3).cloned().collect();
    for q in vectors.iter().take(20) {
        let want: Vec<i64> = support::brute_force(&kept, q, 10).iter().map(|h| h.id * 3).collect();
        assert_eq!(ids(&index.search_where(q, 10, &keep)), want);
    }
}

#[test]
fn wrong_dimension_and_non_finite_are_rejected() {
    for (name, mut index) in engines(DIM) {
        let short = vec![0.5; DIM - 1];
        assert_eq!(index.insert(1, &short), Err(IndexError::Dimension { expected: DIM, got: DIM - 1 }));
        let mut nan = axis(0);
        nan[3] = f32::NAN;
        assert_eq!(index.insert(1, &nan), Err(IndexError::NotFinite), "{name}");
        let mut inf = axis(0);
        inf[0] = f32::INFINITY;
        assert_eq!(index.insert(1, &inf), Err(IndexError::NotFinite), "{name}");
        assert!(index.is_empty(), "{name}: nothing was stored");

        index.insert(1, &axis(0)).unwrap();
        assert!(index.search(&short, 5).is_empty(), "{name}: a query of the wrong dimension finds nothing");
        assert!(index.search(&nan, 5).is_empty(), "{name}: a NaN query finds nothing");
    }
}

#[test]
fn equal_scores_are_ordered_by_id() {
    for (name, mut index) in engines(DIM) {
        // Inserted in descending id order, so that row order differs from id order.
        for id in (0..40).rev() {
            index.insert(id, &axis(id as usize % 2)).unwrap();
        }
        let hits = index.search(&axis(0), 5);
        assert_eq!(ids(&hits), vec![0, 2, 4, 6, 8], "{name}");
        assert!(hits.iter().all(|h| h.score == 1.0), "{name}");
    }
}

#[test]
fn indexes_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FlatIndex>();
    assert_send_sync::<BinaryIndex>();
}

#[test]
#[should_panic(expected = "at least one dimension")]
fn zero_dimensions_is_a_programming_error() {
    let _ = FlatIndex::new(0);
}
