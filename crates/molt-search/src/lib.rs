//! Search and user queries (issue 7): what a learner or fan types, understood
//! and answered. Module map:
//!
//! - [`intent`]: what a free-text request is (song search, lyrics request,
//!   processing status, general info, bug report);
//! - [`redact`]: personal data (emails, phone numbers, tokens) removed before
//!   a query is logged.

pub mod intent;
pub mod redact;
