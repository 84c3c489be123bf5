//! Molt's domain: the types every other crate speaks, the configuration and the
//! error taxonomy.
//!
//! Architecture invariant: this crate does no I/O. Configuration is parsed from
//! text and environment pairs handed in by the caller, so it stays testable.

pub mod alerts;
pub mod catalog;
pub mod config;
pub mod digits;
pub mod error;
pub mod jobs;
pub mod knowledge;
pub mod money;
pub mod ops;
pub mod pipeline;
pub mod role;
pub mod schedule;
pub mod search;
pub mod song;
pub mod time;
pub mod validate;

pub use config::Config;
pub use error::{ErrorClass, ValidationError};
pub use money::MicroUsd;
pub use role::{Permission, Role};
pub use song::{SongStatus, Stage};
