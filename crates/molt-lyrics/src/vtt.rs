//! WebVTT (export only).

use crate::error::ExportError;
use crate::model::Lyrics;
use crate::srt::cue_text_problem;
use crate::{time, Format};

/// `&`, `<` and `>` as character references, so cue text is never read as markup (and `-->` cannot
/// appear).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn export(lyrics: &Lyrics, cues: &[(u64, u64)]) -> Result<String, ExportError> {
    let mut out = String::from("WEBVTT\n");
    for (i, (line, &(start, end))) in lyrics.lines.iter().zip(cues).enumerate() {
        if let Some(problem) = cue_text_problem(&line.text, true) {
            return Err(ExportError::unrepresentable(i, Format::Vtt, problem));
        }
        out.push_str(&format!("\n{} --> {}\n", time::hms(start, '.'), time::hms(end, '.')));
        out.push_str(&escape(&line.text));
        out.push('\n');
    }
    Ok(out)
}
