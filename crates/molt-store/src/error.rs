//! Store errors. They are `Clone` so one commit failure can be reported to
//! every write that was grouped into that commit.

use molt_core::ErrorClass;
use rusqlite::ErrorCode;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database is locked by another process (waited {waited_ms} ms over {attempts} attempts); \
         stop the other writer or try again"
    )]
    Locked { waited_ms: u64, attempts: u32 },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: i64 },
    #[error("this audio was already added as song {existing_id} (\"{title}\")")]
    DuplicateAudio { existing_id: i64, title: String },
    #[error("invalid state: {0}")]
    InvalidState(String),
    #[error("database error: {message}")]
    Sqlite { code: Option<ErrorCode>, message: String },
    #[error("migration {version}: {message}")]
    Migration { version: String, message: String },
    #[error("{0}")]
    NotMoltDatabase(String),
    #[error("I/O: {0}")]
    Io(String),
    #[error("the store is shut down")]
    Closed,
}

impl StoreError {
    /// Where this lands in the SOP decision tree.
    pub fn class(&self) -> ErrorClass {
        match self {
            StoreError::Locked { .. } => ErrorClass::Infrastructure,
            StoreError::NotFound { .. } | StoreError::DuplicateAudio { .. } | StoreError::InvalidState(_) => {
                ErrorClass::Business
            }
            StoreError::Migration { .. } | StoreError::NotMoltDatabase(_) => ErrorClass::SchemaData,
            StoreError::Sqlite {
                code: Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked), ..
            } => ErrorClass::Transient,
            StoreError::Sqlite { code: Some(ErrorCode::ConstraintViolation), .. } => ErrorClass::Business,
            StoreError::Io(_) | StoreError::Closed => ErrorClass::Infrastructure,
            StoreError::Sqlite { .. } => ErrorClass::Unknown,
        }
    }

    pub(crate) fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite { code: Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked), .. }
        )
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite { code: e.sqlite_error_code(), message: e.to_string() }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
