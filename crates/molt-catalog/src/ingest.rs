//! Song ingest: validate the metadata, stage the audio in a temp file while
//! hashing it, check it decodes, move it to its content address, then create
//! the song. Any failure leaves no row and no file behind.

use chrono::Datelike;
use molt_core::catalog::{NewSong, Song, StoredAudio};
use molt_core::validate::SongInput;
use molt_core::{Config, ValidationError};
use molt_media::{AudioError, AudioInfo, AudioLimits};
use molt_store::{Database, StoreError};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tempfile::NamedTempFile;

/// Why a song could not be added. Each carries a stable code for the API.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    Audio(#[from] AudioError),
    #[error("this audio was already added as song {existing_id} (\"{title}\")")]
    Duplicate { existing_id: i64, title: String },
    #[error("{0}")]
    Store(StoreError),
    #[error("could not store the audio: {0}")]
    Io(String),
}

impl IngestError {
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Invalid(e) => e.code,
            IngestError::Audio(e) => e.code(),
            IngestError::Duplicate { .. } => "duplicate_audio",
            IngestError::Store(StoreError::Locked { .. }) => "database_locked",
            IngestError::Store(_) => "store_error",
            IngestError::Io(_) => "io_error",
        }
    }

    /// The caller sent something wrong (as opposed to the studio failing).
    pub fn is_client_error(&self) -> bool {
        matches!(self, IngestError::Invalid(_) | IngestError::Duplicate { .. })
            || matches!(self, IngestError::Audio(e) if !matches!(e, AudioError::Io(_)))
    }
}

impl From<StoreError> for IngestError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::DuplicateAudio { existing_id, title } => {
                IngestError::Duplicate { existing_id, title }
            }
            other => IngestError::Store(other),
        }
    }
}

impl From<std::io::Error> for IngestError {
    fn from(e: std::io::Error) -> Self {
        IngestError::Io(e.to_string())
    }
}

/// Khmer typed with a legacy font (Limon/ABC) looks like ASCII mojibake; it is
/// refused rather than stored, with the Unicode reading when the mapping is known.
fn refuse_legacy_khmer(input: &SongInput) -> Result<(), ValidationError> {
    let fields: [(&'static str, &Option<String>); 6] = [
        ("title", &input.title),
        ("title_latin", &input.title_latin),
        ("artist", &input.artist),
        ("album", &input.album),
        ("composer", &input.composer),
        ("lyricist", &input.lyricist),
    ];
    for (field, value) in fields {
        let Some(text) = value.as_deref() else { continue };
        if molt_khmer::detect_legacy_strict(text).is_none() {
            continue;
        }
        let reading = match molt_khmer::convert_limon(text) {
            Ok(unicode) => format!("in Unicode it reads \"{unicode}\""),
            Err(e) => e.to_string(),
        };
        return Err(ValidationError::new(
            field,
            "legacy_encoding",
            format!("{field} looks like Khmer typed with a legacy Limon font, not Unicode ({reading}); send Unicode Khmer"),
        ));
    }
    Ok(())
}

/// Audio being received: a temp file under the data directory (so the final
/// rename is atomic), hashed and size-checked as it is written.
pub struct StagedAudio {
    file: NamedTempFile,
    hasher: Sha256,
    bytes: u64,
    max_bytes: u64,
    /// The name the sender gave the file: only used to catch a name that contradicts the content.
    claimed_name: Option<String>,
}

impl StagedAudio {
    /// Append a chunk; refuses to grow past the size limit.
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), IngestError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > self.max_bytes {
            return Err(AudioError::TooLarge { bytes: self.bytes, max: self.max_bytes }.into());
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk)?;
        Ok(())
    }

    /// Record the file name the sender used (never used to store the file).
    pub fn claim_name(&mut self, name: &str) {
        self.claimed_name = Some(name.to_string());
    }

    /// Copy everything from `reader`, chunk by chunk.
    pub fn copy_from(&mut self, mut reader: impl Read) -> Result<(), IngestError> {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            self.write_chunk(&buf[..n])?;
        }
    }
}

/// The catalogue service.
#[derive(Clone)]
pub struct Catalog {
    db: Arc<dyn Database>,
    data_dir: PathBuf,
    limits: AudioLimits,
}

impl Catalog {
    pub fn new(db: Arc<dyn Database>, config: &Config) -> Catalog {
        let limits = AudioLimits {
            max_bytes: config.audio.max_bytes,
            min_duration_secs: config.audio.min_duration_secs,
            max_duration_secs: config.audio.max_duration_secs,
        };
        Catalog { db, data_dir: config.data_dir.clone(), limits }
    }

    pub fn db(&self) -> &Arc<dyn Database> {
        &self.db
    }

    pub fn limits(&self) -> &AudioLimits {
        &self.limits
    }

    /// Delete staging files left by a process that died mid-upload. Uploads
    /// still running are younger than `max_age` and are kept.
    pub fn sweep_stale_uploads(&self, max_age: Duration) -> usize {
        let Ok(entries) = std::fs::read_dir(self.data_dir.join("tmp")) else { return 0 };
        let stale = |e: &std::fs::DirEntry| {
            e.file_name().to_string_lossy().starts_with("upload-")
                && e.metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().unwrap_or_default() > max_age)
        };
        entries.flatten().filter(stale).filter(|e| std::fs::remove_file(e.path()).is_ok()).count()
    }

    /// A new staging file for incoming audio.
    pub fn stage(&self) -> Result<StagedAudio, IngestError> {
        let dir = self.data_dir.join("tmp");
        std::fs::create_dir_all(&dir)?;
        Ok(StagedAudio {
            file: tempfile::Builder::new().prefix("upload-").tempfile_in(dir)?,
            hasher: Sha256::new(),
            bytes: 0,
            max_bytes: self.limits.max_bytes,
            claimed_name: None,
        })
    }

    /// Add a song from a local audio file (the CLI's path).
    pub async fn add_song_from_file(
        &self,
        input: SongInput,
        audio: &Path,
        actor: &str,
    ) -> Result<Song, IngestError> {
        // Refuse bad metadata before copying a possibly large file.
        refuse_legacy_khmer(&input)?;
        input.clone().validate(current_year())?;
        let file = std::fs::File::open(audio)
            .map_err(|e| IngestError::Io(format!("cannot read the audio file: {e}")))?;
        let len = file.metadata()?.len();
        if len > self.limits.max_bytes {
            return Err(AudioError::TooLarge { bytes: len, max: self.limits.max_bytes }.into());
        }
        let catalog = self.clone();
        let name = audio.file_name().map(|n| n.to_string_lossy().into_owned());
        let staged = tokio::task::spawn_blocking(move || {
            let mut staged = catalog.stage()?;
            staged.copy_from(file)?;
            if let Some(name) = name {
                staged.claim_name(&name);
            }
            Ok::<_, IngestError>(staged)
        })
        .await
        .map_err(|e| IngestError::Io(e.to_string()))??;
        self.add_song(input, staged, actor).await
    }

    /// Add a song whose audio has been staged.
    pub async fn add_song(
        &self,
        input: SongInput,
        staged: StagedAudio,
        actor: &str,
    ) -> Result<Song, IngestError> {
        let metadata = input.validate(current_year())?;
        let sha256 = hex::encode(staged.hasher.clone().finalize());
        let limits = self.limits;
        let claimed = staged.claimed_name.clone();
        let (staged, info) = tokio::task::spawn_blocking(move || {
            let info = molt_media::probe_file(staged.file.path(), &limits);
            (staged, info)
        })
        .await
        .map_err(|e| IngestError::Io(e.to_string()))?;
        let info = info?;
        if let Some(name) = &claimed {
            molt_media::check_claim(name, &info)?;
        }
        if let Some(existing) = self.db.find_song_by_audio(&sha256).await? {
            return Err(IngestError::Duplicate { existing_id: existing.id, title: existing.title });
        }
        let (audio, created_file) = self.place(staged, &sha256, &info)?;
        match self.db.create_song(NewSong { metadata, audio: audio.clone() }, actor).await {
            Ok(song) => {
                tracing::info!(song_id = song.id, sha256 = %sha256, "song added");
                Ok(song)
            }
            Err(e) => {
                self.discard(created_file, &audio).await;
                Err(e.into())
            }
        }
    }

    /// Move the staged file to `assets/audio_in/<sha256>.<ext>` (fsync, then rename).
    /// Returns whether this call created the file.
    fn place(
        &self,
        staged: StagedAudio,
        sha256: &str,
        info: &AudioInfo,
    ) -> Result<(StoredAudio, bool), IngestError> {
        let relative = format!("assets/audio_in/{sha256}.{}", info.format.extension());
        let dest = self.data_dir.join(&relative);
        std::fs::create_dir_all(dest.parent().expect("has a parent"))?;
        let created = !dest.exists();
        if created {
            staged.file.as_file().sync_all()?;
            staged.file.persist(&dest).map_err(|e| IngestError::Io(e.error.to_string()))?;
        }
        let audio = StoredAudio {
            sha256: sha256.to_string(),
            relative_path: relative,
            mime: info.format.mime().to_string(),
            bytes: info.bytes,
            duration_secs: info.duration_secs,
        };
        Ok((audio, created))
    }

    /// Undo `place` after the row could not be written, unless another
    /// request stored a song with the same audio meanwhile.
    async fn discard(&self, created_file: bool, audio: &StoredAudio) {
        let still_used = !matches!(self.db.find_song_by_audio(&audio.sha256).await, Ok(None));
        if created_file && !still_used {
            let _ = std::fs::remove_file(self.data_dir.join(&audio.relative_path));
        }
    }
}

fn current_year() -> u32 {
    chrono::Utc::now().year() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_old_staging_files_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
        let store =
            molt_store::SqliteStore::open_migrated(&molt_store::StoreOptions::from_config(&config)).unwrap();
        let catalog = Catalog::new(Arc::new(store), &config);
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        for name in ["upload-old", "keep-me"] {
            std::fs::write(tmp.join(name), b"x").unwrap();
        }
        assert_eq!(catalog.sweep_stale_uploads(Duration::from_secs(3600)), 0, "fresh files are kept");
        assert_eq!(catalog.sweep_stale_uploads(Duration::ZERO), 1);
        assert!(tmp.join("keep-me").exists() && !tmp.join("upload-old").exists());
    }
}
