//! Timed lyrics: a data model ([`Lyrics`], [`Line`], [`Word`]), exporters to LRC, enhanced LRC, SRT,
//! WebVTT, TTML, plain text and JSON, and importers from LRC (with enhanced word tags), SRT, plain
//! text and JSON.
//!
//! ```
//! use molt_lyrics::{export, import, Format};
//!
//! let lyrics = import("[la:km]\n[00:12.00]ខ្ញុំស្រលាញ់អូន\n[00:15.50]\n", Format::Lrc).unwrap();
//! assert_eq!(lyrics.lines[0].text, "ខ្ញុំស្រលាញ់អូន");
//! let srt = export(&lyrics, Format::Srt).unwrap();
//! assert_eq!(srt, "1\n00:00:12,000 --> 00:00:15,500\nខ្ញុំស្រលាញ់អូន\n\n2\n00:00:15,500 --> 00:00:19,500\n\n");
//! ```
//!
//! Architecture invariant: pure text in, text out. No I/O, no Khmer normalisation (that is
//! `molt-khmer`'s job): text, Khmer or not, including U+200B, passes through every importer and
//! exporter byte for byte. The only characters an importer ever trims are spaces and tabs around a
//! line's text.
//!
//! # Decisions
//!
//! **Times** are integer milliseconds, at most [`MAX_TIME_MS`] (`99:59:59.999`, SRT's two-digit
//! hours) in every format, so whatever one format carries the others can too. Times are never
//! invented: exporting a timed format from lyrics without timings is [`ExportError::Untimed`] ("these
//! lyrics have no timings; export as txt or json"), and from partly timed lyrics
//! [`ExportError::MissingStart`].
//!
//! **Cue ends** (SRT, WebVTT, TTML): a line without an end ends when the next line starts; the last
//! line ends 4 s ([`LAST_LINE_MS`]) after it starts, or when its last word ends if that is later,
//! capped at [`MAX_TIME_MS`]. These formats need lines in time order (non-decreasing starts; overlaps
//! are allowed): an exporter refuses lines out of order, and the SRT importer rejects a cue that starts
//! before the one above it (WebVTT's own rule, applied to SRT too).
//!
//! **LRC** writes `[mm:ss.xx]text`: centiseconds, truncated from milliseconds (never rounded up).
//! Minutes take as many digits as they need, so `[100:00.00]` is 100 minutes and the importer reads
//! any number of minute digits up to 5999 (`[5999:59.99]`); `[6000:00.00]` is "minutes out of range".
//! The importer accepts `[m:ss]`, `[mm:ss.x]`, `[mm:ss.xx]` and `[mm:ss.xxx]`; seconds must be two
//! digits, 00–59. Lines may come in any order and are sorted by time (stably). A line with several
//! time tags (`[00:12.00][00:45.00]chorus`) is repeated at each; its word tags move with it.
//! `[la:km]` sets the language (and is the one header the exporter writes); `[offset:±ms]` shifts every
//! time (positive: earlier); other headers (`[ar:]`, `[ti:]`, …) are ignored. Blank lines are skipped;
//! any other line must start with a tag. LRC has no line ends, so imported lines have `end_ms: None`.
//! Anything shaped like a tag (`[` or `<`, digits, `:`) must parse as a time, or it is an error; text
//! that a reader would take for a tag cannot be exported ([`ExportError::Unrepresentable`]).
//!
//! **Enhanced LRC** (the A2 extension) writes word tags directly before each word and nowhere else,
//! `[00:12.00]<00:12.00>ខ្ញុំ<00:12.50>ស្រលាញ់<00:13.20>អូន<00:14.00>` or, with spaces between words,
//! `[00:01.00]<00:01.00>When <00:01.40>the <00:01.80>truth<00:02.50>`, so the line's text is the tags
//! removed, byte for byte; an end tag follows a word whenever the next word does not start at its end
//! (and after the last word). The importer also reads the spaced style `[00:01.00] <00:01.00> When
//! <00:01.40> the`: each run of non-blank text is a word, from the tag before it (text before the first
//! tag starts at the line's time) to the next tag; a last word without a closing tag ends when the next
//! line starts. The line's text is its words joined by one space where the input had blanks between
//! them and by nothing where it had none. Word tags must not go backwards nor precede the line's time.
//! Plain LRC export drops word timings; both LRC importers are the same (`Lrc` reads word tags).
//!
//! **SRT** cues are `N`, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, text lines, a blank line. The importer
//! accepts `.` for `,`, more or fewer hour digits (up to 99), a missing cue number, and ignores
//! anything after the end time; cue numbers are not checked for sequence (the exporter renumbers).
//! A multi-line cue's lines are joined with `\n`. A cue may end where it starts, not before; its text
//! cannot contain `-->`.
//!
//! **WebVTT** writes `WEBVTT`, then `HH:MM:SS.mmm --> HH:MM:SS.mmm` cues with `&`, `<` and `>`
//! escaped. **TTML** writes a `<tt xmlns="http://www.w3.org/ns/ttml" xml:lang="…">` document (an empty
//! `xml:lang` when the language is unknown) with one `<p begin end>` per line and a `<span begin end>`
//! around each word found in the line's text; all text and attributes are XML-escaped, line breaks
//! become `<br/>`, and characters XML cannot carry are an error. Neither is imported.
//!
//! **Text** is one line per line, each ending in `\n`; empty lines are lines. **JSON** is the model
//! (`serde_json`, pretty, ending in `\n`; absent times and empty word lists are omitted); its importer
//! rejects unknown fields and checks [`Lyrics::validate`], reporting the JSON line.
//!
//! **Input limits**: at most [`MAX_INPUT_BYTES`] (1 MiB) of input and, except in JSON,
//! [`MAX_LINE_CHARS`] (10,000) characters per line. Importers strip a UTF-8 byte-order mark (any
//! number of them: U+FEFF opening the input is never content) and read
//! `\r\n` and a lone `\r` as line breaks (line numbers count them the same way). [`import_bytes`]
//! rejects invalid UTF-8 with the line of the first bad byte.
//!
//! **Round trip**: for lyrics any importer produced, export → import → export in the same format
//! (LRC, enhanced LRC, SRT, text, JSON) gives the same bytes; [`check_round_trip`] checks it (and is
//! what the fuzz targets in `fuzz/` run).

mod error;
mod format;
mod json;
mod lrc;
mod model;
mod srt;
mod text;
mod time;
mod ttml;
mod vtt;

pub use error::{ExportError, ModelError, ParseError};
pub use format::{Format, UnknownFormat};
pub use model::{Line, Lyrics, Word, MAX_TIME_MS};
pub use text::{MAX_INPUT_BYTES, MAX_LINE_CHARS};

/// How long the last line lasts in the subtitle formats when it has no end of its own.
pub const LAST_LINE_MS: u64 = 4_000;

/// Writes `lyrics` in `format`.
///
/// Fails when a timed format is asked of untimed or partly timed lyrics, when the lyrics break an
/// invariant ([`Lyrics::validate`]), or when the format cannot carry something in them (see
/// [`ExportError`]).
pub fn export(lyrics: &Lyrics, format: Format) -> Result<String, ExportError> {
    match format {
        Format::Txt => Ok(lyrics.lines.iter().map(|l| format!("{}\n", l.text)).collect()),
        Format::Json => json::export(lyrics),
        Format::Lrc | Format::Elrc => lrc::export(lyrics, format, &starts(lyrics, format)?),
        Format::Srt => srt::export(lyrics, &cues(lyrics, format)?),
        Format::Vtt => vtt::export(lyrics, &cues(lyrics, format)?),
        Format::Ttml => ttml::export(lyrics, &cues(lyrics, format)?),
    }
}

/// Reads lyrics in `format` from text. See the crate documentation for what each importer accepts.
///
/// WebVTT and TTML are export-only: asking for them is an error on line 1.
pub fn import(text: &str, format: Format) -> Result<Lyrics, ParseError> {
    let text = text::prepare(text)?;
    import_prepared(&text, format)
}

/// Like [`import`], from bytes: rejects invalid UTF-8 (naming the line of the first bad byte), strips
/// the UTF-8 byte-order mark and normalises `\r\n` (and a lone `\r`) to `\n`.
pub fn import_bytes(bytes: &[u8], format: Format) -> Result<Lyrics, ParseError> {
    text::check_size(bytes)?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(body).map_err(|e| {
        let offset = e.valid_up_to() + (bytes.len() - body.len());
        ParseError::new(text::line_of(bytes, offset), format!("invalid UTF-8 at byte {offset}"))
    })?;
    import_prepared(&text::clean(text), format)
}

fn import_prepared(text: &str, format: Format) -> Result<Lyrics, ParseError> {
    match format {
        Format::Lrc | Format::Elrc => lrc::import(text),
        Format::Srt => srt::import(text),
        Format::Json => json::import(text),
        Format::Txt => text::numbered_lines(text)
            .map(|item| item.map(|(_, line)| Line::untimed(line)))
            .collect::<Result<Vec<_>, _>>()
            .map(Lyrics::new),
        Format::Vtt | Format::Ttml => Err(ParseError::new(
            1,
            format!("importing {format} is not supported; import reads lrc, elrc, srt, txt or json"),
        )),
    }
}

/// Every line's start, after checking that a timed format can be written at all.
fn starts(lyrics: &Lyrics, format: Format) -> Result<Vec<u64>, ExportError> {
    lyrics.validate()?;
    if !lyrics.lines.is_empty() && !lyrics.is_timed() {
        return Err(ExportError::Untimed { format });
    }
    lyrics
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| l.start_ms.ok_or(ExportError::MissingStart { line: i + 1, format }))
        .collect()
}

/// Every line's (start, end) for the subtitle formats: lines in time order, ends derived as the crate
/// documentation says.
fn cues(lyrics: &Lyrics, format: Format) -> Result<Vec<(u64, u64)>, ExportError> {
    let starts = starts(lyrics, format)?;
    let mut cues = Vec::with_capacity(starts.len());
    for (i, line) in lyrics.lines.iter().enumerate() {
        let start = starts[i];
        if i > 0 && start < starts[i - 1] {
            return Err(ExportError::unrepresentable(
                i,
                format,
                format!(
                    "it starts ({}) before line {} ({}); cues must be in time order",
                    time::hms(start, '.'),
                    i,
                    time::hms(starts[i - 1], '.')
                ),
            ));
        }
        let end = match (line.end_ms, starts.get(i + 1)) {
            (Some(end), _) => end,
            (None, Some(&next)) => next,
            (None, None) => {
                let last_word = line.words.last().map_or(0, |w| w.end_ms);
                (start + LAST_LINE_MS).max(last_word).min(MAX_TIME_MS)
            }
        };
        cues.push((start, end));
    }
    Ok(cues)
}

/// The property the fuzz targets check, for one input: if `bytes` import as `format`, the lyrics are
/// valid, exporting them in that format (and, for LRC, in the other LRC flavour) and importing and
/// exporting again gives the same bytes, JSON carries them losslessly, and no exporter panics.
///
/// Returns the imported lyrics, `Ok(None)` when the input is rejected (which is fine), or a
/// description of the broken property.
pub fn check_round_trip(bytes: &[u8], format: Format) -> Result<Option<Lyrics>, String> {
    let Ok(lyrics) = import_bytes(bytes, format) else {
        return Ok(None);
    };
    lyrics.validate().map_err(|e| format!("the {format} importer produced invalid lyrics: {e}"))?;
    let flavours = match format {
        Format::Lrc | Format::Elrc => vec![Format::Lrc, Format::Elrc],
        other => vec![other],
    };
    for f in flavours {
        let first = export(&lyrics, f)
            .map_err(|e| format!("exporting imported {format} lyrics as {f} failed: {e}"))?;
        let again = import(&first, f)
            .map_err(|e| format!("re-importing exported {f} failed: {e}\n--- export:\n{first}"))?;
        let second = export(&again, f).map_err(|e| format!("second {f} export failed: {e}"))?;
        if first != second {
            return Err(format!("{f} export is not stable:\n--- first:\n{first}\n--- second:\n{second}"));
        }
    }
    let json = export(&lyrics, Format::Json).map_err(|e| format!("JSON export failed: {e}"))?;
    let back = import(&json, Format::Json).map_err(|e| format!("JSON re-import failed: {e}\n{json}"))?;
    if back != lyrics {
        return Err(format!("JSON does not carry the lyrics losslessly:\n{json}"));
    }
    for f in Format::ALL {
        let _ = export(&lyrics, f);
    }
    Ok(Some(lyrics))
}
