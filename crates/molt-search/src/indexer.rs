//! The indexer: turns a song (title, artist with every alias, newest lyrics)
//! into its index rows, and works through the outbox the store's triggers fill.
//!
//! Per song:
//! - **words** (`search_words`): normalised, ICU-segmented, lower-case words
//!   of the title; of its UNGEGN romanisation and the title in Latin letters;
//!   of every name and alias of the artist with the romanisations of the Khmer
//!   ones; of the lyrics; and the loose keys ([`crate::text::loose_key`]) of
//!   every Latin word among the titles and names;
//! - **substrings** (`search_trigrams`): the same fields in compact form
//!   ([`crate::text::compact`]), one variant per line, and the loose key of
//!   each Latin title and name variant taken whole (so `tuek phnek` meets
//!   `Teukphnaek`, which the dictionary wrote as one word);
//! - **passages** (`search_lines`): line 0 is the title line (`title —
//!   artist`); then each stanza (lines between blank lines) in passages of at
//!   most [`PASSAGE_LINES`] lines, numbered by their first line (1-based).
//!   Each is embedded with the local model (`Role::Passage`) when one is
//!   available; without one the passages are stored without vectors and
//!   queued again once a model is there.

use crate::snippet::display_line;
use crate::text::{compact, is_latin_word, loose_key};
use molt_core::search::{LineVectorOf, SearchEntry, SearchLine, SearchSource, SearchTrigrams, SearchWords};
use molt_khmer::{has_khmer, index_text, name_key, romanize_name, romanize_with, Segmenter};
use molt_store::{SearchStore, StoreError};
use molt_vector::{Embedder, Role};
use std::collections::HashSet;
use std::sync::Arc;

/// Lines per embedded passage.
pub const PASSAGE_LINES: usize = 4;
/// Passages embedded per song at most (the lyrics beyond are still in the full-text index).
pub const MAX_PASSAGES: usize = 64;
/// Passages per model call.
const EMBED_BATCH: usize = 16;
/// Outbox rows read at a time.
const BATCH: usize = 32;

/// What a pass over the outbox (or a rebuild) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexReport {
    /// Songs whose index rows were written.
    pub indexed: usize,
    /// Songs that no longer exist, whose rows were removed.
    pub removed: usize,
    /// Passages written, and how many of them have a vector.
    pub passages: usize,
    pub vectors: usize,
    /// Why passages have no vectors, when they have none.
    pub vectors_unavailable: Option<String>,
}

pub struct Indexer {
    store: Arc<dyn SearchStore>,
    embedder: Option<Arc<dyn Embedder>>,
    segmenter: Arc<Segmenter>,
}

impl Indexer {
    pub fn new(
        store: Arc<dyn SearchStore>,
        embedder: Option<Arc<dyn Embedder>>,
        segmenter: Arc<Segmenter>,
    ) -> Indexer {
        Indexer { store, embedder, segmenter }
    }

    /// The embedding model, when one is configured and loads.
    pub fn model(&self) -> Option<&Arc<dyn Embedder>> {
        self.embedder.as_ref().filter(|e| e.dim() > 0)
    }

    /// Indexes every song in the outbox, oldest change first, until it is
    /// empty; `progress(done, total)` after each song.
    pub fn process(&self, progress: &dyn Fn(usize, usize)) -> Result<IndexReport, StoreError> {
        let mut report = IndexReport::default();
        let mut total = usize::try_from(self.store.search_pending_count()?).unwrap_or(0);
        let mut done = 0;
        // A row that is still there at the same generation after it was indexed
        // means the store did not clear it: stop instead of looping.
        let mut seen: HashSet<(i64, i64)> = HashSet::new();
        loop {
            let batch = self.store.search_pending(BATCH)?;
            if batch.is_empty() || batch.iter().all(|p| seen.contains(&(p.song_id, p.generation))) {
                break;
            }
            for pending in batch {
                if !seen.insert((pending.song_id, pending.generation)) {
                    continue;
                }
                self.index_song(pending.song_id, Some(pending.generation), &mut report)?;
                done += 1;
                total = total.max(done);
                progress(done, total);
            }
        }
        Ok(report)
    }

    /// Writes (or removes) one song's index rows; `generation` is the outbox
    /// row's, cleared with the write.
    pub fn index_song(
        &self,
        song_id: i64,
        generation: Option<i64>,
        report: &mut IndexReport,
    ) -> Result<(), StoreError> {
        let Some(source) = self.store.search_source(song_id)? else {
            self.store.search_remove(song_id, generation)?;
            report.removed += 1;
            return Ok(());
        };
        let mut entry = self.entry(&source);
        self.embed(&mut entry.lines, report);
        report.passages += entry.lines.len();
        report.vectors += entry.lines.iter().filter(|l| l.vector.is_some()).count();
        self.store.search_put(entry, generation)?;
        report.indexed += 1;
        Ok(())
    }

    /// The index rows of a song (passages not yet embedded).
    pub fn entry(&self, source: &SearchSource) -> SearchEntry {
        let seg = self.segmenter.as_ref();
        let song = &source.song;
        let romanized_title = romanize_with(seg, &song.title);
        let titles: Vec<&str> =
            [Some(song.title.as_str()), Some(romanized_title.as_str()), song.title_latin.as_deref()]
                .into_iter()
                .flatten()
                .collect();
        let names = artist_names(seg, source);
        let lyrics = source.lyrics.as_ref().map(|l| l.text.as_str()).unwrap_or_default();

        let romanized = [Some(romanized_title.as_str()), song.title_latin.as_deref()]
            .into_iter()
            .flatten()
            .map(|t| index_text(seg, t))
            .collect::<Vec<_>>()
            .join(" ");
        let artist = names.iter().map(|n| index_text(seg, n)).collect::<Vec<_>>().join(" ");
        let loose = loose_words(romanized.split(' ').chain(artist.split(' ')));
        let words = SearchWords {
            title: index_text(seg, &song.title),
            romanized,
            artist,
            lyrics: index_text(seg, lyrics),
            loose,
        };
        let latin = [Some(romanized_title.as_str()), song.title_latin.as_deref()]
            .into_iter()
            .flatten()
            .chain(names.iter().map(String::as_str).filter(|n| !has_khmer(n)));
        let trigrams = SearchTrigrams {
            title: compact_variants(titles.iter().copied()),
            artist: compact_variants(names.iter().map(String::as_str)),
            lyrics: compact(lyrics),
            loose: loose_variants(latin),
        };
        let mut lines = vec![SearchLine { line_no: 0, text: title_line(source), vector: None }];
        lines.extend(passages(lyrics).into_iter().map(|(line_no, text)| SearchLine {
            line_no,
            text,
            vector: None,
        }));
        SearchEntry { song_id: song.id, words, trigrams, lines }
    }

    /// Adds vectors to `lines`, when a model is available.
    fn embed(&self, lines: &mut [SearchLine], report: &mut IndexReport) {
        let Some(model) = self.embedder.as_ref() else {
            report.vectors_unavailable = Some("no embedding model is configured".into());
            return;
        };
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH) {
            match model.embed(batch, Role::Passage) {
                Ok(v) => vectors.extend(v),
                Err(e) => {
                    tracing::warn!(error = %e, "search passages stored without vectors");
                    report.vectors_unavailable = Some(e.to_string());
                    return;
                }
            }
        }
        for (line, embedding) in lines.iter_mut().zip(vectors) {
            line.vector = Some(LineVectorOf { model: model.model_id().to_string(), embedding });
        }
    }
}

/// Every name of the artist: the Khmer and Latin names, each alias, and the
/// romanisation of each Khmer one; one per spelling (compared by content).
fn artist_names(seg: &Segmenter, source: &SearchSource) -> Vec<String> {
    let artist = &source.song.artist;
    let given: Vec<&str> = [artist.name_km.as_deref(), artist.name_latin.as_deref()]
        .into_iter()
        .flatten()
        .chain(source.aliases.iter().map(String::as_str))
        .collect();
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    for name in given {
        let romanized = has_khmer(name).then(|| romanize_name(seg, name));
        for n in std::iter::once(name.to_string()).chain(romanized) {
            if seen.insert(name_key(&n)) {
                names.push(n);
            }
        }
    }
    names
}

fn loose_words<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let mut seen = HashSet::new();
    words
        .filter(|w| is_latin_word(w))
        .filter_map(loose_key)
        .filter(|k| seen.insert(k.clone()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Loose keys of each Latin variant taken whole (its compact form), one per line.
fn loose_variants<'a>(variants: impl Iterator<Item = &'a str>) -> String {
    let mut seen = HashSet::new();
    variants
        .filter_map(|v| loose_key(&compact(v)))
        .filter(|k| seen.insert(k.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compact forms of each variant, one per line, duplicates dropped.
fn compact_variants<'a>(variants: impl Iterator<Item = &'a str>) -> String {
    let mut seen = HashSet::new();
    variants.map(compact).filter(|c| !c.is_empty() && seen.insert(c.clone())).collect::<Vec<_>>().join("\n")
}

/// `title (title in Latin letters) — artist`.
fn title_line(source: &SearchSource) -> String {
    let song = &source.song;
    let mut line = display_line(&song.title);
    if let Some(latin) = song.title_latin.as_deref().filter(|l| !l.trim().is_empty()) {
        line.push_str(&format!(" ({})", display_line(latin)));
    }
    line.push_str(" — ");
    line.push_str(&crate::service::artist_display(&song.artist));
    line
}

/// The lyrics in passages: stanzas (split at blank lines) cut into runs of at
/// most [`PASSAGE_LINES`] lines, each numbered by its first line (1-based);
/// at most [`MAX_PASSAGES`].
pub fn passages(lyrics: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut run: Vec<String> = Vec::new();
    let mut first = 0u32;
    let flush = |run: &mut Vec<String>, first: u32, out: &mut Vec<(u32, String)>| {
        if !run.is_empty() {
            out.push((first, run.join("\n")));
            run.clear();
        }
    };
    for (i, raw) in lyrics.lines().enumerate() {
        let line = display_line(raw);
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if line.is_empty() {
            flush(&mut run, first, &mut out);
            continue;
        }
        if run.is_empty() {
            first = number;
        }
        run.push(line);
        if run.len() == PASSAGE_LINES {
            flush(&mut run, first, &mut out);
        }
    }
    flush(&mut run, first, &mut out);
    out.truncate(MAX_PASSAGES);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_become_passages_of_at_most_four_lines() {
        let lyrics = "a\nb\nc\nd\ne\n\n\nf\n g \n";
        assert_eq!(passages(lyrics), vec![(1, "a\nb\nc\nd".into()), (5, "e".into()), (8, "f\ng".into())]);
        assert!(passages("").is_empty());
    }
}
