//! Hybrid retrieval over an in-memory snapshot of the knowledge base: the
//! nearest passages by embedding, Khmer-aware keyword overlap, and name/alias
//! matches, each ranking documents, fused by reciprocal rank.

use crate::text::{name_key, words};
use molt_core::knowledge::{KbChunk, KbDocument};
use molt_khmer::{has_khmer, Segmenter};
use molt_vector::{FlatIndex, IndexError, VectorIndex};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Passages the vector ranking considers.
const VECTOR_CANDIDATES: usize = 64;
/// A name fragment shorter than this (in characters) never counts as a name match.
const MIN_NAME_FRAGMENT: usize = 3;

/// A passage held in memory, with its words for keyword matching.
#[derive(Debug)]
struct Passage {
    document_id: i64,
    heading: Option<String>,
    text: String,
    words: HashSet<String>,
    /// Normalised text without spaces, for Khmer fragments inside longer words.
    compact: String,
}

/// The knowledge base as searched: rebuilt when the store's fingerprint changes.
pub struct Snapshot {
    pub(crate) fingerprint: (i64, i64),
    index: FlatIndex,
    passages: HashMap<i64, Passage>,
    documents: HashMap<i64, Arc<KbDocument>>,
    /// (name key, document id) for each document's name, title and aliases.
    names: Vec<(String, i64)>,
    idf: HashMap<String, f64>,
}

/// A document found, with its best passage and the evidence for it.
#[derive(Debug, Clone)]
pub struct DocumentHit {
    pub document: Arc<KbDocument>,
    pub heading: Option<String>,
    pub passage: String,
    /// Fused score (reciprocal-rank fusion; only the order means something).
    pub score: f64,
    /// Cosine similarity of the best passage to the query.
    pub cosine: f32,
    /// Share of the query's word weight (idf) found in the best passage, 0..=1.
    pub keywords: f64,
    /// The query names this document (its name, title or an alias).
    pub name_match: bool,
}

impl Snapshot {
    /// Builds the snapshot from stored documents and chunks.
    pub fn build(
        fingerprint: (i64, i64),
        dim: usize,
        documents: Vec<KbDocument>,
        chunks: Vec<KbChunk>,
    ) -> Result<Snapshot, IndexError> {
        let mut index = FlatIndex::new(dim);
        let documents: HashMap<i64, Arc<KbDocument>> =
            documents.into_iter().map(|d| (d.id, Arc::new(d))).collect();
        let mut passages = HashMap::new();
        for chunk in chunks.into_iter().filter(|c| documents.contains_key(&c.document_id)) {
            index.insert(chunk.id, &chunk.embedding)?;
            let title = &documents[&chunk.document_id].title_norm;
            let words = chunk
                .text_norm
                .split(' ')
                .chain(title.split(' '))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            let compact = chunk.text_norm.replace(' ', "");
            let passage = Passage {
                document_id: chunk.document_id,
                heading: chunk.heading,
                text: chunk.text,
                words,
                compact,
            };
            passages.insert(chunk.id, passage);
        }
        let idf = inverse_document_frequencies(&passages);
        let names = documents.values().flat_map(|d| name_keys(d).into_iter().map(|k| (k, d.id))).collect();
        Ok(Snapshot { fingerprint, index, passages, documents, names, idf })
    }

    pub fn documents(&self) -> impl Iterator<Item = &Arc<KbDocument>> {
        self.documents.values()
    }

    pub fn is_empty(&self) -> bool {
        self.passages.is_empty()
    }

    /// The `k` best documents for a query (its embedding given), among those `keep` accepts.
    pub fn search(
        &self,
        segmenter: &Segmenter,
        query: &str,
        embedding: &[f32],
        k: usize,
        keep: &dyn Fn(&KbDocument) -> bool,
    ) -> Vec<DocumentHit> {
        let kept = |chunk_id: i64| {
            self.passages.get(&chunk_id).is_some_and(|p| keep(&self.documents[&p.document_id]))
        };
        let by_vector = self.vector_ranking(embedding, &kept);
        let query_words = unique_words(segmenter, query);
        let by_keywords = self.keyword_ranking(&query_words, &kept);
        let by_name = self.name_ranking(query, keep);
        let mut fused: HashMap<i64, f64> = HashMap::new();
        for ranking in [&by_vector, &by_keywords, &by_name] {
            for (rank, (doc, _, _)) in ranking.iter().enumerate() {
                *fused.entry(*doc).or_default() += molt_vector::rrf_term(rank);
            }
        }
        let mut hits: Vec<DocumentHit> = fused
            .into_iter()
            .map(|(doc, score)| self.hit(doc, score, &by_vector, &by_keywords, &by_name))
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.cosine.total_cmp(&a.cosine)));
        hits.truncate(k);
        hits
    }

    /// Documents by their best passage's cosine: (document, chunk, cosine).
    fn vector_ranking(&self, embedding: &[f32], kept: &dyn Fn(i64) -> bool) -> Vec<(i64, i64, f64)> {
        let mut seen = HashSet::new();
        self.index
            .search_where(embedding, VECTOR_CANDIDATES, kept)
            .into_iter()
            .filter_map(|hit| {
                let doc = self.passages[&hit.id].document_id;
                seen.insert(doc).then_some((doc, hit.id, f64::from(hit.score)))
            })
            .collect()
    }

    /// Documents by their best passage's keyword score: (document, chunk, score).
    fn keyword_ranking(&self, query_words: &[String], kept: &dyn Fn(i64) -> bool) -> Vec<(i64, i64, f64)> {
        let total: f64 = query_words.iter().map(|w| self.idf_of(w)).sum();
        if total <= 0.0 {
            return Vec::new();
        }
        let mut best: HashMap<i64, (i64, f64)> = HashMap::new();
        for (&chunk_id, passage) in self.passages.iter().filter(|(id, _)| kept(**id)) {
            let found: f64 = query_words.iter().filter(|w| passage.has(w)).map(|w| self.idf_of(w)).sum();
            let score = found / total;
            let entry = best.entry(passage.document_id).or_insert((chunk_id, 0.0));
            if score > entry.1 || (score == entry.1 && chunk_id < entry.0) {
                *entry = (chunk_id, score);
            }
        }
        let mut ranked: Vec<(i64, i64, f64)> =
            best.into_iter().filter(|(_, (_, s))| *s > 0.0).map(|(d, (c, s))| (d, c, s)).collect();
        ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        ranked
    }

    /// Documents whose name, title or an alias the query names (or is a
    /// fragment of): exact matches first, then by how much of the name matched.
    fn name_ranking(&self, query: &str, keep: &dyn Fn(&KbDocument) -> bool) -> Vec<(i64, i64, f64)> {
        let q = name_key(query);
        if q.chars().count() < MIN_NAME_FRAGMENT {
            return Vec::new();
        }
        let mut best: HashMap<i64, f64> = HashMap::new();
        for (name, doc) in &self.names {
            let overlap = if *name == q {
                2.0
            } else if name.contains(&q)
                || (q.contains(name.as_str()) && name.chars().count() >= MIN_NAME_FRAGMENT)
            {
                q.chars().count().min(name.chars().count()) as f64
                    / q.chars().count().max(name.chars().count()) as f64
            } else {
                continue;
            };
            if keep(&self.documents[doc]) {
                let entry = best.entry(*doc).or_default();
                *entry = entry.max(overlap);
            }
        }
        let mut ranked: Vec<(i64, i64, f64)> = best.into_iter().map(|(d, s)| (d, 0, s)).collect();
        ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        ranked
    }

    /// The hit for `doc`: its best passage by keywords when they matched well,
    /// else its nearest passage by embedding.
    fn hit(
        &self,
        doc: i64,
        score: f64,
        by_vector: &[(i64, i64, f64)],
        by_keywords: &[(i64, i64, f64)],
        by_name: &[(i64, i64, f64)],
    ) -> DocumentHit {
        let find =
            |ranking: &[(i64, i64, f64)]| ranking.iter().find(|(d, _, _)| *d == doc).map(|&(_, c, s)| (c, s));
        let vector = find(by_vector);
        let keywords = find(by_keywords);
        let chunk = match (keywords, vector) {
            (Some((c, s)), _) if s >= 0.5 => c,
            (_, Some((c, _))) => c,
            (Some((c, _)), None) => c,
            (None, None) => self.first_chunk(doc),
        };
        let passage = &self.passages[&chunk];
        DocumentHit {
            document: self.documents[&doc].clone(),
            heading: passage.heading.clone(),
            passage: passage.text.clone(),
            score,
            cosine: vector.map_or(0.0, |(_, s)| s as f32),
            keywords: keywords.map_or(0.0, |(_, s)| s),
            name_match: find(by_name).is_some(),
        }
    }

    /// The first passage of `doc` (its lead, which introduces the subject).
    pub fn lead_passage(&self, doc: i64) -> Option<String> {
        self.passages.get(&self.first_chunk(doc)).map(|p| p.text.clone())
    }

    fn first_chunk(&self, doc: i64) -> i64 {
        self.passages
            .iter()
            .filter(|(_, p)| p.document_id == doc)
            .map(|(id, _)| *id)
            .min()
            .unwrap_or_default()
    }

    fn idf_of(&self, word: &str) -> f64 {
        self.idf.get(word).copied().unwrap_or_else(|| self.unseen_idf(word))
    }

    /// A word no passage has as a whole word may still be a Khmer fragment
    /// inside longer words: weigh it by the passages that contain it.
    fn unseen_idf(&self, word: &str) -> f64 {
        if !has_khmer(word) {
            return idf(0, self.passages.len());
        }
        let containing = self.passages.values().filter(|p| p.compact.contains(word)).count();
        idf(containing, self.passages.len())
    }

    /// The document ids whose entity is one of `names` (name keys) of kind `kind`.
    pub fn documents_named(
        &self,
        kind: molt_core::knowledge::EntityKind,
        names: &[String],
    ) -> Vec<Arc<KbDocument>> {
        let keys: HashSet<String> = names.iter().map(|n| name_key(n)).filter(|k| !k.is_empty()).collect();
        let mut found: Vec<Arc<KbDocument>> = self
            .documents
            .values()
            .filter(|d| d.entity.as_ref().is_some_and(|e| e.kind == kind))
            .filter(|d| name_keys(d).iter().any(|k| keys.contains(k)))
            .cloned()
            .collect();
        found.sort_by_key(|d| d.id);
        found
    }

    /// The passage of `doc` nearest to `embedding`.
    pub fn best_passage(&self, doc: i64, embedding: &[f32]) -> Option<(Option<String>, String, f32)> {
        let hit = self
            .index
            .search_where(embedding, 1, &|id| self.passages.get(&id).is_some_and(|p| p.document_id == doc));
        let hit = hit.first()?;
        let p = &self.passages[&hit.id];
        Some((p.heading.clone(), p.text.clone(), hit.score))
    }
}

impl Passage {
    fn has(&self, word: &str) -> bool {
        self.words.contains(word)
            || (has_khmer(word) && word.chars().count() >= 2 && self.compact.contains(word))
    }
}

fn unique_words(segmenter: &Segmenter, query: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    words(segmenter, query).into_iter().filter(|w| seen.insert(w.clone())).collect()
}

/// Smoothed inverse document frequency (BM25's, floored at a small positive value
/// so that a word in every passage still counts a little).
fn idf(containing: usize, total: usize) -> f64 {
    let (n, df) = (total as f64, containing as f64);
    ((n - df + 0.5) / (df + 0.5) + 1.0).ln().max(0.01)
}

fn inverse_document_frequencies(passages: &HashMap<i64, Passage>) -> HashMap<String, f64> {
    let mut df: HashMap<&str, usize> = HashMap::new();
    for p in passages.values() {
        for w in &p.words {
            *df.entry(w.as_str()).or_default() += 1;
        }
    }
    df.into_iter().map(|(w, n)| (w.to_string(), idf(n, passages.len()))).collect()
}

/// Lookup keys for a document's entity name, title and aliases.
fn name_keys(doc: &KbDocument) -> Vec<String> {
    let entity = doc.entity.as_ref().map(|e| e.name.as_str());
    let title_head = doc.title.split(" (").next();
    entity
        .into_iter()
        .chain(title_head)
        .chain(doc.aliases.iter().map(String::as_str))
        .map(name_key)
        .filter(|k| !k.is_empty())
        .collect()
}
