//! The song search service: what `GET /api/v1/search` and `molt query` call.
//!
//! # A query, step by step
//!
//! 1. **Rate limit** (callers with a key: an API token or a client address),
//!    by tier ([`crate::ratelimit`]).
//! 2. **Checks**: at most `max_query_bytes` bytes of UTF-8 (checked first, so a
//!    1 MB query costs nothing); tab, line feed and carriage return become
//!    spaces; any other control character (C0, DEL, C1) is **refused** with its
//!    code point and position — it is never part of a song and would only
//!    reach logs; empty or blank is refused as "empty query".
//! 3. **The outbox** is worked through first, so every change committed
//!    before the query is searchable ([`crate::indexer`]); when it is empty
//!    (one read) the query goes on without taking the indexing lock. Then
//!    **remembered answers**: the same query, tier and limit answered before
//!    at the index generation read now (one read) is answered again from
//!    memory. Every change a result can show moves the generation (content
//!    through the outbox triggers, a song's status by its own trigger), so a
//!    remembered answer is never one a change has made wrong. Empty answers
//!    (their suggestions follow song views) and answers whose vector ranking
//!    could not run are not remembered.
//! 4. **Three rankings**, each of songs the caller's tier may see (the song's
//!    status is read from the store as the query runs):
//!    - *words*: the query's words (normalised, segmented like the index),
//!      each also as its loose Latin key, and the last Latin word also as a
//!      prefix; all words required, or — when that finds nothing — at least
//!      half of them (most first); BM25 with title > romanised title > artist >
//!      loose keys > lyrics (a song's count of words is read from one
//!      unranked membership list per word);
//!    - *substrings*: the query in compact form (no spaces or punctuation),
//!      cut where the script changes, every part required (trigram FTS5), a
//!      Latin part also as its loose key; a query of 1–2 characters is looked
//!      up with LIKE instead (titles, then artists, then lyrics, each scan in
//!      song order stopping once it has enough);
//!    - *vectors*: the query embedded (`Role::Query`), songs by theme score
//!      ([`crate::vectors`]): the mean over a song's passages (title line
//!      and stanzas) of each one's cosine minus the mean cosine of its kind
//!      (title, Khmer, Latin or mixed lyrics), so that an English description
//!      is not drawn to English lines only because they are English; kept
//!      while above 0 and ≥ 3/4 of the best song's; only queries of 3
//!      characters or more, and only when the embedding model is available.
//!
//!    While a core is idle ([`crate::cores`]), the vector ranking runs on a
//!    second thread beside the other two (the query embedding is a few
//!    milliseconds of one core); under load each query runs all three itself.
//! 5. **Reciprocal-rank fusion** (k = 60): a song's score is the sum of
//!    `1 / (60 + rank)` over the rankings that found it.
//!    `match_score = score / (rankings run × 1/61)`, in (0, 1]: 1 means first
//!    in every ranking that ran; a song found by one ranking of three is at
//!    most 0.33. Only the order is meant to be compared across queries loosely.
//! 6. **Results** for the tier ([`crate::tier`]), each with a snippet
//!    ([`crate::snippet`]): where the substring matched, else the line with
//!    the most query words, else the nearest passage (wholly highlighted),
//!    else the first line.

use crate::cores::Cores;
use crate::indexer::{IndexReport, Indexer};
use crate::intent::IntentClassifier;
use crate::ratelimit::{Clock, RateLimiter, RateLimits, SystemClock};
use crate::recent::Recent;
use crate::snippet::{self, display_line, find_compact, find_words, Snippet};
use crate::suggest::{
    edit_distance, loose_phrase, max_edits, Suggestion, SuggestionKind, PER_KIND, POPULAR_WINDOW_DAYS,
};
use crate::text::{compact, compact_runs, is_latin_word, loose_key};
use crate::tier::Tier;
use crate::vectors::{QueryVectors, SongHit, VectorCache};
use molt_core::catalog::ArtistRef;
use molt_core::config::SearchConfig;
use molt_core::search::{SearchSource, SubstringTerm, WordTerm, WordsQuery};
use molt_core::SongStatus;
use molt_khmer::Segmenter;
use molt_store::{QueryLogStore, SearchStore, StoreError, ViewStore};
use molt_vector::{rrf_term, Embedder, Role};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Results when the caller does not say.
pub const DEFAULT_RESULTS: usize = 10;
/// Query words used at most (a long query's later words add nothing but cost).
const MAX_QUERY_WORDS: usize = 32;
/// Songs the vector ranking considers (before the tier's filter).
const VECTOR_CANDIDATES: usize = 200;
/// Songs each ranking contributes at most.
const RANKING_DEPTH: usize = 100;
/// The vector ranking keeps songs whose theme score ([`crate::vectors`]) is
/// above 0 (an average song) and at least this share of the best song's. On
/// the benchmark's English descriptions 0.5 and 0.75 found the same songs and
/// 0.9 lost three of fourteen; the smaller list adds less noise to the fusion.
const VECTOR_SHARE: f32 = 0.75;
/// Indexed songs (newest first) a "no results" query is compared with for suggestions.
const SUGGESTION_SCAN: usize = 5_000;
/// Query vectors remembered (1.5 KB each): repeated queries skip the model.
const QUERY_VECTORS: usize = 4_096;
/// Answers remembered (a few KB each; premium and staff answers carry lyrics).
const ANSWERS: usize = 2_048;

/// What an answer depends on besides the index: the query, the tier, the limit.
type AnswerKey = (String, Tier, usize);

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("empty query")]
    Empty,
    #[error("the query is {bytes} bytes; the most is {max} bytes")]
    TooLong { bytes: usize, max: usize },
    #[error("the query is not valid UTF-8 (bad byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
    /// `position` counts characters from 1.
    #[error("the query has a control character (U+{code:04X}) at character {position}")]
    ControlCharacter { code: u32, position: usize },
    #[error("too many searches; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SearchError {
    /// A stable code for interfaces (`{"error":{"code"}}`).
    pub fn code(&self) -> &'static str {
        match self {
            SearchError::Empty => "empty_query",
            SearchError::TooLong { .. } => "query_too_long",
            SearchError::InvalidUtf8 { .. } => "invalid_utf8",
            SearchError::ControlCharacter { .. } => "control_character",
            SearchError::RateLimited { .. } => "rate_limited",
            SearchError::Store(_) => "store_error",
        }
    }

    /// The caller's mistake (a bad query), not the service's.
    pub fn is_invalid_query(&self) -> bool {
        matches!(
            self,
            SearchError::Empty
                | SearchError::TooLong { .. }
                | SearchError::InvalidUtf8 { .. }
                | SearchError::ControlCharacter { .. }
        )
    }
}

/// Who is searching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    pub tier: Tier,
    /// The rate-limit key (`token:<id>`, `ip:<address>`); `None` is not
    /// limited (the CLI, which runs with the data directory's own authority).
    pub key: Option<String>,
}

impl Requester {
    pub fn new(tier: Tier, key: Option<String>) -> Requester {
        Requester { tier, key }
    }
}

/// The answer, in the SOP's shape.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub query: String,
    pub results: Vec<SearchResult>,
    pub response_time_ms: u64,
    /// Only when there are no results ([`crate::suggest`]); absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub song_id: i64,
    pub title: String,
    pub artist: String,
    /// 0..=1: the fused score over the best possible (see the module docs).
    pub match_score: f64,
    /// The matched part between `«` and `»`.
    pub snippet: String,
    /// The same, HTML-escaped, the matched part in `<mark>`.
    pub snippet_html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_latin: Option<String>,
    /// The rankings that found it: `words`, `substring`, `vector`.
    pub matched: Vec<&'static str>,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SongStatus>,
    /// Premium and staff: the newest lyrics in full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lyrics: Option<String>,
    /// Premium and staff: the formats `/api/v1/songs/{id}/lyrics?format=` serves
    /// for this song (the synced ones only when the lyrics have timings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lyrics_formats: Option<Vec<&'static str>>,
}

/// What the service is configured with.
#[derive(Debug, Clone)]
pub struct SearchSettings {
    pub max_query_bytes: usize,
    pub limits: RateLimits,
}

impl SearchSettings {
    pub fn from_config(config: &SearchConfig) -> SearchSettings {
        SearchSettings { max_query_bytes: config.max_query_bytes, limits: RateLimits::from_config(config) }
    }
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings::from_config(&SearchConfig::default())
    }
}

pub struct SearchService {
    store: Arc<dyn SearchStore>,
    indexer: Indexer,
    segmenter: Arc<Segmenter>,
    vectors: VectorCache,
    query_vectors: QueryVectors,
    /// Answers by (query, tier, limit), each with the index generation it was
    /// computed at: a repeated query is answered again only after a change.
    answers: Recent<AnswerKey, (i64, Arc<Vec<SearchResult>>)>,
    limiter: RateLimiter,
    settings: SearchSettings,
    /// One outbox pass at a time in this process.
    processing: Mutex<()>,
    /// Threads answering queries, against the cores: whether a query's vector
    /// ranking may run beside its other two.
    cores: Cores,
    /// Songs indexed without the model were queued again once it loaded.
    vectors_checked: AtomicBool,
    /// Where every query is logged, redacted, with its intent (None: not logged).
    query_log: Option<(Arc<dyn QueryLogStore>, IntentClassifier)>,
    /// Song views, for the "popular" suggestions (None: newest songs instead).
    views: Option<Arc<dyn ViewStore>>,
}

impl SearchService {
    /// `embedder`: the local model (`Role::Passage` for the index, `Role::Query`
    /// for queries), or `None` to search without vectors.
    pub fn new(
        store: Arc<dyn SearchStore>,
        embedder: Option<Arc<dyn Embedder>>,
        segmenter: Arc<Segmenter>,
        settings: SearchSettings,
    ) -> SearchService {
        SearchService {
            indexer: Indexer::new(store.clone(), embedder, segmenter.clone()),
            store,
            segmenter,
            vectors: VectorCache::default(),
            query_vectors: QueryVectors::new(QUERY_VECTORS),
            answers: Recent::new(ANSWERS),
            limiter: RateLimiter::new(settings.limits, Arc::new(SystemClock::default())),
            settings,
            processing: Mutex::new(()),
            cores: Cores::of_this_machine(),
            vectors_checked: AtomicBool::new(false),
            query_log: None,
            views: None,
        }
    }

    /// The same service suggesting the most viewed songs as "popular".
    pub fn with_views(mut self, views: Arc<dyn ViewStore>) -> SearchService {
        self.views = Some(views);
        self
    }

    /// The same service logging every query to `log`: redacted, with its
    /// intent (rules only: a model call per query would cost more than the search).
    pub fn with_query_log(mut self, log: Arc<dyn QueryLogStore>) -> SearchService {
        let classifier = IntentClassifier::with_segmenter(self.segmenter.clone(), None)
            .expect("a classifier without a model cannot fail to build");
        self.query_log = Some((log, classifier));
        self
    }

    /// Logs a served query; a failure to log is reported, never the query's failure.
    fn log(&self, who: &Requester, query: &str, results: usize, response_ms: u64) {
        let Some((log, classifier)) = &self.query_log else { return };
        let intent = classifier.classify(query).intent;
        if let Err(e) = crate::redact::log_query(log.as_ref(), query, intent, results, response_ms, who.tier)
        {
            tracing::warn!(error = %e, "search: the query could not be logged");
        }
    }

    /// The same service with rate limits timed by `clock` (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> SearchService {
        self.limiter = RateLimiter::new(self.settings.limits, clock);
        self
    }

    pub fn settings(&self) -> &SearchSettings {
        &self.settings
    }

    /// Indexes what changed since the last pass (the outbox). Called before
    /// every query and by `molt serve` in the background.
    pub fn process_pending(&self) -> Result<IndexReport, SearchError> {
        let _one_at_a_time = self.processing.lock().unwrap_or_else(|e| e.into_inner());
        if !self.vectors_checked.load(Ordering::Relaxed) {
            if let Some(model) = self.indexer.model() {
                let queued = self.store.search_queue_missing_vectors(model.model_id())?;
                if queued > 0 {
                    tracing::info!(
                        songs = queued,
                        "search: adding vectors to songs indexed without the model"
                    );
                }
            }
            self.vectors_checked.store(true, Ordering::Release);
        }
        Ok(self.indexer.process(&|_, _| {})?)
    }

    /// Before a query: indexes what is in the outbox, so that every change
    /// committed before the query is searchable. The outbox row is written in
    /// the same transaction as the change and deleted in the same transaction
    /// as the song's new index rows, so an empty outbox (one read, no lock)
    /// means everything committed is indexed: concurrent queries then run
    /// side by side instead of queueing for the one-pass-at-a-time lock.
    fn catch_up(&self) -> Result<(), SearchError> {
        if self.vectors_checked.load(Ordering::Acquire) && !self.store.search_has_pending()? {
            return Ok(());
        }
        self.process_pending()?;
        Ok(())
    }

    /// Rebuilds the whole index (`molt search reindex`): every song queued and
    /// indexed again; `progress(done, total)` after each. Searches keep working
    /// meanwhile (each song's rows are replaced in one transaction).
    pub fn reindex(&self, progress: &dyn Fn(usize, usize)) -> Result<IndexReport, SearchError> {
        let _one_at_a_time = self.processing.lock().unwrap_or_else(|e| e.into_inner());
        self.store.search_queue_all("search.reindex")?;
        let report = self.indexer.process(progress)?;
        self.store.search_optimize()?;
        self.vectors_checked.store(true, Ordering::Relaxed);
        Ok(report)
    }

    /// [`SearchService::search`] for a query that arrived as bytes.
    pub fn search_bytes(
        &self,
        who: &Requester,
        query: &[u8],
        limit: Option<usize>,
    ) -> Result<SearchResponse, SearchError> {
        self.rate_limit(who)?;
        let query = self.check_bytes(query)?;
        self.run(who, &query, limit)
    }

    /// Searches as `who`; `limit` is clamped to 1..=the tier's most.
    pub fn search(
        &self,
        who: &Requester,
        query: &str,
        limit: Option<usize>,
    ) -> Result<SearchResponse, SearchError> {
        self.rate_limit(who)?;
        let query = check_query(query, self.settings.max_query_bytes)?;
        self.run(who, &query, limit)
    }

    fn rate_limit(&self, who: &Requester) -> Result<(), SearchError> {
        match &who.key {
            Some(key) => self
                .limiter
                .check(key, who.tier)
                .map_err(|r| SearchError::RateLimited { retry_after_secs: r.0 }),
            None => Ok(()),
        }
    }

    fn check_bytes(&self, query: &[u8]) -> Result<String, SearchError> {
        let max = self.settings.max_query_bytes;
        if query.len() > max {
            return Err(SearchError::TooLong { bytes: query.len(), max });
        }
        let text =
            std::str::from_utf8(query).map_err(|e| SearchError::InvalidUtf8 { offset: e.valid_up_to() })?;
        check_query(text, max)
    }

    fn run(&self, who: &Requester, query: &str, limit: Option<usize>) -> Result<SearchResponse, SearchError> {
        let started = Instant::now();
        let limit = limit.unwrap_or(DEFAULT_RESULTS).clamp(1, who.tier.max_results());
        self.catch_up()?;
        // Read after the catch-up: an answer is kept under the generation it
        // was computed at, so any later change makes it a miss.
        let generation = self.store.search_generation()?;
        let key = (query.to_string(), who.tier, limit);
        let (results, suggestions) = match self.answers.get(&key).filter(|(g, _)| *g == generation) {
            Some((_, results)) => (results.as_ref().clone(), Vec::new()),
            None => {
                let (results, suggestions, complete) = self.answer(who, query, limit)?;
                if complete && !results.is_empty() {
                    self.answers.put(key, (generation, Arc::new(results.clone())));
                }
                (results, suggestions)
            }
        };
        let response_time_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(
            tier = who.tier.as_str(),
            results = results.len(),
            response_time_ms,
            query_chars = query.chars().count(),
            "search"
        );
        self.log(who, query, results.len(), response_time_ms);
        Ok(SearchResponse { query: query.to_string(), results, response_time_ms, suggestions })
    }

    /// The results (or, when there are none, the suggestions) for a query;
    /// `complete` is false when a ranking that should have run could not (the
    /// model failed), so the answer is not worth remembering.
    fn answer(
        &self,
        who: &Requester,
        query: &str,
        limit: usize,
    ) -> Result<(Vec<SearchResult>, Vec<Suggestion>, bool), SearchError> {
        let published_only = !who.tier.sees_unpublished();
        let plan = Plan::new(&self.segmenter, query);
        let depth = RANKING_DEPTH.max(limit);

        let (mut rankings, vector_hits) = self.rank_all(&plan, published_only, depth)?;
        if let Some(hits) = &vector_hits {
            rankings.push(("vector", hits.iter().map(|h| h.song_id).collect()));
        }
        let nearest: HashMap<i64, &SongHit> = vector_hits.iter().flatten().map(|h| (h.song_id, h)).collect();

        let fused = fuse(&rankings);
        let best = rankings.len() as f64 * rrf_term(0);
        let mut results = Vec::with_capacity(limit);
        // The best songs' rows in one read per batch (a song hidden or gone
        // meanwhile is skipped, and the next batch fills its place).
        let mut next = 0;
        while results.len() < limit && next < fused.len() {
            let batch = &fused[next..(next + limit - results.len()).min(fused.len())];
            next += batch.len();
            let ids: Vec<i64> = batch.iter().map(|f| f.song_id).collect();
            let mut sources = self.store.search_sources(&ids)?;
            for song in batch {
                let Some(source) = sources.remove(&song.song_id) else { continue };
                if published_only && source.song.status != SongStatus::Published {
                    continue;
                }
                let matched: Vec<&'static str> = song.ranks.iter().map(|(name, _)| *name).collect();
                let snippet = self.snippet(&plan, &source, &matched, nearest.get(&song.song_id).copied());
                results.push(result(who.tier, source, song.score / best, matched, snippet));
            }
        }
        let suggestions =
            if results.is_empty() { self.suggestions(&plan, published_only)? } else { Vec::new() };
        let complete = !self.wants_vectors(&plan) || vector_hits.is_some();
        Ok((results, suggestions, complete))
    }

    /// The three rankings: the vector ranking on a second thread while a core
    /// is idle (the same rankings, fused the same way, sooner), else one after
    /// the other. A failed text ranking is the answer's error either way.
    #[allow(clippy::type_complexity)]
    fn rank_all(
        &self,
        plan: &Plan,
        published_only: bool,
        depth: usize,
    ) -> Result<(Vec<(&'static str, Vec<i64>)>, Option<Vec<SongHit>>), SearchError> {
        let _this_query = self.cores.enter();
        let vectors = || self.rank_vectors(plan, published_only, depth);
        let Some(_spare) = self.wants_vectors(plan).then(|| self.cores.spare()).flatten() else {
            let text = self.rank_text(plan, published_only, depth)?;
            return Ok((text, vectors()?));
        };
        // The second thread logs where this one does (the request's span and subscriber).
        let (span, dispatch) = (tracing::Span::current(), tracing::dispatcher::get_default(Clone::clone));
        std::thread::scope(|scope| {
            let beside = std::thread::Builder::new().spawn_scoped(scope, || {
                tracing::dispatcher::with_default(&dispatch, || span.in_scope(vectors))
            });
            let text = self.rank_text(plan, published_only, depth);
            let hits = match beside {
                Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had (the system's limit): this one does it.
                Err(_) => text.is_ok().then(vectors).transpose().map(Option::flatten),
            };
            Ok((text?, hits?))
        })
    }

    /// The word ranking and, for a query with letters, the substring ranking.
    fn rank_text(
        &self,
        plan: &Plan,
        published_only: bool,
        depth: usize,
    ) -> Result<Vec<(&'static str, Vec<i64>)>, SearchError> {
        let mut rankings = vec![("words", self.rank_words(plan, published_only, depth)?)];
        if !plan.compact.is_empty() {
            rankings.push(("substring", self.rank_substrings(plan, published_only, depth)?));
        }
        Ok(rankings)
    }

    /// Whether the query gets a vector ranking: 3 characters or more, and a model.
    fn wants_vectors(&self, plan: &Plan) -> bool {
        plan.compact.chars().count() >= 3 && self.indexer.model().is_some()
    }

    fn rank_words(&self, plan: &Plan, published_only: bool, depth: usize) -> Result<Vec<i64>, SearchError> {
        self.rank_some_words(plan, published_only, depth, plan.groups.len().div_ceil(2))
    }

    /// Songs with every word, or when none has them all, with at least `needed` of them.
    fn rank_some_words(
        &self,
        plan: &Plan,
        published_only: bool,
        depth: usize,
        needed: usize,
    ) -> Result<Vec<i64>, SearchError> {
        if plan.groups.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            WordsQuery { groups: plan.groups.clone(), require_all: true, published_only, limit: depth };
        let found = self.store.search_words(&query)?;
        if !found.is_empty() || plan.groups.len() == 1 {
            return Ok(found.into_iter().map(|r| r.song_id).collect());
        }
        // Not every word: songs with at least half of them, most first, then by BM25.
        // One unranked membership list per word, read together, gives how many
        // of the words each song has (ranking each word alone would compute
        // BM25 for every song that has a common word).
        let members = self.store.search_word_groups(&plan.groups)?;
        query.groups = weighty_groups(&plan.groups, &members, self.store.search_words_total()?);
        query.require_all = false;
        let any = self.store.search_words(&query)?;
        let candidates: HashSet<i64> = any.iter().map(|r| r.song_id).collect();
        let mut count: HashMap<i64, usize> = HashMap::new();
        for members in members {
            for id in members.into_iter().filter(|id| candidates.contains(id)) {
                *count.entry(id).or_default() += 1;
            }
        }
        let mut kept: Vec<(usize, usize, i64)> = any
            .iter()
            .enumerate()
            .filter_map(|(bm25_rank, r)| {
                let n = count.get(&r.song_id).copied().unwrap_or(0);
                (n >= needed).then_some((n, bm25_rank, r.song_id))
            })
            .collect();
        kept.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(kept.into_iter().map(|(_, _, id)| id).collect())
    }

    /// What to offer when nothing matched ([`crate::suggest`]).
    fn suggestions(&self, plan: &Plan, published_only: bool) -> Result<Vec<Suggestion>, SearchError> {
        let songs = self.store.search_indexed_songs(published_only, SUGGESTION_SCAN)?;
        let mut out: Vec<Suggestion> = Vec::new();
        // Spelling and romanisation variants, closest first.
        let mut variants: Vec<(usize, Suggestion)> = Vec::new();
        let mut consider = |distance: usize, max: usize, text: &str, kind, song_id| {
            if distance <= max && !variants.iter().any(|(_, s)| s.song_id == Some(song_id)) {
                variants
                    .push((distance, Suggestion { text: text.to_string(), kind, song_id: Some(song_id) }));
            } else if let Some(v) =
                variants.iter_mut().find(|(d, s)| s.song_id == Some(song_id) && distance < *d)
            {
                *v = (distance, Suggestion { text: text.to_string(), kind, song_id: Some(song_id) });
            }
        };
        if molt_khmer::has_khmer(&plan.text) {
            let max = max_edits(&plan.compact);
            for song in &songs {
                let distance = edit_distance(&plan.compact, &compact(&song.title));
                consider(distance, max, &song.title, SuggestionKind::Spelling, song.id);
            }
        } else {
            let key = loose_phrase(&plan.text);
            let max = max_edits(&key);
            for song in &songs {
                let romanized = molt_khmer::romanize_name(&self.segmenter, &song.title);
                let names = [
                    (song.title_latin.as_deref(), SuggestionKind::Spelling),
                    (Some(romanized.as_str()), SuggestionKind::Romanisation),
                    (song.artist.name_latin.as_deref(), SuggestionKind::Spelling),
                ];
                for (name, kind) in names {
                    let Some(name) = name.filter(|n| !n.trim().is_empty()) else { continue };
                    consider(edit_distance(&key, &loose_phrase(name)), max, name, kind, song.id);
                }
            }
        }
        variants.sort_by_key(|(d, _)| *d);
        out.extend(variants.into_iter().take(PER_KIND).map(|(_, s)| s));
        if molt_khmer::has_khmer(&plan.text) {
            let romanized = molt_khmer::romanize_with(&self.segmenter, &plan.text);
            let romanized = romanized.split_whitespace().collect::<Vec<_>>().join(" ");
            if !romanized.is_empty() && romanized != plan.text {
                let as_latin = Plan::new(&self.segmenter, &romanized);
                if let Some(&id) = self.rank_words(&as_latin, published_only, 1)?.first() {
                    out.push(Suggestion {
                        text: romanized,
                        kind: SuggestionKind::Romanisation,
                        song_id: Some(id),
                    });
                }
            }
        }
        // Near matches: songs with at least one of the words.
        let by_id: HashMap<i64, &molt_core::catalog::Song> = songs.iter().map(|s| (s.id, s)).collect();
        let near = self.rank_some_words(plan, published_only, RANKING_DEPTH, 1)?;
        let mut added = 0;
        for id in near {
            if added == PER_KIND {
                break;
            }
            let Some(song) = by_id.get(&id) else { continue };
            if out.iter().any(|s| s.song_id == Some(id)) {
                continue;
            }
            out.push(Suggestion {
                text: song.title.clone(),
                kind: SuggestionKind::NearMatch,
                song_id: Some(id),
            });
            added += 1;
        }
        let popular = self.popular(&songs, &out)?;
        out.extend(popular);
        Ok(out)
    }

    /// The most viewed published songs of the window, then the newest
    /// published ones, none already suggested ([`crate::suggest`]).
    fn popular(
        &self,
        newest: &[molt_core::catalog::Song],
        taken: &[Suggestion],
    ) -> Result<Vec<Suggestion>, SearchError> {
        let fresh = |id: i64, chosen: &[(i64, String)]| {
            !taken.iter().any(|o| o.song_id == Some(id)) && !chosen.iter().any(|(c, _)| *c == id)
        };
        let mut chosen: Vec<(i64, String)> = Vec::new();
        if let Some(views) = &self.views {
            let since = molt_core::time::day_ago(POPULAR_WINDOW_DAYS);
            for song in views.popular_songs(&since, PER_KIND + taken.len())? {
                if chosen.len() < PER_KIND && fresh(song.song_id, &chosen) {
                    chosen.push((song.song_id, song.title));
                }
            }
        }
        for song in newest.iter().filter(|s| s.status == SongStatus::Published) {
            if chosen.len() < PER_KIND && fresh(song.id, &chosen) {
                chosen.push((song.id, song.title.clone()));
            }
        }
        Ok(chosen
            .into_iter()
            .map(|(id, text)| Suggestion { text, kind: SuggestionKind::Popular, song_id: Some(id) })
            .collect())
    }

    fn rank_substrings(
        &self,
        plan: &Plan,
        published_only: bool,
        depth: usize,
    ) -> Result<Vec<i64>, SearchError> {
        let found = if plan.compact.chars().count() <= 2 {
            self.store.search_like(&plan.compact, published_only, depth)?
        } else {
            let groups: Vec<Vec<SubstringTerm>> = plan
                .runs
                .iter()
                .filter(|r| r.chars().count() >= 3)
                .map(|run| {
                    let mut group = vec![SubstringTerm::Text(run.clone())];
                    group.extend(loose_key(run).map(SubstringTerm::Loose));
                    group
                })
                .collect();
            if groups.is_empty() {
                return Ok(Vec::new());
            }
            self.store.search_trigrams(&groups, published_only, depth)?
        };
        Ok(found.into_iter().map(|r| r.song_id).collect())
    }

    /// `None` when no vector ranking ran (a short query, or no model).
    fn rank_vectors(
        &self,
        plan: &Plan,
        published_only: bool,
        depth: usize,
    ) -> Result<Option<Vec<SongHit>>, SearchError> {
        if !self.wants_vectors(plan) {
            return Ok(None);
        }
        let Some(model) = self.indexer.model() else { return Ok(None) };
        let Some(embedding) = self.query_vector(model.as_ref(), &plan.text) else { return Ok(None) };
        let snapshot = self.vectors.snapshot(self.store.as_ref(), model.model_id(), model.dim())?;
        if snapshot.is_empty() {
            return Ok(Some(Vec::new()));
        }
        // Songs by theme score; the nearest passage (for the snippet) only
        // of those kept: most of the candidates fall below the share of the best.
        let mut ranked = snapshot.ranked(&embedding, VECTOR_CANDIDATES);
        if published_only {
            let ids: Vec<i64> = ranked.iter().map(|h| h.0).collect();
            let statuses = self.store.song_statuses(&ids)?;
            ranked.retain(|h| statuses.get(&h.0) == Some(&SongStatus::Published));
        }
        let best = ranked.first().map_or(0.0, |h| h.1);
        ranked.retain(|h| h.1 > 0.0 && h.1 >= best * VECTOR_SHARE);
        ranked.truncate(depth);
        let hits: Vec<SongHit> =
            ranked.into_iter().filter_map(|(id, score)| snapshot.hit(&embedding, id, score)).collect();
        Ok(Some(hits))
    }

    /// The query's vector: remembered, or computed by the model (None: it failed).
    fn query_vector(&self, model: &dyn Embedder, query: &str) -> Option<Arc<[f32]>> {
        if let Some(v) = self.query_vectors.get(model.model_id(), query) {
            return Some(v);
        }
        match model.embed(&[query], Role::Query) {
            Ok(mut v) if !v.is_empty() => {
                let vector: Arc<[f32]> = Arc::from(v.swap_remove(0));
                self.query_vectors.put(model.model_id(), query, vector.clone());
                Some(vector)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "search without vectors: the query could not be embedded");
                None
            }
        }
    }

    fn snippet(
        &self,
        plan: &Plan,
        source: &SearchSource,
        matched: &[&'static str],
        nearest: Option<&SongHit>,
    ) -> Snippet {
        let lyrics: Vec<String> = source
            .lyrics
            .as_ref()
            .map(|l| l.text.lines().map(display_line).filter(|l| !l.is_empty()).collect())
            .unwrap_or_default();
        let song = &source.song;
        let romanized = molt_khmer::romanize_name(&self.segmenter, &song.title);
        let titles: Vec<String> = [Some(song.title.as_str()), song.title_latin.as_deref(), Some(&romanized)]
            .into_iter()
            .flatten()
            .map(display_line)
            .collect();
        let names: Vec<String> = [song.artist.name_km.as_deref(), song.artist.name_latin.as_deref()]
            .into_iter()
            .flatten()
            .chain(source.aliases.iter().map(String::as_str))
            .map(display_line)
            .collect();

        if matched.contains(&"substring") {
            let mut needles: Vec<&str> = if plan.compact.chars().count() <= 2 {
                vec![plan.compact.as_str()]
            } else {
                plan.runs.iter().map(String::as_str).filter(|r| r.chars().count() >= 3).collect()
            };
            needles.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
            for field in [&lyrics, &titles, &names] {
                for needle in &needles {
                    if let Some(ranges) = find_compact(field, needle) {
                        return highlight_ranges(field, &ranges);
                    }
                }
            }
        }
        if matched.contains(&"words") {
            let best_line = |lines: &[String]| best_words_line(lines, &plan.words);
            let lyric = best_line(&lyrics);
            let title = best_line(&titles).or_else(|| best_line(&names));
            let pick = match (lyric, title) {
                (Some(l), Some(t)) if t.0.len() > l.0.len() => Some(t),
                (Some(l), _) => Some(l),
                (None, t) => t,
            };
            if let Some((ranges, line)) = pick {
                return snippet::render(&[(line, ranges)]);
            }
        }
        if let Some(hit) = nearest {
            if hit.passage.line_no == 0 {
                return snippet::whole(&hit.passage.text);
            }
            let parts: Vec<(String, Vec<(usize, usize)>)> =
                hit.passage.text.lines().map(|l| (l.to_string(), vec![(0, l.chars().count())])).collect();
            return snippet::render(&parts);
        }
        snippet::plain(lyrics.first().unwrap_or(&titles[0]))
    }
}

/// The first line with the most query words in it, and where they are.
fn best_words_line(lines: &[String], words: &[String]) -> Option<(Vec<(usize, usize)>, String)> {
    let mut best: Option<(Vec<(usize, usize)>, String)> = None;
    for line in lines {
        let ranges = find_words(line, words);
        if !ranges.is_empty() && best.as_ref().is_none_or(|b| ranges.len() > b.0.len()) {
            best = Some((ranges, line.clone()));
        }
    }
    best
}

/// The word groups worth ranking by BM25 when any word may match: those in
/// fewer than half of the `total` songs, or all of them when every one is that
/// common. FTS5 gives a word in half the songs or more no weight (its IDF,
/// log((N − n + ½) / (n + ½)), is clamped to 10⁻⁶), yet scoring it costs a
/// BM25 term for every song that has it: និង is in 87 % of the benchmark
/// corpus, and an any-word query with it took 10–20 ms instead of ≈ 2 ms.
/// Left out, such a word still counts towards "at least half the words"; what
/// changes is that a song sharing only such words with the query is no
/// longer a candidate.
fn weighty_groups(groups: &[Vec<WordTerm>], members: &[Vec<i64>], total: i64) -> Vec<Vec<WordTerm>> {
    let weighty: Vec<Vec<WordTerm>> = groups
        .iter()
        .zip(members)
        .filter(|(_, songs)| (songs.len() as i64).saturating_mul(2) < total)
        .map(|(group, _)| group.clone())
        .collect();
    if weighty.is_empty() {
        groups.to_vec()
    } else {
        weighty
    }
}

fn highlight_ranges(lines: &[String], ranges: &[(usize, usize, usize)]) -> Snippet {
    let parts: Vec<(String, Vec<(usize, usize)>)> =
        ranges.iter().map(|&(line, s, e)| (lines[line].clone(), vec![(s, e)])).collect();
    snippet::render(&parts)
}

fn result(
    tier: Tier,
    source: SearchSource,
    match_score: f64,
    matched: Vec<&'static str>,
    snippet: Snippet,
) -> SearchResult {
    let SearchSource { song, lyrics, .. } = source;
    let full = tier.sees_full_lyrics();
    let lyrics_formats = full.then(|| match &lyrics {
        Some(l) if l.timed.is_some() => vec!["lrc", "elrc", "srt", "vtt", "ttml", "txt", "json"],
        Some(_) => vec!["txt", "json"],
        None => Vec::new(),
    });
    SearchResult {
        song_id: song.id,
        artist: artist_display(&song.artist),
        title: song.title,
        match_score: (match_score.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0,
        snippet: snippet.text,
        snippet_html: snippet.html,
        title_latin: song.title_latin,
        matched,
        status: tier.sees_unpublished().then_some(song.status),
        lyrics: if full { lyrics.map(|l| l.text) } else { None },
        lyrics_formats,
    }
}

/// How an artist is shown: `ស៊ីន ស៊ីសាមុត (Sinn Sisamouth)`, or whichever name there is.
pub fn artist_display(artist: &ArtistRef) -> String {
    match (artist.name_km.as_deref(), artist.name_latin.as_deref()) {
        (Some(km), Some(latin)) => format!("{km} ({latin})"),
        (Some(name), None) | (None, Some(name)) => name.to_string(),
        (None, None) => String::new(),
    }
}

/// A song in the fused ranking.
struct Fused {
    song_id: i64,
    score: f64,
    /// (ranking, 0-based rank) for each ranking that found it.
    ranks: Vec<(&'static str, usize)>,
}

/// Reciprocal-rank fusion: best first; ties go to the better best rank, then the lower id.
fn fuse(rankings: &[(&'static str, Vec<i64>)]) -> Vec<Fused> {
    let mut by_song: HashMap<i64, Fused> = HashMap::new();
    for (name, ranking) in rankings {
        for (rank, &song_id) in ranking.iter().enumerate() {
            let entry = by_song.entry(song_id).or_insert(Fused { song_id, score: 0.0, ranks: Vec::new() });
            if entry.ranks.iter().any(|(n, _)| n == name) {
                continue;
            }
            entry.score += rrf_term(rank);
            entry.ranks.push((name, rank));
        }
    }
    let mut fused: Vec<Fused> = by_song.into_values().collect();
    let best_rank = |f: &Fused| f.ranks.iter().map(|r| r.1).min().unwrap_or(usize::MAX);
    fused.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then(best_rank(a).cmp(&best_rank(b))).then(a.song_id.cmp(&b.song_id))
    });
    fused
}

/// A query, prepared once for the three rankings.
struct Plan {
    /// The query as checked.
    text: String,
    /// Its unique words, normalised and segmented (at most [`MAX_QUERY_WORDS`]).
    words: Vec<String>,
    /// One group of alternatives per word.
    groups: Vec<Vec<WordTerm>>,
    /// The compact form, and its parts by script.
    compact: String,
    runs: Vec<String>,
}

impl Plan {
    fn new(segmenter: &Segmenter, query: &str) -> Plan {
        let mut seen = HashSet::new();
        let words: Vec<String> = molt_khmer::words(segmenter, query)
            .into_iter()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .filter(|w| seen.insert(w.clone()))
            .take(MAX_QUERY_WORDS)
            .collect();
        // The last word may be half typed, unless the query ends after it.
        let open_end = query.chars().last().is_some_and(char::is_alphanumeric);
        let groups = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut group = vec![WordTerm::Word(w.clone())];
                if is_latin_word(w) {
                    if let Some(key) = loose_key(w) {
                        group.push(WordTerm::Loose(key));
                    }
                    if open_end && i + 1 == words.len() && w.chars().count() >= 2 {
                        group.push(WordTerm::Prefix(w.clone()));
                    }
                }
                group
            })
            .collect();
        Plan { text: query.to_string(), words, groups, compact: compact(query), runs: compact_runs(query) }
    }
}

/// The query as searched, or why it cannot be: too long (checked first),
/// control characters (refused; tab and line breaks become spaces), empty.
pub fn check_query(query: &str, max_bytes: usize) -> Result<String, SearchError> {
    if query.len() > max_bytes {
        return Err(SearchError::TooLong { bytes: query.len(), max: max_bytes });
    }
    let mut out = String::with_capacity(query.len());
    for (index, c) in query.chars().enumerate() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() => {
                return Err(SearchError::ControlCharacter { code: u32::from(c), position: index + 1 });
            }
            c => out.push(c),
        }
    }
    let trimmed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.is_empty() {
        return Err(SearchError::Empty);
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_half_the_songs_are_left_out_of_the_any_word_ranking() {
        let group = |w: &str| vec![WordTerm::Word(w.into())];
        let groups = vec![group("common"), group("rare"), group("half")];
        let members = vec![(0..60).collect(), vec![1, 2], (0..50).collect()];
        assert_eq!(weighty_groups(&groups, &members, 100), vec![group("rare")]);
        assert_eq!(weighty_groups(&groups, &members, 101), vec![group("rare"), group("half")]);
        // All of them common: nothing better to rank by, so all are kept.
        assert_eq!(weighty_groups(&groups[..1], &members[..1], 100), groups[..1].to_vec());
    }

    #[test]
    fn queries_are_checked_before_anything_else() {
        assert!(matches!(check_query("", 10), Err(SearchError::Empty)));
        assert!(matches!(check_query(" \t\n ", 10), Err(SearchError::Empty)));
        assert!(matches!(check_query("abcdefghijk", 10), Err(SearchError::TooLong { bytes: 11, max: 10 })));
        let err = check_query("ab\u{7}c", 10).unwrap_err();
        assert_eq!(err.to_string(), "the query has a control character (U+0007) at character 3");
        assert!(matches!(check_query("a\u{9F}", 10), Err(SearchError::ControlCharacter { code: 0x9F, .. })));
        assert_eq!(check_query(" a\tb\r\nc ", 20).unwrap(), "a b c");
    }

    #[test]
    fn fusion_rewards_agreement_and_is_stable() {
        let fused = fuse(&[("words", vec![3, 1, 2]), ("substring", vec![1]), ("vector", vec![2, 1])]);
        let order: Vec<i64> = fused.iter().map(|f| f.song_id).collect();
        assert_eq!(order, [1, 2, 3]);
        assert_eq!(fused[0].ranks.len(), 3);
        let top = fused[0].score / (3.0 * rrf_term(0));
        assert!(top > 0.9 && top < 1.0, "{top}");
    }
}
