//! Input preparation shared by the importers: size limits, byte-order mark, line endings.

use std::borrow::Cow;

use crate::error::ParseError;

/// The largest input the importers accept, in bytes (1 MiB).
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// The longest line the line-based importers accept, in characters (Unicode scalar values).
pub const MAX_LINE_CHARS: usize = 10_000;

/// The 1-based line that byte `offset` of `bytes` is on, counting `\n`, `\r\n` and a lone `\r` as one
/// line break each (the same rule [`normalise_newlines`] applies).
pub(crate) fn line_of(bytes: &[u8], offset: usize) -> usize {
    let end = offset.min(bytes.len());
    let mut line = 1;
    for (i, &b) in bytes[..end].iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line += 1;
        }
    }
    line
}

/// Rejects input over [`MAX_INPUT_BYTES`], naming the line that holds the first byte past the limit.
pub(crate) fn check_size(bytes: &[u8]) -> Result<(), ParseError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ParseError::new(
            line_of(bytes, MAX_INPUT_BYTES),
            format!(
                "input is {} bytes, over the {} byte (1 MiB) limit for lyrics",
                bytes.len(),
                MAX_INPUT_BYTES
            ),
        ));
    }
    Ok(())
}

/// `\r\n` and lone `\r` become `\n`.
pub(crate) fn normalise_newlines(s: &str) -> Cow<'_, str> {
    if s.contains('\r') {
        Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Byte-order mark removal (a run of them, so that text starting with U+FEFF is never content the
/// exporters would write back as a BOM) and newline normalisation.
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    normalise_newlines(text.trim_start_matches('\u{FEFF}'))
}

/// Size check, then [`clean`].
pub(crate) fn prepare(text: &str) -> Result<Cow<'_, str>, ParseError> {
    check_size(text.as_bytes())?;
    Ok(clean(text))
}

/// The lines of prepared text with their 1-based numbers, each checked against [`MAX_LINE_CHARS`].
/// A final line break does not start another (empty) line.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = Result<(usize, &str), ParseError>> {
    text.split_terminator('\n').enumerate().map(|(i, line)| {
        let no = i + 1;
        if line.len() > MAX_LINE_CHARS && line.chars().count() > MAX_LINE_CHARS {
            Err(ParseError::new(
                no,
                format!("line is {} characters long, over the {MAX_LINE_CHARS} limit", line.chars().count()),
            ))
        } else {
            Ok((no, line))
        }
    })
}

/// Spaces and tabs: the only characters the importers ever trim. Other white space (no-break space,
/// U+200B, …) is content.
pub(crate) fn is_blank_char(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn trim_blank(s: &str) -> &str {
    s.trim_matches(is_blank_char)
}

pub(crate) fn is_blank(s: &str) -> bool {
    s.chars().all(is_blank_char)
}

/// The start of `s` for an error message: at most 40 characters, with `…` when cut.
pub(crate) fn snippet(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}
