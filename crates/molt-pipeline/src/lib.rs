//! The song pipeline engine: provider traits, the router that every provider
//! call goes through (timeout, rate limit, retries, circuit breaker, fallback,
//! cost ledger, response cache, budgets), and the stage runner.
//!
//! Architecture invariant: no provider is called except through the router,
//! so no call escapes the cost ledger.

pub mod breaker;
pub mod error;
pub mod openai;
pub mod provider;
pub mod registry;
pub mod remote;
pub mod router;
pub mod runner;
pub mod stages;
pub mod verdict;
pub mod workers;

pub use error::ProviderError;
pub use provider::{ProviderId, StageProvider, Usage};
pub use router::{Router, RouterConfig};
