//! TTML (W3C Timed Text Markup Language; export only).

use crate::error::ExportError;
use crate::model::{Line, Lyrics};
use crate::text::snippet;
use crate::{time, Format};

/// Escapes text for XML content or a double-quoted attribute. Characters XML 1.0 cannot carry at all
/// (controls other than tab and line feed, carriage return, U+FFFE, U+FFFF) are an error: no escaping
/// can make them well-formed. Line feeds become `<br/>`.
fn escape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("<br/>"),
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(format!("the character U+{:04X}, which XML cannot carry", c as u32))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn clock(ms: u64) -> String {
    time::hms(ms, '.')
}

/// The content of a `<p>`: the line's text, with each word's place in it wrapped in a timed `<span>`.
/// Words are found in the text in order; text between them stays outside the spans.
fn paragraph(line: &Line) -> Result<String, String> {
    if line.words.is_empty() {
        return escape(&line.text);
    }
    let text = line.text.as_str();
    let mut out = String::new();
    let mut cursor = 0;
    for (j, w) in line.words.iter().enumerate() {
        let word = w.text.trim_matches(crate::text::is_blank_char);
        if word.is_empty() {
            return Err(format!("word {} is empty", j + 1));
        }
        let found = text[cursor..].find(word).ok_or_else(|| {
            format!(
                "word {} ({:?}) does not occur in the line's text after the word before it",
                j + 1,
                snippet(word)
            )
        })?;
        out.push_str(&escape(&text[cursor..cursor + found])?);
        out.push_str(&format!(
            "<span begin=\"{}\" end=\"{}\">{}</span>",
            clock(w.start_ms),
            clock(w.end_ms),
            escape(word)?
        ));
        cursor += found + word.len();
    }
    out.push_str(&escape(&text[cursor..])?);
    Ok(out)
}

pub(crate) fn export(lyrics: &Lyrics, cues: &[(u64, u64)]) -> Result<String, ExportError> {
    let lang = lyrics.language.as_deref().unwrap_or("");
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<tt xmlns=\"http://www.w3.org/ns/ttml\" xml:lang=\"{}\">\n  <body>\n    <div>\n",
        escape(lang).unwrap_or_default()
    ));
    for (i, (line, &(start, end))) in lyrics.lines.iter().zip(cues).enumerate() {
        let content = paragraph(line).map_err(|m| ExportError::unrepresentable(i, Format::Ttml, m))?;
        out.push_str(&format!("      <p begin=\"{}\" end=\"{}\">{content}</p>\n", clock(start), clock(end)));
    }
    out.push_str("    </div>\n  </body>\n</tt>\n");
    Ok(out)
}
