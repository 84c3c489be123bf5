//! The local Historian: the `context` stage provider `local_historian:kb`.
//!
//! For a song it gathers documents from the knowledge base and scores each
//! one's **relevance**, in [0, 1], by how the document is tied to the song:
//!
//! | relevance | the document is about… | found by |
//! |---|---|---|
//! | 1.0 | this work | the song's title or romanised title is the document's name or an alias (`entity: work`) |
//! | 0.9 | the song's artist | an artist name of the song is the document's name or an alias (`entity: artist`), or the work's document links it |
//! | 0.8 | the song's era, genre or place | a link (`related:`) from the work's or the artist's document, or (eras) the song's year inside the era's `years` |
//! | ≤ 0.7 | something that reads like the song | embedding similarity only: `0.7 × clamp((cos − 0.80) / 0.12)` |
//!
//! The stage's relevance is the best of its facts'. The quality gate's default
//! threshold (0.80) therefore asks for a fact anchored to the song by name,
//! link or year; similarity alone never passes it, because e5 gives unrelated
//! texts cosines of 0.75–0.85 (shared/notes/model-formats.md) and a fact that
//! merely sounds similar may be about another song.
//!
//! The first call looks at the work itself (and what its document links). When
//! the runner asks again with `broaden` (E004: low relevance), the Historian
//! widens in the order the SOP gives: the artist, then the era, then the genre.

use crate::knowledge::{KbError, KnowledgeBase};
use crate::search::Snapshot;
use async_trait::async_trait;
use molt_core::knowledge::{EntityKind, KbDocument};
use molt_core::ErrorClass;
use molt_pipeline::provider::{Provider, ProviderId};
use molt_pipeline::stages::{Context, ContextInput, ContextOutput, Fact};
use molt_pipeline::{ProviderError, Usage};
use std::collections::HashMap;
use std::sync::Arc;

pub const WORK: f64 = 1.0;
pub const ARTIST: f64 = 0.9;
pub const LINKED: f64 = 0.8;
pub const SIMILAR_MAX: f64 = 0.7;
/// Cosines at or below this say nothing (unrelated e5 pairs reach it)…
const COSINE_FLOOR: f32 = 0.80;
/// …and this much above the floor earns the full similarity share.
const COSINE_SPAN: f32 = 0.12;
/// Longest fact text, in characters.
const FACT_CHARS: usize = 600;
/// Lyric lines that go into the song's query.
const LYRIC_LINES: usize = 4;

pub struct LocalHistorian {
    id: ProviderId,
    kb: Arc<KnowledgeBase>,
    top_k: usize,
    /// Load the starter knowledge base into an empty store before the first answer.
    seed_starter: bool,
}

impl LocalHistorian {
    pub fn new(id: ProviderId, kb: Arc<KnowledgeBase>, top_k: usize, seed_starter: bool) -> LocalHistorian {
        LocalHistorian { id, kb, top_k, seed_starter }
    }
}

#[async_trait]
impl Provider<Context> for LocalHistorian {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn estimate(&self, _: &ContextInput) -> Usage {
        Usage { unit_kind: "query", units: 1.0 }
    }

    async fn call(&self, input: &ContextInput) -> Result<(ContextOutput, Usage), ProviderError> {
        let (kb, input, top_k, seed) = (self.kb.clone(), input.clone(), self.top_k, self.seed_starter);
        let answer = move || {
            if seed {
                crate::starter::ensure_seeded(&kb, "historian")?;
            }
            context_for(&kb, &input, top_k)
        };
        let output = tokio::task::spawn_blocking(answer)
            .await
            .map_err(|e| ProviderError::new(ErrorClass::Unknown, format!("the Historian task failed: {e}")))?
            .map_err(kb_error)?;
        Ok((output, Usage { unit_kind: "query", units: 1.0 }))
    }
}

fn kb_error(e: KbError) -> ProviderError {
    let class = match &e {
        KbError::Store(_) => ErrorClass::Infrastructure,
        KbError::Embed(_) => ErrorClass::Infrastructure,
        KbError::Document { .. } | KbError::Input(_) => ErrorClass::SchemaData,
    };
    ProviderError::new(class, format!("knowledge base: {e}"))
}

/// A candidate fact: its document, relevance, reason, and when it was found
/// (earlier wins a tie: direct matches are offered before what they link to).
#[derive(Clone)]
struct Candidate {
    doc: Arc<KbDocument>,
    relevance: f64,
    reason: String,
    order: usize,
}

/// Candidate documents with the best relevance and reason found for each.
#[derive(Default)]
struct Candidates {
    by_doc: HashMap<i64, Candidate>,
}

impl Candidates {
    fn offer(&mut self, doc: &Arc<KbDocument>, relevance: f64, reason: String) {
        let order = self.by_doc.len();
        let candidate = Candidate { doc: doc.clone(), relevance, reason, order };
        let entry =
            self.by_doc.entry(doc.id).or_insert_with(|| Candidate { relevance: -1.0, ..candidate.clone() });
        if relevance > entry.relevance {
            *entry = Candidate { order: entry.order.min(order), ..candidate };
        }
    }

    /// The documents of `kinds` that `doc` links to: its artist (from a work's
    /// document) at `ARTIST`, the rest at `LINKED`.
    fn offer_links(&mut self, snapshot: &Snapshot, doc: &KbDocument, kinds: &[EntityKind]) {
        for link in doc.related.iter().filter(|l| kinds.contains(&l.kind)) {
            let relevance = if link.kind == EntityKind::Artist { ARTIST } else { LINKED };
            for linked in snapshot.documents_named(link.kind, std::slice::from_ref(&link.name)) {
                self.offer(&linked, relevance, format!("{link}, linked from {}", doc.key));
            }
        }
    }
}

/// The context of one song (see the module docs for the relevance scale).
pub fn context_for(kb: &KnowledgeBase, input: &ContextInput, top_k: usize) -> Result<ContextOutput, KbError> {
    let query = song_query(input);
    let embedding = kb.embed_query(&query)?;
    let snapshot = kb.snapshot()?;
    let mut found = Candidates::default();
    let titles: Vec<String> =
        [Some(input.title.clone()), input.title_latin.clone()].into_iter().flatten().collect();
    for work in snapshot.documents_named(EntityKind::Work, &titles) {
        found.offer(&work, WORK, format!("work: {}", entity_name(&work)));
        found.offer_links(&snapshot, &work, &EntityKind::ALL);
    }
    for hit in snapshot.search(kb.segmenter(), &query, &embedding, top_k, &|_| true) {
        found.offer(
            &hit.document,
            similarity(hit.cosine),
            format!("similar text (cosine {:.3})", hit.cosine),
        );
    }
    if input.broaden {
        broaden(kb, &snapshot, input, &embedding, &mut found);
    }
    Ok(output(&snapshot, found, &embedding, top_k))
}

/// E004's wider search: the artist, then the era, then the genre.
fn broaden(
    kb: &KnowledgeBase,
    snapshot: &Snapshot,
    input: &ContextInput,
    embedding: &[f32],
    found: &mut Candidates,
) {
    let mut names = input.artist_names.clone();
    names.push(input.artist.clone());
    let artists = snapshot.documents_named(EntityKind::Artist, &names);
    for artist in &artists {
        found.offer(artist, ARTIST, format!("artist: {}", entity_name(artist)));
    }
    if let Some(year) = input.year.map(|y| y as i32) {
        let mut eras: Vec<&Arc<KbDocument>> =
            snapshot.documents().filter(|d| is_kind(d, EntityKind::Era)).collect();
        eras.sort_by_key(|d| d.years);
        for era in eras.into_iter().filter(|d| d.years.is_some_and(|(from, to)| (from..=to).contains(&year)))
        {
            found.offer(era, LINKED, format!("era: {} covers {year}", entity_name(era)));
        }
    }
    // The artist's other peers are not this song's context; its eras and genres are.
    for kind in [EntityKind::Era, EntityKind::Genre] {
        for artist in &artists {
            found.offer_links(snapshot, artist, &[kind]);
        }
    }
    let genres =
        snapshot.search(kb.segmenter(), &song_query(input), embedding, 2, &|d| is_kind(d, EntityKind::Genre));
    for hit in genres {
        found.offer(
            &hit.document,
            similarity(hit.cosine),
            format!("genre, similar text (cosine {:.3})", hit.cosine),
        );
    }
}

fn is_kind(doc: &KbDocument, kind: EntityKind) -> bool {
    doc.entity.as_ref().is_some_and(|e| e.kind == kind)
}

fn entity_name(doc: &KbDocument) -> &str {
    doc.entity.as_ref().map_or(doc.title.as_str(), |e| e.name.as_str())
}

/// Relevance from similarity alone: at most `SIMILAR_MAX`.
pub fn similarity(cosine: f32) -> f64 {
    f64::from(((cosine - COSINE_FLOOR) / COSINE_SPAN).clamp(0.0, 1.0)) * SIMILAR_MAX
}

/// What the song is, as one query: title, romanised title, artist names, and
/// the first lines of its lyrics.
fn song_query(input: &ContextInput) -> String {
    let mut parts: Vec<&str> = vec![input.title.as_str()];
    parts.extend(input.title_latin.as_deref());
    parts.push(input.artist.as_str());
    parts.extend(input.artist_names.iter().map(String::as_str).filter(|n| *n != input.artist));
    parts.extend(input.lyrics.lines().map(str::trim).filter(|l| !l.is_empty()).take(LYRIC_LINES));
    parts.join(" · ")
}

fn output(snapshot: &Snapshot, found: Candidates, embedding: &[f32], top_k: usize) -> ContextOutput {
    let mut chosen: Vec<Candidate> = found.by_doc.into_values().collect();
    chosen.sort_by(|a, b| b.relevance.total_cmp(&a.relevance).then(a.order.cmp(&b.order)));
    chosen.truncate(top_k);
    let relevance = chosen.first().map_or(0.0, |c| c.relevance);
    let facts = chosen.into_iter().map(|c| fact(snapshot, &c.doc, c.relevance, c.reason, embedding));
    ContextOutput { facts: facts.collect(), relevance }
}

/// A document tied to the song by name or link is quoted from its lead, which
/// introduces the subject; one found by similarity from its nearest passage.
fn fact(snapshot: &Snapshot, doc: &KbDocument, relevance: f64, reason: String, embedding: &[f32]) -> Fact {
    let text = if relevance >= LINKED {
        snapshot.lead_passage(doc.id)
    } else {
        snapshot.best_passage(doc.id, embedding).map(|(_, text, _)| text)
    };
    let text = text.unwrap_or_default();
    Fact {
        text: clip(&text, FACT_CHARS),
        source: citation(doc),
        document: Some(doc.key.clone()),
        relevance: Some(relevance),
        reason: Some(reason),
    }
}

/// `Title — source; source` (the document's own citations).
pub fn citation(doc: &KbDocument) -> String {
    if doc.sources.is_empty() {
        format!("{} (Molt knowledge base, no source given)", doc.title)
    } else {
        format!("{} — {}", doc.title, doc.sources.join("; "))
    }
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", text[..i].trim_end()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_alone_never_reaches_the_gate() {
        assert_eq!(similarity(0.5), 0.0);
        assert_eq!(similarity(0.80), 0.0);
        assert!((similarity(0.86) - 0.35).abs() < 1e-6);
        assert_eq!(similarity(0.99), SIMILAR_MAX);
        const { assert!(SIMILAR_MAX < LINKED && LINKED < ARTIST && ARTIST < WORK) };
    }

    #[test]
    fn the_song_query_has_title_artist_and_first_lyric_lines() {
        let input = ContextInput {
            title: "ចម្ប៉ាបាត់ដំបង".into(),
            title_latin: Some("Champa Battambang".into()),
            artist: "Sinn Sisamouth".into(),
            artist_names: vec!["ស៊ីន ស៊ីសាមុត".into(), "Sinn Sisamouth".into()],
            lyrics: "one\n\ntwo\nthree\nfour\nfive".into(),
            ..ContextInput::default()
        };
        assert_eq!(
            song_query(&input),
            "ចម្ប៉ាបាត់ដំបង · Champa Battambang · Sinn Sisamouth · ស៊ីន ស៊ីសាមុត · one · two · three · four"
        );
    }

    #[test]
    fn long_facts_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("ចម្ប៉ា", 3), "ចម្…");
        assert_eq!(clip("short", 10), "short");
    }
}
