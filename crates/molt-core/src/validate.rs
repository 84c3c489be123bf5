//! Validation of song metadata, shared by the CLI and the HTTP API so both
//! reject the same input with the same message.

use crate::digits;
use crate::error::ValidationError;
use serde::{Deserialize, Serialize};

/// The earliest plausible recording year for the catalogue.
pub const MIN_YEAR: u32 = 1900;
pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_NAME_CHARS: usize = 200;

/// Song metadata as a user typed it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SongInput {
    pub title: Option<String>,
    pub title_latin: Option<String>,
    pub artist: Option<String>,
    pub year: Option<String>,
    pub album: Option<String>,
    pub composer: Option<String>,
    pub lyricist: Option<String>,
    pub isrc: Option<String>,
    pub language: Option<String>,
}

/// Song metadata that passed validation, trimmed and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SongMetadata {
    pub title: String,
    pub title_latin: Option<String>,
    pub artist: String,
    pub year: Option<u32>,
    pub album: Option<String>,
    pub composer: Option<String>,
    pub lyricist: Option<String>,
    pub isrc: Option<String>,
    pub language: Option<String>,
}

impl SongInput {
    /// Validate against the current year (passed in: this crate reads no clock).
    pub fn validate(self, current_year: u32) -> Result<SongMetadata, ValidationError> {
        Ok(SongMetadata {
            title: required("title", self.title, MAX_TITLE_CHARS)?,
            title_latin: optional("title_latin", self.title_latin, MAX_TITLE_CHARS)?,
            artist: required("artist", self.artist, MAX_NAME_CHARS)?,
            year: optional("year", self.year, 16)?.map(|y| year(&y, current_year)).transpose()?,
            album: optional("album", self.album, MAX_TITLE_CHARS)?,
            composer: optional("composer", self.composer, MAX_NAME_CHARS)?,
            lyricist: optional("lyricist", self.lyricist, MAX_NAME_CHARS)?,
            isrc: optional("isrc", self.isrc, 32)?.map(|i| isrc(&i)).transpose()?,
            language: optional("language", self.language, 35)?.map(|l| language(&l)).transpose()?,
        })
    }
}

fn required(field: &'static str, value: Option<String>, max_chars: usize) -> Result<String, ValidationError> {
    optional(field, value, max_chars)?
        .ok_or_else(|| ValidationError::new(field, "missing_field", format!("{field} is required")))
}

/// Trim, turn blank into `None`, and refuse control characters and overlong text.
/// Quotes, semicolons and angle brackets are kept verbatim: storage is parameterised
/// and output is escaped where it is rendered.
fn optional(
    field: &'static str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, ValidationError> {
    let Some(value) = value else { return Ok(None) };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
        return Err(ValidationError::new(
            field,
            "control_character",
            format!("{field} contains the control character U+{:04X}", c as u32),
        ));
    }
    let chars = trimmed.chars().count();
    if chars > max_chars {
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("{field} is {chars} characters long; the limit is {max_chars}"),
        ));
    }
    Ok(Some(trimmed.to_string()))
}

fn year(text: &str, current_year: u32) -> Result<u32, ValidationError> {
    let year = digits::parse_u32(text).ok_or_else(|| {
        ValidationError::new("year", "invalid_year", format!("year `{text}` is not a number"))
    })?;
    if !(MIN_YEAR..=current_year).contains(&year) {
        return Err(ValidationError::new(
            "year",
            "implausible_year",
            format!("year {year} is not plausible; expected {MIN_YEAR}–{current_year}"),
        ));
    }
    Ok(year)
}

/// ISRC: CC-XXX-YY-NNNNN (ISO 3901). Hyphens and spaces are accepted and removed.
fn isrc(text: &str) -> Result<String, ValidationError> {
    let compact: String =
        text.chars().filter(|c| *c != '-' && *c != ' ').collect::<String>().to_ascii_uppercase();
    let b = compact.as_bytes();
    let well_formed = b.len() == 12
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..5].iter().all(u8::is_ascii_alphanumeric)
        && b[5..].iter().all(u8::is_ascii_digit);
    if !well_formed {
        return Err(ValidationError::new(
            "isrc",
            "invalid_isrc",
            format!("ISRC `{text}` is malformed; expected CC-XXX-YY-NNNNN, e.g. KH-A12-67-00001"),
        ));
    }
    Ok(compact)
}

/// A BCP 47 language tag of the simple kind: `km`, `en`, `km-KH`, `fra`.
fn language(text: &str) -> Result<String, ValidationError> {
    let mut parts = text.split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok = (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !primary_ok || !rest_ok {
        return Err(ValidationError::new(
            "language",
            "invalid_language",
            format!("language `{text}` is not a language tag such as `km` or `en-US`"),
        ));
    }
    Ok(text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str, artist: &str) -> SongInput {
        SongInput { title: Some(title.into()), artist: Some(artist.into()), ..Default::default() }
    }

    #[test]
    fn title_and_artist_are_required() {
        let err = input("  ", "Sinn Sisamouth").validate(2026).unwrap_err();
        assert_eq!((err.field, err.code), ("title", "missing_field"));
        let err = SongInput { title: Some("x".into()), ..Default::default() }.validate(2026).unwrap_err();
        assert_eq!(err.field, "artist");
    }

    #[test]
    fn sql_metacharacters_are_kept_verbatim() {
        let title = "Robert'); DROP TABLE songs;--";
        let song = input(title, "A").validate(2026).unwrap();
        assert_eq!(song.title, title);
    }

    #[test]
    fn year_must_be_plausible_and_accepts_khmer_digits() {
        let mut i = input("t", "a");
        i.year = Some("១៩៦៧".into());
        assert_eq!(i.clone().validate(2026).unwrap().year, Some(1967));
        i.year = Some("1850".into());
        assert_eq!(i.clone().validate(2026).unwrap_err().code, "implausible_year");
        i.year = Some("2999".into());
        assert_eq!(i.clone().validate(2026).unwrap_err().code, "implausible_year");
        i.year = Some("sixties".into());
        assert_eq!(i.validate(2026).unwrap_err().code, "invalid_year");
    }

    #[test]
    fn isrc_is_checked_and_compacted() {
        let mut i = input("t", "a");
        i.isrc = Some("kh-a12-67-00001".into());
        assert_eq!(i.clone().validate(2026).unwrap().isrc.as_deref(), Some("KHA126700001"));
        i.isrc = Some("KH-A12-67-0001".into());
        assert_eq!(i.validate(2026).unwrap_err().code, "invalid_isrc");
    }

    #[test]
    fn control_characters_and_overlong_text_are_refused() {
        assert_eq!(input("a\u{0}b", "x").validate(2026).unwrap_err().code, "control_character");
        let long = "ក".repeat(MAX_TITLE_CHARS + 1);
        assert_eq!(input(&long, "x").validate(2026).unwrap_err().code, "too_long");
    }

    #[test]
    fn language_tags() {
        let mut i = input("t", "a");
        i.language = Some("km-KH".into());
        assert_eq!(i.clone().validate(2026).unwrap().language.as_deref(), Some("km-kh"));
        i.language = Some("khmer language".into());
        assert_eq!(i.validate(2026).unwrap_err().code, "invalid_language");
    }
}

/// An uploaded file's name is never used to store it (assets are
/// content-addressed), but a name with path components is a sign of a crafted
/// request, so it is refused outright rather than silently sanitised.
pub fn check_upload_name(name: &str) -> Result<(), ValidationError> {
    let unsafe_name = name.contains(['/', '\\', '\0'])
        || name.split(['/', '\\']).any(|part| part == "..")
        || name.trim() == ".."
        || name.chars().any(char::is_control);
    if unsafe_name {
        return Err(ValidationError::new(
            "audio",
            "unsafe_file_name",
            "the uploaded file name contains path components or control characters; send a plain name like song.mp3",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod upload_name_tests {
    use super::check_upload_name;

    #[test]
    fn path_tricks_are_refused() {
        for bad in ["../../etc/passwd", "..", "a/b.mp3", "..\\win.ini", "x\u{0}.mp3", "/etc/passwd"] {
            assert_eq!(check_upload_name(bad).unwrap_err().code, "unsafe_file_name", "{bad:?}");
        }
        assert!(check_upload_name("ស្រ្តី song..final.mp3").is_ok());
    }
}
