//! Search and user queries (issue 7): what a learner or fan types, understood
//! and answered. Module map:
//!
//! - [`intent`]: what a free-text request is (song search, lyrics request,
//!   processing status, general info, bug report): Khmer and English keyword
//!   rules, then similarity to example phrases; `molt intent TEXT` tries it;
//! - [`redact`]: personal data (emails, phone numbers, tokens, other secrets)
//!   removed before a query is logged; [`redact::log_query`] is the one way a
//!   query reaches the query log (a bug report also becomes an event for
//!   engineering);
//! - [`service`]: song search — three rankings (FTS5 words with BM25, trigram
//!   substrings with a LIKE fallback, passage vectors) fused by reciprocal rank,
//!   snippets, tiers enforced; [`indexer`] keeps the index current from the
//!   store's outbox; [`text`], [`snippet`], [`tier`], [`ratelimit`], [`vectors`],
//!   [`cores`] are its parts;
//! - [`status`]: "where is my song?": a song's stage, progress and ETA,
//!   under the same tiers as search;
//! - [`views`]: how often learners open songs, counted in memory and stored in
//!   batches: "popular" for the no-results suggestions.

pub mod intent;
pub mod redact;

pub mod cores;
pub mod indexer;
pub mod ratelimit;
pub mod recent;
pub mod service;
pub mod snippet;
pub mod status;
pub mod suggest;
pub mod text;
pub mod tier;
pub mod vectors;
pub mod views;

pub use service::{Requester, SearchError, SearchResponse, SearchResult, SearchService, SearchSettings};
pub use suggest::{Suggestion, SuggestionKind};
pub use tier::Tier;
pub use views::ViewCounter;
