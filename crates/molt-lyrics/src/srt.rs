//! SubRip (SRT).

use crate::error::{ExportError, ParseError};
use crate::model::{Line, Lyrics};
use crate::text::{is_blank, numbered_lines, snippet, trim_blank};
use crate::{time, Format};

/// Parses `start --> end[ anything]`; whatever follows the end time (SRT's old `X1:… Y2:…` position
/// hints) is ignored.
fn parse_timing(line: &str) -> Result<(u64, u64), String> {
    let (left, right) = line.split_once("-->").ok_or_else(|| "expected a timing line".to_string())?;
    let start = time::parse_srt(trim_blank(left))?;
    let right = right.trim_start_matches(crate::text::is_blank_char);
    let end_token = right.split(crate::text::is_blank_char).next().unwrap_or("");
    let end = time::parse_srt(end_token)?;
    Ok((start, end))
}

pub(crate) fn import(text: &str) -> Result<Lyrics, ParseError> {
    let mut lines_in = numbered_lines(text).peekable();
    let mut lines = Vec::new();
    let mut previous: Option<(usize, u64)> = None;
    loop {
        // Blank lines separate cues.
        let (no, first) = loop {
            match lines_in.next().transpose()? {
                None => {
                    let lyrics = Lyrics { language: None, lines };
                    debug_assert_eq!(lyrics.validate(), Ok(()));
                    return Ok(lyrics);
                }
                Some((_, l)) if is_blank(l) => continue,
                Some(numbered) => break numbered,
            }
        };
        let head = trim_blank(first);
        let (timing_no, timing) = if !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit()) {
            match lines_in.next().transpose()? {
                Some((n, l)) if l.contains("-->") => (n, l),
                Some((n, l)) => {
                    return Err(ParseError::new(
                        n,
                        format!(
                            "cue {head} has no timing line: expected \"HH:MM:SS,mmm --> HH:MM:SS,mmm\", found {:?}",
                            snippet(l)
                        ),
                    ))
                }
                None => {
                    return Err(ParseError::new(
                        no,
                        format!("cue {head} has no timing line: the input ends after its number"),
                    ))
                }
            }
        } else if head.contains("-->") {
            (no, first)
        } else {
            return Err(ParseError::new(
                no,
                format!(
                    "expected a cue number or a timing line \"HH:MM:SS,mmm --> HH:MM:SS,mmm\", found {:?}",
                    snippet(head)
                ),
            ));
        };
        let (start, end) = parse_timing(timing).map_err(|m| ParseError::new(timing_no, m))?;
        if end < start {
            return Err(ParseError::new(
                timing_no,
                format!("cue ends ({}) before it starts ({})", time::hms(end, ','), time::hms(start, ',')),
            ));
        }
        if let Some((prev_no, prev_start)) = previous {
            if start < prev_start {
                return Err(ParseError::new(
                    timing_no,
                    format!(
                        "cue starts ({}) before the cue on line {prev_no} ({}); SRT cues must be in time order",
                        time::hms(start, ','),
                        time::hms(prev_start, ',')
                    ),
                ));
            }
        }
        previous = Some((timing_no, start));
        let mut text = String::new();
        while let Some(item) = lines_in.next_if(|item| !matches!(item, Ok((_, l)) if is_blank(l))) {
            let (n, l) = item?;
            if l.contains("-->") {
                return Err(ParseError::new(
                    n,
                    "cue text must not contain \"-->\" (is a blank line missing between two cues?)",
                ));
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(l);
        }
        lines.push(Line { start_ms: Some(start), end_ms: Some(end), text, words: Vec::new() });
    }
}

/// Why `text` cannot be a cue's text in SRT or WebVTT, if it cannot.
pub(crate) fn cue_text_problem(text: &str, arrow_allowed: bool) -> Option<String> {
    if text.contains('\r') {
        return Some("a carriage return in the text".into());
    }
    if text.is_empty() {
        return None;
    }
    if text.split('\n').any(is_blank) {
        return Some("a blank line inside the text would end the cue".into());
    }
    if !arrow_allowed && text.contains("-->") {
        return Some("cue text cannot contain \"-->\"".into());
    }
    None
}

pub(crate) fn export(lyrics: &Lyrics, cues: &[(u64, u64)]) -> Result<String, ExportError> {
    let mut out = String::new();
    for (i, (line, &(start, end))) in lyrics.lines.iter().zip(cues).enumerate() {
        if let Some(problem) = cue_text_problem(&line.text, false) {
            return Err(ExportError::unrepresentable(i, Format::Srt, problem));
        }
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}\n{} --> {}\n", i + 1, time::hms(start, ','), time::hms(end, ',')));
        out.push_str(&line.text);
        out.push('\n');
    }
    Ok(out)
}
