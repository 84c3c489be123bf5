//! The in-memory vector index of songs, rebuilt from the store's passage
//! vectors when they changed (the store's fingerprint of `search_lines` moved).
//!
//! # Songs by theme, each passage against its own kind
//!
//! A song is ranked by its *theme score*: the mean, over its title line and
//! lyric passages, of how much nearer the query each passage is than the
//! average passage of its kind. Kinds: the title line, and lyric passages by
//! script ([`molt_khmer::detect_script`]: Khmer, Latin, anything else). Why,
//! measured on the 20,016-song benchmark corpus (docs/BENCHMARKS.md, "Search
//! at scale"; Khmer stanzas with some English lines):
//!
//! - e5 puts an English query nearer to English text than to Khmer text that
//!   means the same (same-language bias). Subtracting each kind's mean
//!   similarity to the query compares a Khmer stanza with Khmer stanzas and an
//!   English line with English lines.
//! - One passage is a noisy witness: among 100,000 passages some stanza of
//!   unrelated words always lands near a description (the right song's best
//!   stanza ranked anywhere from 1st to 13,674th). A song whose passages lean
//!   towards the query on average is the better answer to "a song about …".
//!
//! Neither step alone is enough: of 16 English descriptions of Khmer songs,
//! the right song was among the vector ranking's first five for 3 by nearest
//! passage (the rule before), 3 with per-kind centring alone, 9 by the mean
//! alone, 14 with both.
//!
//! Both steps are linear, so a song's theme score is `q · t` with one vector
//! per song, `t = mean over its passages of (passage − mean of its kind)`,
//! found by an exact scan ([`FlatIndex`]; 20,000 songs ≈ 3 ms). Not the binary
//! engine: its sign codes rank by angle, and `t` is not unit length (a
//! coherent song's is longer); it missed the best song of a test query. A
//! kind with fewer than [`MIN_KIND_PASSAGES`] passages is centred on the mean
//! of all passages instead (its own mean would mostly be those few passages).

use crate::recent::Recent;
use molt_core::search::LineVector;
use molt_khmer::{detect_script, Script};
use molt_store::{SearchStore, StoreError};
use molt_vector::{FlatIndex, VectorIndex};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Kinds with fewer passages are centred on the mean of all passages.
pub const MIN_KIND_PASSAGES: usize = 50;

/// Passage kinds: the title line, then lyric passages by script.
const KINDS: usize = 4;

/// A passage's kind, 0..[`KINDS`]: title line, Khmer, Latin, anything else.
fn kind(line_no: u32, text: &str) -> usize {
    if line_no == 0 {
        return 0;
    }
    match detect_script(text) {
        Script::Khmer => 1,
        Script::Latin => 2,
        _ => 3,
    }
}

/// A passage the index holds.
#[derive(Debug, Clone)]
pub struct Passage {
    pub song_id: i64,
    pub line_no: u32,
    pub text: String,
}

/// A song's passages and their vectors (row-major, in the same order).
struct SongPassages {
    passages: Vec<Passage>,
    vectors: Vec<f32>,
}

pub struct Snapshot {
    fingerprint: (i64, i64),
    dim: usize,
    /// Songs by theme vector `t` (see the module docs).
    themes: FlatIndex,
    songs: HashMap<i64, SongPassages>,
    passages: usize,
}

/// A song found by theme, with its nearest passage.
#[derive(Debug, Clone)]
pub struct SongHit {
    pub song_id: i64,
    /// The theme score (see the module docs): 0 is an average song for this
    /// query, higher is nearer.
    pub score: f32,
    /// The song's nearest passage, and its cosine.
    pub cosine: f32,
    pub passage: Passage,
}

impl Snapshot {
    fn build(fingerprint: (i64, i64), dim: usize, lines: Vec<LineVector>) -> Snapshot {
        let mut kind_sums = vec![vec![0f64; dim]; KINDS];
        let mut kind_counts = [0usize; KINDS];
        let mut songs: HashMap<i64, SongPassages> = HashMap::new();
        let mut song_kinds: HashMap<i64, [usize; KINDS]> = HashMap::new();
        let mut passages = 0;
        for line in lines {
            // A vector that does not fit this model's size is skipped, not fatal.
            if line.embedding.len() != dim || !line.embedding.iter().all(|x| x.is_finite()) {
                continue;
            }
            let k = kind(line.line_no, &line.text);
            kind_counts[k] += 1;
            kind_sums[k].iter_mut().zip(&line.embedding).for_each(|(s, x)| *s += f64::from(*x));
            song_kinds.entry(line.song_id).or_insert([0; KINDS])[k] += 1;
            let song = songs
                .entry(line.song_id)
                .or_insert_with(|| SongPassages { passages: Vec::new(), vectors: Vec::new() });
            song.vectors.extend_from_slice(&line.embedding);
            song.passages.push(Passage { song_id: line.song_id, line_no: line.line_no, text: line.text });
            passages += 1;
        }
        let all = passages.max(1) as f64;
        let overall: Vec<f64> = (0..dim).map(|d| kind_sums.iter().map(|s| s[d]).sum::<f64>() / all).collect();
        let means: Vec<Vec<f32>> = (0..KINDS)
            .map(|k| {
                let n = kind_counts[k];
                let mean =
                    |d: usize| if n >= MIN_KIND_PASSAGES { kind_sums[k][d] / n as f64 } else { overall[d] };
                (0..dim).map(|d| mean(d) as f32).collect()
            })
            .collect();
        let mut themes = FlatIndex::new(dim);
        for (song_id, song) in &songs {
            let counts = song_kinds[song_id];
            let n = song.passages.len() as f32;
            let mut theme = vec![0f32; dim];
            for row in song.vectors.chunks_exact(dim) {
                theme.iter_mut().zip(row).for_each(|(t, x)| *t += x);
            }
            for (k, &count) in counts.iter().enumerate() {
                theme.iter_mut().zip(&means[k]).for_each(|(t, m)| *t -= count as f32 * m);
            }
            theme.iter_mut().for_each(|t| *t /= n);
            // Checked finite and sized above, so this cannot fail.
            let _ = themes.insert(*song_id, &theme);
        }
        Snapshot { fingerprint, dim, themes, songs, passages }
    }

    /// Passages held.
    pub fn len(&self) -> usize {
        self.passages
    }

    pub fn is_empty(&self) -> bool {
        self.passages == 0
    }

    /// At most `k` songs by theme score, best first, each with its nearest passage.
    pub fn songs(&self, query: &[f32], k: usize) -> Vec<SongHit> {
        self.ranked(query, k).into_iter().filter_map(|(id, score)| self.hit(query, id, score)).collect()
    }

    /// At most `k` songs by theme score, best first, as (song id, score):
    /// [`Snapshot::songs`] without the nearest passages, so that a caller
    /// that keeps only some of them (by status, by score) looks for the
    /// nearest passage of those only ([`Snapshot::hit`] finds one for every
    /// song listed here).
    pub fn ranked(&self, query: &[f32], k: usize) -> Vec<(i64, f32)> {
        if query.len() != self.dim {
            return Vec::new();
        }
        self.themes
            .search(query, k)
            .into_iter()
            .filter(|hit| self.songs.get(&hit.id).is_some_and(|s| !s.passages.is_empty()))
            .map(|hit| (hit.id, hit.score))
            .collect()
    }

    /// A song of [`Snapshot::ranked`] with its nearest passage to `query` and its cosine.
    pub fn hit(&self, query: &[f32], song_id: i64, score: f32) -> Option<SongHit> {
        if query.len() != self.dim {
            return None;
        }
        let dot = |v: &[f32]| v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>();
        let song = self.songs.get(&song_id)?;
        let (i, cosine) = song
            .vectors
            .chunks_exact(self.dim)
            .map(dot)
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
        Some(SongHit { song_id, score, cosine, passage: song.passages[i].clone() })
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
/// popular query skips the model (most of a search's time). Bounded
/// ([`crate::recent::Recent`]); the model is part of the key, so vectors of
/// two models never mix.
pub struct QueryVectors(Recent<(String, String), Arc<[f32]>>);

impl QueryVectors {
    pub fn new(capacity: usize) -> QueryVectors {
        QueryVectors(Recent::new(capacity))
    }

    /// The vector of `query` for `model`, if computed before.
    pub fn get(&self, model: &str, query: &str) -> Option<Arc<[f32]>> {
        self.0.get(&(model.to_string(), query.to_string()))
    }

    pub fn put(&self, model: &str, query: &str, vector: Arc<[f32]>) {
        self.0.put((model.to_string(), query.to_string()), vector);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::{QueryVectors, Snapshot};
    use molt_core::search::LineVector;
    use std::sync::Arc;

    fn unit(v: [f32; 4]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// Axes: English, Khmer, the query's topic, noise. 60 English songs lean
    /// towards the query only by language; one Khmer song is about its topic.
    #[test]
    fn each_passage_is_compared_with_its_own_kind() {
        let mut lines = Vec::new();
        let mut line = |song_id: i64, line_no: u32, text: &str, v: [f32; 4]| {
            let id = lines.len() as i64 + 1;
            lines.push(LineVector { id, song_id, line_no, text: text.into(), embedding: unit(v) });
        };
        for i in 0..60 {
            let noise = (i % 7) as f32 / 20.0 - 0.15;
            line(100 + i, 1, "my love the river", [1.0, 0.0, 0.0, noise]);
            line(200 + i, 1, "ស្រលាញ់", [0.0, 1.0, 0.0, noise]);
        }
        line(1, 1, "ទឹកទន្លេហូរ", [0.0, 1.0, 0.5, 0.0]);
        line(1, 5, "ទូកលិច", [0.0, 1.0, 0.3, 0.0]);
        let snapshot = Snapshot::build((0, 0), 4, lines);
        assert_eq!(snapshot.len(), 122);
        let query = unit([0.6, 0.0, 0.8, 0.0]);
        let hits = snapshot.songs(&query, 5);
        assert_eq!(hits[0].song_id, 1, "{hits:?}");
        assert!(hits[0].score > 0.0 && hits[1].score < hits[0].score / 2.0, "{hits:?}");
        // The nearest passage of the song, for the snippet.
        assert_eq!((hits[0].passage.line_no, hits[0].passage.text.as_str()), (1, "ទឹកទន្លេហូរ"));
        // By raw cosine every English passage is nearer (0.59 against 0.36).
        assert!(hits[0].cosine < 0.4);
        assert!(snapshot.songs(&[1.0, 0.0], 5).is_empty(), "a vector of another size finds nothing");
        // The ranking alone, then the nearest passage of the songs kept: the same hits.
        let ranked = snapshot.ranked(&query, 200);
        assert_eq!(ranked.len(), 121);
        let all = snapshot.songs(&query, 200);
        let each: Vec<_> =
            ranked.iter().map(|&(id, score)| snapshot.hit(&query, id, score).unwrap()).collect();
        let key =
            |h: &super::SongHit| (h.song_id, h.score, h.cosine, h.passage.line_no, h.passage.text.clone());
        assert_eq!(all.iter().map(key).collect::<Vec<_>>(), each.iter().map(key).collect::<Vec<_>>());
    }

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
