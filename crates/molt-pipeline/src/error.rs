//! A provider call's failure, classified by the SOP decision tree (DESIGN §6).

use crate::provider::Usage;
use molt_core::ErrorClass;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub class: ErrorClass,
    /// Safe to log and show: never contains keys, tokens or personal data.
    pub message: String,
    /// From a 429's `Retry-After`, when the provider sent one.
    pub retry_after: Option<Duration>,
    /// The HTTP status, for remote providers.
    pub status: Option<u16>,
    /// What the failed call still cost (a paid answer that was rejected), so the
    /// router bills it; `None` when nothing was consumed.
    pub billed: Option<Usage>,
}

impl ProviderError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError { class, message: message.into(), retry_after: None, status: None, billed: None }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub fn with_billed(mut self, billed: Usage) -> Self {
        self.billed = Some(billed);
        self
    }
}
