//! The error taxonomy of DESIGN §6: every failure is classified, and the class
//! decides the recovery (retry, wait, escalate, or stop and alert a human).

use serde::Serialize;
use std::fmt;

/// How a failure is handled; see the SOP decision tree in DESIGN §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Network error, timeout, 5xx: retry with backoff.
    Transient,
    /// 429: wait for Retry-After, then switch provider if it persists.
    RateLimited,
    /// Missing field, type mismatch, migration mismatch: no retry, escalate.
    SchemaData,
    /// Database or provider down: circuit breaker and fallback.
    Infrastructure,
    /// Invalid state or constraint violation.
    Business,
    /// Anything else: log, alert a human, no retry.
    Unknown,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::SchemaData => "schema_data",
            ErrorClass::Infrastructure => "infrastructure",
            ErrorClass::Business => "business",
            ErrorClass::Unknown => "unknown",
        }
    }
}

/// Bad input from a user: which field, a stable code and a precise message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        ValidationError { field, code, message: message.into() }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// An error's message followed by its causes' (`a: b: c`), each cause left
/// out when the message already ends with it (many errors repeat their
/// source). For HTTP clients, strip URLs first: they may hold tokens.
pub fn message_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}
