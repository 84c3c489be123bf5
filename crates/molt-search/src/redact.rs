//! PII redaction (being built).
