//! Snippets: the part of a song that matched, highlighted.
//!
//! A snippet is one lyric line (or the few lines a match spans, joined by
//! ` / `), the title, or the artist, as normalised for display (the same
//! visible text as stored). The matched part is marked twice over: in `text`
//! between `«` and `»`, and in `html` — HTML-escaped — between `<mark>` and
//! `</mark>`. Long lines are cut to a window around the first match, with `…`.

use molt_khmer::{is_khmer_mark, normalize_for_index};
use serde::Serialize;

/// Characters of context kept around a match in a long line.
const WINDOW_CHARS: usize = 140;
/// Characters kept before the first match when a long line is cut.
const LEAD_CHARS: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Snippet {
    /// Plain text, the match between `«` and `»`.
    pub text: String,
    /// HTML-escaped, the match in `<mark>…</mark>`.
    pub html: String,
}

/// A line as shown: normalised (zero-width hints dropped), control characters
/// removed, whitespace runs collapsed.
pub fn display_line(line: &str) -> String {
    let clean: String = normalize_for_index(line).chars().filter(|c| !c.is_control()).collect();
    clean.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lowercase characters of `line` that count in the compact form, each
/// with the index of the character of `line` it came from.
fn compact_chars(line: &str) -> Vec<(char, usize)> {
    let mut out = Vec::new();
    for (i, c) in line.chars().enumerate() {
        for lower in c.to_lowercase() {
            if lower.is_alphanumeric() || is_khmer_mark(lower) {
                out.push((lower, i));
            }
        }
    }
    out
}

/// Where the compact `needle` occurs first in `lines` (a match may run on
/// from one line into the next): per line touched, the character range.
pub fn find_compact(lines: &[String], needle: &str) -> Option<Vec<(usize, usize, usize)>> {
    let needle: Vec<char> = needle.chars().collect();
    if needle.is_empty() {
        return None;
    }
    let mut chars: Vec<(char, usize, usize)> = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        chars.extend(compact_chars(line).into_iter().map(|(c, i)| (c, n, i)));
    }
    let start = chars.windows(needle.len()).position(|w| w.iter().map(|x| x.0).eq(needle.iter().copied()))?;
    let hit = &chars[start..start + needle.len()];
    let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
    for &(_, line, i) in hit {
        match ranges.last_mut() {
            Some(r) if r.0 == line => r.2 = i + 1,
            _ => ranges.push((line, i, i + 1)),
        }
    }
    Some(ranges)
}

/// The character ranges of `line` where any of `words` occurs: Khmer words
/// anywhere (Khmer has no spaces), other words only as whole words.
pub fn find_words(line: &str, words: &[String]) -> Vec<(usize, usize)> {
    let lower: Vec<char> = line.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect();
    let mut ranges = Vec::new();
    for word in words {
        let w: Vec<char> = word.chars().collect();
        if w.is_empty() || w.len() > lower.len() {
            continue;
        }
        let khmer = molt_khmer::has_khmer(word);
        for start in 0..=lower.len() - w.len() {
            if lower[start..start + w.len()] != w[..] {
                continue;
            }
            let end = start + w.len();
            let boundary = |i: Option<&char>| i.is_none_or(|c| !c.is_alphanumeric());
            if khmer
                || (boundary(start.checked_sub(1).and_then(|p| lower.get(p))) && boundary(lower.get(end)))
            {
                ranges.push((start, end));
            }
        }
    }
    merge(ranges)
}

fn merge(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Renders `parts` (a line and its highlighted character ranges each) joined
/// by ` / `, cut to a window around the first highlight.
pub fn render(parts: &[(String, Vec<(usize, usize)>)]) -> Snippet {
    // Flatten into (char, highlighted) with separators.
    let mut chars: Vec<(char, bool)> = Vec::new();
    for (n, (line, ranges)) in parts.iter().enumerate() {
        if n > 0 {
            chars.extend(" / ".chars().map(|c| (c, false)));
        }
        for (i, c) in line.chars().enumerate() {
            chars.push((c, ranges.iter().any(|&(s, e)| i >= s && i < e)));
        }
    }
    let first = chars.iter().position(|c| c.1).unwrap_or(0);
    let (from, to) = if chars.len() <= WINDOW_CHARS {
        (0, chars.len())
    } else {
        let from = first.saturating_sub(LEAD_CHARS).min(chars.len() - WINDOW_CHARS);
        (from, from + WINDOW_CHARS)
    };
    let mut snippet = Snippet::default();
    if from > 0 {
        snippet.text.push('…');
        snippet.html.push('…');
    }
    let mut open = false;
    for &(c, marked) in &chars[from..to] {
        if marked != open {
            snippet.text.push(if marked { '«' } else { '»' });
            snippet.html.push_str(if marked { "<mark>" } else { "</mark>" });
            open = marked;
        }
        snippet.text.push(c);
        escape_into(&mut snippet.html, c);
    }
    if open {
        snippet.text.push('»');
        snippet.html.push_str("</mark>");
    }
    if to < chars.len() {
        snippet.text.push('…');
        snippet.html.push('…');
    }
    snippet
}

/// The whole of `line`, highlighted.
pub fn whole(line: &str) -> Snippet {
    render(&[(line.to_string(), vec![(0, line.chars().count())])])
}

/// `line` with nothing highlighted.
pub fn plain(line: &str) -> Snippet {
    render(&[(line.to_string(), Vec::new())])
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragment_typed_without_spaces_is_found_inside_words_and_across_spaces() {
        let lines = vec![display_line("ខ្ញុំ ស្រលាញ់\u{200B}អូន"), display_line("ណាស់")];
        let ranges = find_compact(&lines, &crate::text::compact("ញុំស្រលា")).unwrap();
        let s = render(&[(lines[0].clone(), vec![(ranges[0].1, ranges[0].2)])]);
        assert_eq!(s.text, "ខ្«ញុំ ស្រលា»ញ់អូន");
        // A match running into the next line.
        let ranges = find_compact(&lines, &crate::text::compact("អូនណា")).unwrap();
        assert_eq!(ranges.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1]);
        assert!(find_compact(&lines, "zz").is_none());
    }

    #[test]
    fn words_are_highlighted_whole_and_html_is_escaped() {
        let line = "Love <me> & love you, lovely";
        let s = render(&[(line.into(), find_words(line, &["love".into()]))]);
        assert_eq!(s.text, "«Love» <me> & «love» you, lovely");
        assert_eq!(s.html, "<mark>Love</mark> &lt;me&gt; &amp; <mark>love</mark> you, lovely");
    }

    #[test]
    fn long_lines_are_cut_around_the_match() {
        let line = format!("{}target{}", "x ".repeat(200), " y".repeat(200));
        let s = render(&[(line.clone(), find_words(&line, &["target".into()]))]);
        assert!(
            s.text.starts_with('…') && s.text.ends_with('…') && s.text.contains("«target»"),
            "{}",
            s.text
        );
        assert!(s.text.chars().count() <= WINDOW_CHARS + 4);
    }
}
