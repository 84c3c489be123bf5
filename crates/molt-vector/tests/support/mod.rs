//! Synthetic vectors for the tests and the benchmark (which includes this file
//! with `#[path]`), and a brute-force reference.
//!
//! Embedding-like data. Real multilingual-e5 vectors are not spread over the
//! sphere: they all share a large common direction (cosines between unrelated
//! sentences are 0.75–0.85), and they cluster by topic, with near-duplicates
//! inside a topic (a chorus sung twice, a line and its variant). The generator
//! builds each unit vector as
//!
//! ```text
//! normalise( a·offset + b·topic + c·subtopic + d·noise )
//! ```
//!
//! with unit random directions: one `offset` shared by all vectors, a few
//! hundred `topic` centres, a few `subtopic` centres per topic, and fresh
//! Gaussian `noise` per vector. a² = 0.78, b² = 0.08, c² = 0.07, and d² is
//! drawn per vector from 0.03–0.11 (some lines are typical of their topic,
//! some are not). Expected cosines: ≈ 0.78 between topics, ≈ 0.86 within a
//! topic, ≈ 0.93 within a subtopic. Topics are drawn with a skew (a few large,
//! many small), like songs per genre. Queries come from the same generator,
//! so they are new points near the data, not copies of it.
//!
//! Uniform random unit vectors (`uniform`) are the other case: no structure at
//! all, where every neighbour is about as far as every other.

#![allow(dead_code)] // each test binary and the benchmark use part of it

pub mod files;

use std::time::{Duration, Instant};

use molt_vector::Hit;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A standard normal value (Box–Muller).
fn gaussian(rng: &mut StdRng) -> f32 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
    let u2: f64 = rng.random();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    molt_vector::normalize(&mut v).expect("a random Gaussian vector is not zero");
    v
}

/// A uniformly random unit vector.
pub fn random_unit(rng: &mut StdRng, dim: usize) -> Vec<f32> {
    unit((0..dim).map(|_| gaussian(rng)).collect())
}

/// `n` uniformly random unit vectors.
pub fn uniform(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| random_unit(&mut rng, dim)).collect()
}

/// The embedding-like generator described in the module docs.
pub struct EmbeddingLike {
    dim: usize,
    offset: Vec<f32>,
    topics: Vec<Vec<f32>>,
    /// `SUBTOPICS` a topic, topic after topic.
    subtopics: Vec<Vec<f32>>,
    rng: StdRng,
}

const TOPICS: usize = 300;
const SUBTOPICS: usize = 8;

impl EmbeddingLike {
    pub fn new(dim: usize, seed: u64) -> EmbeddingLike {
        let mut rng = StdRng::seed_from_u64(seed);
        let offset = random_unit(&mut rng, dim);
        let topics = (0..TOPICS).map(|_| random_unit(&mut rng, dim)).collect();
        let subtopics = (0..TOPICS * SUBTOPICS).map(|_| random_unit(&mut rng, dim)).collect();
        EmbeddingLike { dim, offset, topics, subtopics, rng }
    }

    /// The next vector.
    pub fn sample(&mut self) -> Vec<f32> {
        // Skewed topic sizes: the square of a uniform favours low topic numbers.
        let t = ((self.rng.random::<f64>().powi(2)) * TOPICS as f64) as usize;
        let s = t * SUBTOPICS + self.rng.random_range(0..SUBTOPICS);
        let d = self.rng.random_range(0.03f32..0.11).sqrt();
        let noise = random_unit(&mut self.rng, self.dim);
        let (a, b, c) = (0.78f32.sqrt(), 0.08f32.sqrt(), 0.07f32.sqrt());
        unit(
            (0..self.dim)
                .map(|i| a * self.offset[i] + b * self.topics[t][i] + c * self.subtopics[s][i] + d * noise[i])
                .collect(),
        )
    }

    pub fn take(&mut self, n: usize) -> Vec<Vec<f32>> {
        (0..n).map(|_| self.sample()).collect()
    }
}

/// The exact top `k` by brute force in f64: ids of `vectors` are their
/// positions. Best first, ties by id.
pub fn brute_force(vectors: &[Vec<f32>], query: &[f32], k: usize) -> Vec<Hit> {
    let mut all: Vec<(f64, i64)> = vectors
        .iter()
        .enumerate()
        .map(|(id, v)| (v.iter().zip(query).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum(), id as i64))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(score, id)| Hit { id, score: score as f32 }).collect()
}

/// The share of `truth`'s ids that `found` has.
pub fn recall(found: &[Hit], truth: &[Hit]) -> f64 {
    if truth.is_empty() {
        return 1.0;
    }
    let hits = truth.iter().filter(|t| found.iter().any(|f| f.id == t.id)).count();
    hits as f64 / truth.len() as f64
}

/// Runs every query once, after the first `warmup` of them unmeasured, one at
/// a time on this thread; the latency of each, and what each found.
pub fn time_queries(
    queries: &[Vec<f32>],
    warmup: usize,
    search: &mut dyn FnMut(&[f32]) -> Vec<Hit>,
) -> (Vec<Duration>, Vec<Vec<Hit>>) {
    for q in queries.iter().take(warmup) {
        std::hint::black_box(search(q));
    }
    let mut latencies = Vec::with_capacity(queries.len());
    let mut found = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        let hits = std::hint::black_box(search(q));
        latencies.push(started.elapsed());
        found.push(hits);
    }
    (latencies, found)
}

/// The `p` quantile (0–1) of `sorted` latencies, by nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
