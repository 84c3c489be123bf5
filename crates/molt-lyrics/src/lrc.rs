//! LRC and enhanced LRC (the "A2" word-timing extension).

use crate::error::{ExportError, ParseError};
use crate::model::{check_language, Line, Lyrics, Word, MAX_TIME_MS};
use crate::text::{is_blank, is_blank_char, numbered_lines, snippet, trim_blank, MAX_INPUT_BYTES};
use crate::{time, Format};

/// Repeated time tags (`[00:12.00][00:45.00]chorus`) copy a line's text once per tag; the copies may
/// hold at most this many bytes of text in all, so a small file cannot expand into a huge one.
const MAX_EXPANDED_BYTES: usize = 8 * MAX_INPUT_BYTES;

/// `s` starts with one or more ASCII digits followed by `:`: the shape that makes a `[`…`]` or
/// `<`…`>` a time tag. Anything of that shape must then parse as a time, or the input is rejected.
fn is_time_shape(s: &str) -> bool {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && s.as_bytes().get(digits) == Some(&b':')
}

/// The first word-tag shape (`<` digits `:`) in `s`, as a byte offset.
fn find_word_tag(s: &str) -> Option<usize> {
    s.match_indices('<').map(|(i, _)| i).find(|&i| is_time_shape(&s[i + 1..]))
}

/// Why `text` cannot follow a line's time tag in LRC (a reader would take part of it for a tag), if it
/// cannot. The importer applies the same test to the text it builds, so whatever it returns exports.
fn text_problem(text: &str) -> Option<String> {
    if let Some(c) = text.chars().find(|&c| c == '\n' || c == '\r') {
        let what = if c == '\n' { "line break" } else { "carriage return" };
        return Some(format!("a {what} in the text (an LRC line holds one line of text)"));
    }
    let start = text.trim_start_matches(is_blank_char);
    if start.starts_with('[') && is_time_shape(&start[1..]) {
        return Some(format!("text starting with {:?} would be read as another time tag", snippet(start)));
    }
    if let Some(i) = find_word_tag(text) {
        return Some(format!("text containing {:?} would be read as a word time tag", snippet(&text[i..])));
    }
    None
}

/// Words with absolute times as written: (start, end, text); an end of `None` ends the last word at
/// the next line.
type RawWords = Vec<(u64, Option<u64>, String)>;

/// A line as read, before `[offset:]` and repeated tags are applied.
struct Parsed {
    line_no: usize,
    /// The line's time tags, in the order written.
    times: Vec<u64>,
    text: String,
    words: RawWords,
}

pub(crate) fn import(text: &str) -> Result<Lyrics, ParseError> {
    let mut language = None;
    let mut offset: i64 = 0;
    let mut parsed = Vec::new();
    for item in numbered_lines(text) {
        let (no, raw) = item?;
        let s = raw.trim_start_matches(is_blank_char);
        if s.is_empty() {
            continue;
        }
        if s.starts_with('[') && is_time_shape(&s[1..]) {
            parsed.push(parse_timed_line(no, s)?);
            continue;
        }
        let (key, value) = header_tag(s).ok_or_else(|| {
            ParseError::new(
                no,
                format!(
                    "expected a time tag such as [01:23.45] or a header tag such as [ar:artist], found {:?}",
                    snippet(s)
                ),
            )
        })?;
        match key.to_ascii_lowercase().as_str() {
            "la" => {
                let value = trim_blank(value);
                language = if value.is_empty() {
                    None
                } else {
                    check_language(value).map_err(|m| ParseError::new(no, m))?;
                    Some(value.to_string())
                };
            }
            "offset" => offset = parse_offset(value).map_err(|m| ParseError::new(no, m))?,
            _ => {} // [ar:], [ti:], [al:], [by:], [length:], … carry nothing the model keeps.
        }
    }
    let lines = expand(parsed, offset)?;
    let lyrics = Lyrics { language, lines };
    debug_assert_eq!(lyrics.validate(), Ok(()));
    Ok(lyrics)
}

/// `[key:value]` filling the whole (left-trimmed) line, key an ASCII letter then letters, digits, `_`
/// or `-`.
fn header_tag(s: &str) -> Option<(&str, &str)> {
    let inner = s.trim_end_matches(is_blank_char).strip_prefix('[')?.strip_suffix(']')?;
    let (key, value) = inner.split_once(':')?;
    let key_ok = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    key_ok.then_some((key, value))
}

/// `[offset:+500]`: milliseconds; a positive offset makes the lyrics appear sooner.
fn parse_offset(value: &str) -> Result<i64, String> {
    let v = trim_blank(value);
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    let ok = !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit());
    let n: i64 = if ok { v.parse().unwrap_or(i64::MAX) } else { i64::MAX };
    if !ok || n.unsigned_abs() > MAX_TIME_MS {
        return Err(format!("bad offset {:?}: expected milliseconds such as +500 or -250", snippet(v)));
    }
    Ok(n)
}

fn parse_timed_line(no: usize, s: &str) -> Result<Parsed, ParseError> {
    let err = |m: String| ParseError::new(no, m);
    let mut times = Vec::new();
    let mut rest = s;
    loop {
        let r = rest.trim_start_matches(is_blank_char);
        if !(r.starts_with('[') && is_time_shape(&r[1..])) {
            break;
        }
        let close = r.find(']').ok_or_else(|| err(format!("unclosed time tag {:?}", snippet(r))))?;
        times.push(time::parse_lrc(&r[1..close]).map_err(err)?);
        rest = &r[close + 1..];
    }
    let (text, words) = match find_word_tag(rest) {
        None => (trim_blank(rest).to_string(), Vec::new()),
        Some(_) => parse_words(rest, times[0]).map_err(err)?,
    };
    if let Some(problem) = text_problem(&text) {
        return Err(err(format!("the words join into text that LRC cannot carry: {problem}")));
    }
    Ok(Parsed { line_no: no, times, text, words })
}

/// An enhanced line's content: text with `<mm:ss.xx>` word tags. Every run of non-blank text is a
/// word, from the tag before it (or the line's time, for text before the first tag) to the next tag.
/// The line's text is the words joined by one space where the input had blanks between them and by
/// nothing where it had none (Khmer is written without spaces).
fn parse_words(content: &str, line_time: u64) -> Result<(String, RawWords), String> {
    // Pieces of text, each with the time of the tag before it (None: before the first tag).
    let mut pieces: Vec<(Option<u64>, &str)> = Vec::new();
    let mut tags = Vec::new();
    let mut current: Option<u64> = None;
    let mut rest = content;
    while let Some(i) = find_word_tag(rest) {
        pieces.push((current, &rest[..i]));
        let tag = &rest[i..];
        let close = tag.find('>').ok_or_else(|| format!("unclosed word time tag {:?}", snippet(tag)))?;
        let t = time::parse_lrc(&tag[1..close]).map_err(|m| format!("in a word time tag: {m}"))?;
        match tags.last() {
            None if t < line_time => {
                return Err(format!(
                    "word time <{}> is before the line's time [{}]",
                    &tag[1..close],
                    time::lrc(line_time)
                ))
            }
            Some(&prev) if t < prev => {
                return Err(format!(
                    "word time <{}> is earlier than the word time before it (<{}>)",
                    &tag[1..close],
                    time::lrc(prev)
                ))
            }
            _ => {}
        }
        tags.push(t);
        current = Some(t);
        rest = &tag[close + 1..];
    }
    pieces.push((current, rest));

    let mut text = String::new();
    let mut words = Vec::new();
    let mut blank_before = false;
    for (k, (start, piece)) in pieces.into_iter().enumerate() {
        // Piece k runs from tag k-1 (or the line's time) to tag k (or the end of the line).
        let end = tags.get(k).copied();
        let word = trim_blank(piece);
        if word.is_empty() {
            blank_before |= !piece.is_empty();
            continue;
        }
        if (blank_before || piece.starts_with(is_blank_char)) && !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
        words.push((start.unwrap_or(line_time), end, word.to_string()));
        blank_before = piece.ends_with(is_blank_char);
    }
    Ok((text, words))
}

/// Applies `[offset:]`, repeats lines with several time tags, sorts by time (stably: lines at the same
/// time keep their order in the file) and ends open last words at the next line.
fn expand(parsed: Vec<Parsed>, offset: i64) -> Result<Vec<Line>, ParseError> {
    let mut lines: Vec<(Line, bool)> = Vec::new();
    let mut expanded_bytes = 0usize;
    for p in parsed {
        let first = p.times[0];
        let at = |t: u64, shift: i64| -> Result<u64, ParseError> {
            let v = i128::from(t) + i128::from(shift) - i128::from(offset);
            if (0..=i128::from(MAX_TIME_MS)).contains(&v) {
                return Ok(v as u64);
            }
            let cause = match (offset, shift) {
                (0, _) => "repeating the line at a later time tag".to_string(),
                (_, 0) => format!("applying [offset:{offset:+}]"),
                _ => format!("applying [offset:{offset:+}] and repeating the line at a later time tag"),
            };
            Err(ParseError::new(p.line_no, format!("{cause} moves a time out of range (0 to [5999:59.99])")))
        };
        let size = p.text.len() + p.words.iter().map(|w| w.2.len()).sum::<usize>();
        for &t in &p.times {
            expanded_bytes += size;
            if expanded_bytes > MAX_EXPANDED_BYTES {
                return Err(ParseError::new(
                    p.line_no,
                    format!("repeated time tags expand the lyrics beyond {MAX_EXPANDED_BYTES} bytes"),
                ));
            }
            let shift = t as i64 - first as i64;
            let mut words = Vec::with_capacity(p.words.len());
            for (start, end, text) in &p.words {
                let start_ms = at(*start, shift)?;
                let end_ms = match end {
                    Some(e) => at(*e, shift)?,
                    None => start_ms, // fixed below, once the next line is known
                };
                words.push(Word { start_ms, end_ms, text: text.clone() });
            }
            let open = p.words.last().is_some_and(|w| w.1.is_none());
            let line = Line { start_ms: Some(at(t, 0)?), end_ms: None, text: p.text.clone(), words };
            lines.push((line, open));
        }
    }
    lines.sort_by_key(|(line, _)| line.start_ms);
    let starts: Vec<Option<u64>> = lines.iter().map(|(l, _)| l.start_ms).collect();
    Ok(lines
        .into_iter()
        .enumerate()
        .map(|(i, (mut line, open))| {
            if open {
                let next = starts.get(i + 1).copied().flatten();
                if let Some(last) = line.words.last_mut() {
                    last.end_ms = next.filter(|&n| n >= last.start_ms).unwrap_or(last.start_ms);
                }
            }
            line
        })
        .collect())
}

pub(crate) fn export(lyrics: &Lyrics, format: Format, starts: &[u64]) -> Result<String, ExportError> {
    let enhanced = format == Format::Elrc;
    let mut out = String::new();
    if let Some(lang) = &lyrics.language {
        out.push_str(&format!("[la:{lang}]\n"));
    }
    for (i, (line, &start)) in lyrics.lines.iter().zip(starts).enumerate() {
        if let Some(problem) = text_problem(&line.text) {
            return Err(ExportError::unrepresentable(i, format, problem));
        }
        out.push('[');
        out.push_str(&time::lrc(start));
        out.push(']');
        if enhanced && !line.words.is_empty() {
            write_words(&mut out, line).map_err(|m| ExportError::unrepresentable(i, format, m))?;
        } else {
            out.push_str(&line.text);
        }
        out.push('\n');
    }
    Ok(out)
}

/// Writes `<start>word` for each word, in the line's own text, with `<end>` after a word wherever the
/// next word does not start at that time (and after the last word). What lies between words in the
/// text must be blank: enhanced LRC can only time whole words.
fn write_words(out: &mut String, line: &Line) -> Result<(), String> {
    let text = line.text.as_str();
    let mut cursor = 0;
    for (j, w) in line.words.iter().enumerate() {
        let word = trim_blank(&w.text);
        if word.is_empty() {
            return Err(format!("word {} is empty", j + 1));
        }
        let found = text[cursor..].find(word).ok_or_else(|| {
            format!("word {} ({:?}) does not occur in the line's text after the word before it", j + 1, word)
        })?;
        let gap = &text[cursor..cursor + found];
        if !is_blank(gap) {
            return Err(format!(
                "text {:?} before word {} belongs to no word; enhanced LRC can only time whole words",
                snippet(gap),
                j + 1
            ));
        }
        out.push_str(gap);
        out.push('<');
        out.push_str(&time::lrc(w.start_ms));
        out.push('>');
        out.push_str(word);
        let next_start = line.words.get(j + 1).map(|n| time::lrc_quantise(n.start_ms));
        if next_start != Some(time::lrc_quantise(w.end_ms)) {
            out.push('<');
            out.push_str(&time::lrc(w.end_ms));
            out.push('>');
        }
        cursor += found + word.len();
    }
    let tail = &text[cursor..];
    if !is_blank(tail) {
        return Err(format!(
            "text {:?} after the last word belongs to no word; enhanced LRC can only time whole words",
            snippet(tail)
        ));
    }
    Ok(())
}
