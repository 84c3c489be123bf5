//! A knowledge-base file → a checked document: front matter, body, and the
//! refusals (binary, too big, empty, unconvertible legacy Khmer) with reasons.

use molt_core::knowledge::{EntityKind, EntityRef};
use std::path::Path;

/// File name endings `molt kb add` reads.
pub const EXTENSIONS: [&str; 3] = ["md", "markdown", "txt"];

/// A document read from a file, before it is chunked and embedded.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedDocument {
    pub key: String,
    pub title: String,
    pub entity: Option<EntityRef>,
    pub aliases: Vec<String>,
    pub related: Vec<EntityRef>,
    pub sources: Vec<String>,
    pub years: Option<(i32, i32)>,
    pub body: String,
    /// Paragraphs converted from legacy Limon encoding.
    pub converted_paragraphs: usize,
}

/// Why a file was refused. Each message says what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DocumentError(pub String);

fn refuse<T>(message: impl Into<String>) -> Result<T, DocumentError> {
    Err(DocumentError(message.into()))
}

/// The document's key: its file name without the extension, lower case.
pub fn key_for(path: &Path) -> Result<String, DocumentError> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_lowercase();
    let ok = !stem.is_empty()
        && stem.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !stem.starts_with('.');
    if ok {
        Ok(stem)
    } else {
        refuse(format!(
            "the file name `{}` cannot be a document key: use letters, digits, `-`, `_` and `.` only",
            path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        ))
    }
}

/// Checks and parses one file's bytes.
pub fn parse(path: &Path, bytes: &[u8], max_bytes: u64) -> Result<ParsedDocument, DocumentError> {
    let key = key_for(path)?;
    let text = check_text(bytes, max_bytes)?;
    let (front, body, body_line) = split_front_matter(&text)?;
    let mut doc = ParsedDocument {
        key,
        title: String::new(),
        entity: None,
        aliases: Vec::new(),
        related: Vec::new(),
        sources: Vec::new(),
        years: None,
        body: String::new(),
        converted_paragraphs: 0,
    };
    if let Some(front) = front {
        read_front_matter(&front, &mut doc)?;
    }
    let (body, converted) = convert_legacy_paragraphs(body, body_line)?;
    if body.trim().is_empty() {
        return refuse("the document is empty: it has no text after its front matter");
    }
    if doc.title.is_empty() {
        doc.title = first_heading(&body).unwrap_or_else(|| doc.key.replace(['-', '_'], " "));
    }
    check_title(&doc.title)?;
    doc.body = body;
    doc.converted_paragraphs = converted;
    Ok(doc)
}

/// UTF-8 text within the size limit, not a binary file.
fn check_text(bytes: &[u8], max_bytes: u64) -> Result<String, DocumentError> {
    if bytes.len() as u64 > max_bytes {
        return refuse(format!(
            "the file is {} bytes, over the limit of {max_bytes} (knowledge.max_document_bytes): split it",
            bytes.len()
        ));
    }
    if bytes.is_empty() {
        return refuse("the document is empty (0 bytes)");
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return refuse(format!("this is a binary file, not text (a NUL byte at offset {at})"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        DocumentError(format!(
            "the file is not UTF-8 text (invalid byte at offset {}): save it as UTF-8",
            e.valid_up_to()
        ))
    })?;
    let controls = text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')).count();
    if controls * 100 > text.chars().count() {
        return refuse(format!("this looks like a binary file: {controls} control characters"));
    }
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n"))
}

/// (front matter, body, the body's first line number).
fn split_front_matter(text: &str) -> Result<(Option<String>, &str, usize), DocumentError> {
    let Some(rest) = text.strip_prefix("---\n") else { return Ok((None, text, 1)) };
    let mut offset = 0;
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" {
            let body = &rest[offset + line.len()..];
            return Ok((Some(rest[..offset].to_string()), body, i + 3));
        }
        offset += line.len();
    }
    refuse("the front matter that starts on line 1 with `---` is never closed by a `---` line")
}

fn read_front_matter(front: &str, doc: &mut ParsedDocument) -> Result<(), DocumentError> {
    let mut entity_kind: Option<EntityKind> = None;
    let mut name: Option<String> = None;
    let mut in_sources = false;
    for (i, raw) in front.lines().enumerate() {
        let line_no = i + 2;
        let at = |m: String| DocumentError(format!("front matter, line {line_no}: {m}"));
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        if let Some(item) = raw.trim_start().strip_prefix("- ").filter(|_| raw.starts_with(' ')) {
            if !in_sources {
                return Err(at("a list item outside `sources:`".into()));
            }
            doc.sources.push(unquote(item));
            continue;
        }
        in_sources = false;
        let (key, value) = raw.split_once(':').ok_or_else(|| at(format!("`{raw}` is not `key: value`")))?;
        let value = value.trim();
        match key.trim() {
            "title" => doc.title = unquote(value),
            "entity" => entity_kind = Some(value.parse().map_err(at)?),
            "name" => name = Some(unquote(value)),
            "aliases" => doc.aliases = list(value).map_err(at)?,
            "related" => {
                doc.related = list(value)
                    .map_err(at)?
                    .iter()
                    .map(|r| r.parse())
                    .collect::<Result<_, _>>()
                    .map_err(at)?
            }
            "sources" if value.is_empty() => in_sources = true,
            "sources" => doc.sources = list(value).map_err(at)?,
            "years" => doc.years = Some(years(value).map_err(at)?),
            other => {
                return Err(at(format!(
                    "unknown key `{other}` (known: title, entity, name, aliases, related, sources, years)"
                )))
            }
        }
    }
    doc.entity = match (entity_kind, name) {
        (Some(kind), Some(name)) if !name.is_empty() => Some(EntityRef { kind, name }),
        (Some(_), _) => return refuse("front matter: `entity` needs a `name`"),
        (None, Some(_)) => return refuse("front matter: `name` needs an `entity` kind"),
        (None, None) => None,
    };
    Ok(())
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    let quoted = v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')));
    if quoted {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// `[a, b, "c, d"]` → the items.
fn list(value: &str) -> Result<Vec<String>, String> {
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| format!("`{value}` is not a list: write `[a, b]`"))?;
    let mut items = Vec::new();
    let (mut current, mut quote) = (String::new(), None);
    for c in inner.chars() {
        match (c, quote) {
            ('"' | '\'', None) if current.trim().is_empty() => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            (',', None) => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    Ok(items.into_iter().map(|i| i.trim().to_string()).filter(|i| !i.is_empty()).collect())
}

/// `1955-1970` (a hyphen or an en dash).
fn years(value: &str) -> Result<(i32, i32), String> {
    let bad = || format!("`{value}` is not a span of years such as `1955-1970`");
    let (from, to) = value.split_once(['-', '–']).ok_or_else(bad)?;
    let from: i32 = from.trim().parse().map_err(|_| bad())?;
    let to: i32 = to.trim().parse().map_err(|_| bad())?;
    if from > to {
        return Err(format!("`{value}`: the first year is after the last"));
    }
    Ok((from, to))
}

fn first_heading(body: &str) -> Option<String> {
    body.lines().find_map(|l| l.strip_prefix('#').map(|h| h.trim_start_matches('#').trim().to_string()))
}

fn check_title(title: &str) -> Result<(), DocumentError> {
    if let Some(guess) = molt_khmer::detect_legacy_strict(title) {
        return refuse(format!(
            "the title `{title}` looks like Khmer typed in a legacy Limon font ({:.0}% of its words): \
             retype it in Unicode Khmer",
            guess.confidence * 100.0
        ));
    }
    Ok(())
}

/// Paragraphs typed in a legacy Limon font are converted to Unicode Khmer;
/// one that cannot be converted surely is refused, with its line.
fn convert_legacy_paragraphs(body: &str, first_line: usize) -> Result<(String, usize), DocumentError> {
    let mut out = String::with_capacity(body.len());
    let (mut converted, mut line) = (0, first_line);
    for paragraph in body.split_inclusive("\n\n") {
        let trimmed = paragraph.trim_end_matches('\n');
        match molt_khmer::detect_legacy(trimmed) {
            Some(_) => {
                let unicode = molt_khmer::convert_limon(trimmed).map_err(|e| {
                    DocumentError(format!(
                        "line {line}: this paragraph looks like Khmer typed in a legacy Limon font, \
                         and it cannot be converted surely ({e}); retype it in Unicode Khmer"
                    ))
                })?;
                out.push_str(&unicode);
                out.push_str(&paragraph[trimmed.len()..]);
                converted += 1;
            }
            None => out.push_str(paragraph),
        }
        line += paragraph.matches('\n').count();
    }
    Ok((out, converted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(name: &str, text: &str) -> Result<ParsedDocument, DocumentError> {
        parse(Path::new(name), text.as_bytes(), 1 << 20)
    }

    const DOC: &str = "---\ntitle: Champa Battambang (ចម្ប៉ាបាត់ដំបង)\nentity: work\nname: Champa Battambang\n\
        aliases: [ចម្ប៉ាបាត់ដំបង, \"Champa, Battambang\"]\nrelated: [artist:Sinn Sisamouth, place:Battambang]\n\
        years: 1960–1965\nsources:\n  - \"Wikipedia, “Sinn Sisamouth”\"\n  - A book\n---\n\
        # Champa Battambang\n\nA song about Battambang.\n";

    #[test]
    fn front_matter_is_read() {
        let doc = parse_str("work-champa-battambang.md", DOC).unwrap();
        assert_eq!(doc.key, "work-champa-battambang");
        assert_eq!(doc.title, "Champa Battambang (ចម្ប៉ាបាត់ដំបង)");
        assert_eq!(doc.entity.unwrap().to_string(), "work:Champa Battambang");
        assert_eq!(doc.aliases, ["ចម្ប៉ាបាត់ដំបង", "Champa, Battambang"]);
        assert_eq!(doc.related.len(), 2);
        assert_eq!(doc.sources, ["Wikipedia, “Sinn Sisamouth”", "A book"]);
        assert_eq!(doc.years, Some((1960, 1965)));
        assert!(doc.body.starts_with("# Champa Battambang"));
    }

    #[test]
    fn plain_text_takes_its_title_from_a_heading_or_the_file_name() {
        assert_eq!(parse_str("a.md", "# Romvong\n\nCircle dance.").unwrap().title, "Romvong");
        assert_eq!(parse_str("lam-leav.txt", "A Lao-style song.").unwrap().title, "lam leav");
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let err = |name: &str, bytes: &[u8]| parse(Path::new(name), bytes, 100).unwrap_err().0;
        assert!(err("a.md", b"").contains("empty"));
        assert!(err("a.md", b"---\ntitle: x\n---\n \n").contains("no text after its front matter"));
        assert!(err("a.md", &[b'x'; 101]).contains("over the limit of 100"));
        assert!(err("a.md", b"PK\x03\x04\0\0").contains("binary file"));
        assert!(err("a.md", b"caf\xe9").contains("not UTF-8 text (invalid byte at offset 3)"));
        assert!(err("../x y.md", b"text").contains("cannot be a document key"));
        assert!(err("a.md", b"---\ntitle: x\nbody").contains("never closed"));
        assert!(err("a.md", b"---\ncolour: red\n---\ntext").contains("line 2: unknown key `colour`"));
        assert!(err("a.md", b"---\nentity: band\n---\ntext").contains("not an entity kind"));
        assert!(err("a.md", b"---\nentity: artist\n---\ntext").contains("needs a `name`"));
        assert!(err("a.md", b"---\nyears: 1970-1955\n---\ntext").contains("after the last"));
        assert!(err("a.md", b"---\naliases: a, b\n---\ntext").contains("not a list"));
    }

    #[test]
    fn legacy_paragraphs_are_converted_or_refused() {
        // Limon typing of ថ្ងៃខែឆ្នាំកំណើត ("date of birth"), molt-khmer's own test case.
        let doc = parse_str("a.md", "# Notes\n\néf¶ExqñaMkMeNIt\n\nEnglish text stays as it is.\n").unwrap();
        assert_eq!(doc.converted_paragraphs, 1);
        assert!(doc.body.contains(&molt_khmer::normalize("ថ្ងៃខែឆ្នាំកំណើត")), "{}", doc.body);
        assert!(doc.body.contains("English text stays as it is."));

        let err = parse_str("a.md", "# Notes\n\nText.\n\néf¶ExqñaMk€\n").unwrap_err().0;
        assert!(err.contains("line 5") && err.contains("legacy Limon font"), "{err}");
        let title = parse_str("a.md", "---\ntitle: éf¶ExqñaMkMeNIt\n---\ntext").unwrap_err().0;
        assert!(title.contains("legacy Limon font"), "{title}");
    }
}
