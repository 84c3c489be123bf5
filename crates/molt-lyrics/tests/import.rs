//! The importers: what they read, and every error with its line number.

use molt_lyrics::{
    import, import_bytes, Format, Line, Lyrics, ParseError, Word, MAX_INPUT_BYTES, MAX_TIME_MS,
};

const I_LOVE_YOU: &str = "ខ្ញុំស្រលាញ់អូន";

fn word(start_ms: u64, end_ms: u64, text: &str) -> Word {
    Word { start_ms, end_ms, text: text.into() }
}

fn err(text: &str, format: Format) -> ParseError {
    match import(text, format) {
        Ok(lyrics) => panic!("{format} input was accepted: {text:?} -> {lyrics:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's line and the start of its message, and that Display is "line N: message".
fn assert_err(text: &str, format: Format, line: usize, message_start: &str) {
    let e = err(text, format);
    assert_eq!(e.line, line, "{format} {text:?}: {e}");
    assert!(e.message.starts_with(message_start), "{format} {text:?}: got {:?}", e.message);
    assert_eq!(e.to_string(), format!("line {line}: {}", e.message));
}

// ---------------------------------------------------------------- LRC

#[test]
fn lrc_reads_headers_sorts_and_repeats() {
    let text = format!(
        "[ti:ចម្ប៉ាបាត់ដំបង]\n[ar:Sinn Sisamouth]\n[la:km]\n\n\
         [00:45.00]second\n[00:12.00][01:10.5]chorus {I_LOVE_YOU}\n[0:03]  first \n[00:45.00]second, again\n"
    );
    let lyrics = import(&text, Format::Lrc).unwrap();
    assert_eq!(lyrics.language.as_deref(), Some("km"));
    let lines: Vec<(Option<u64>, &str)> =
        lyrics.lines.iter().map(|l| (l.start_ms, l.text.as_str())).collect();
    let chorus = format!("chorus {I_LOVE_YOU}");
    assert_eq!(
        lines,
        vec![
            (Some(3_000), "first"),
            (Some(12_000), chorus.as_str()),
            (Some(45_000), "second"),
            (Some(45_000), "second, again"),
            (Some(70_500), chorus.as_str()),
        ]
    );
    assert!(lyrics.lines.iter().all(|l| l.end_ms.is_none() && l.words.is_empty()));
}

#[test]
fn lrc_fractions_long_minutes_and_tags_with_blanks_between() {
    let lyrics = import(
        "[00:01.5]a\n[00:02.345]b\n[100:00.00]c\n[5999:59.999]d\n[00:03.00] [00:04.00] e\n",
        Format::Lrc,
    )
    .unwrap();
    let starts: Vec<u64> = lyrics.lines.iter().map(|l| l.start_ms.unwrap()).collect();
    assert_eq!(starts, vec![1_500, 2_345, 3_000, 4_000, 6_000_000, MAX_TIME_MS]);
    assert_eq!(lyrics.lines[2].text, "e");
}

#[test]
fn lrc_offset_shifts_every_time() {
    let lyrics = import("[offset:+500]\n[00:01.00]<00:01.00>a <00:01.50>b<00:02.00>\n", Format::Lrc).unwrap();
    assert_eq!(lyrics.lines[0].start_ms, Some(500));
    assert_eq!(lyrics.lines[0].words, vec![word(500, 1000, "a"), word(1000, 1500, "b")]);
    let later = import("[00:01.00]a\n[offset:-250]\n", Format::Lrc).unwrap();
    assert_eq!(later.lines[0].start_ms, Some(1_250));
}

#[test]
fn lrc_keeps_text_byte_exact() {
    let zwsp = "ខ្ញុំ\u{200B}ស្រលាញ់\u{200B}អូន";
    let text = format!("[00:01.00]{zwsp}\n[00:02.00]\u{A0}nbsp\u{A0}\n[00:03.00][Chorus] <3\n");
    let lyrics = import(&text, Format::Lrc).unwrap();
    assert_eq!(lyrics.lines[0].text.as_bytes(), zwsp.as_bytes());
    assert_eq!(lyrics.lines[1].text, "\u{A0}nbsp\u{A0}", "only spaces and tabs are trimmed");
    assert_eq!(lyrics.lines[2].text, "[Chorus] <3");
}

#[test]
fn elrc_tight_style_keeps_khmer_unspaced() {
    let lyrics =
        import("[00:12.00]<00:12.00>ខ្ញុំ<00:12.50>ស្រលាញ់<00:13.20>អូន<00:14.00>\n", Format::Elrc).unwrap();
    let line = &lyrics.lines[0];
    assert_eq!(line.text, I_LOVE_YOU);
    assert_eq!(
        line.words,
        vec![word(12_000, 12_500, "ខ្ញុំ"), word(12_500, 13_200, "ស្រលាញ់"), word(13_200, 14_000, "អូន")]
    );
}

#[test]
fn elrc_spaced_style_gaps_and_text_before_the_first_tag() {
    let lyrics = import(
        "[00:01.00] <00:01.00> When <00:01.40> the <00:01.80><00:02.00> truth <00:02.50>\n\
         [00:03.00]Oh <00:03.50>yeah<00:04.00>\n",
        Format::Lrc,
    )
    .unwrap();
    assert_eq!(lyrics.lines[0].text, "When the truth");
    assert_eq!(
        lyrics.lines[0].words,
        vec![word(1_000, 1_400, "When"), word(1_400, 1_800, "the"), word(2_000, 2_500, "truth")]
    );
    assert_eq!(lyrics.lines[1].text, "Oh yeah");
    assert_eq!(lyrics.lines[1].words, vec![word(3_000, 3_500, "Oh"), word(3_500, 4_000, "yeah")]);
}

#[test]
fn elrc_open_last_word_ends_at_the_next_line() {
    let lyrics = import("[00:01.00]<00:01.00>a <00:01.50>b\n[00:03.00]<00:03.00>c\n", Format::Lrc).unwrap();
    assert_eq!(lyrics.lines[0].words, vec![word(1_000, 1_500, "a"), word(1_500, 3_000, "b")]);
    assert_eq!(
        lyrics.lines[1].words,
        vec![word(3_000, 3_000, "c")],
        "the last line's last word has no end to take"
    );
}

#[test]
fn elrc_repeated_line_moves_its_words() {
    let lyrics = import("[00:10.00][00:30.00]<00:10.00>la <00:10.50>la<00:11.00>\n", Format::Lrc).unwrap();
    assert_eq!(lyrics.lines[0].words, vec![word(10_000, 10_500, "la"), word(10_500, 11_000, "la")]);
    assert_eq!(lyrics.lines[1].start_ms, Some(30_000));
    assert_eq!(lyrics.lines[1].words, vec![word(30_000, 30_500, "la"), word(30_500, 31_000, "la")]);
}

#[test]
fn lrc_errors_name_their_line() {
    let lrc = Format::Lrc;
    assert_err("[00:01.00]a\n[00:6x.00]b\n", lrc, 2, "bad timestamp \"00:6x.00\": expected mm:ss.xx");
    assert_err("[00:01.00]a\n\n[00:60.00]b\n", lrc, 3, "seconds out of range in \"00:60.00\": 00-59");
    assert_err("[6000:00.00]b\n", lrc, 1, "minutes out of range in \"6000:00.00\": at most 5999");
    assert_err("[00:01.00]a\n[00:02.00[00:03.00]b\n", lrc, 2, "bad timestamp \"00:02.00[00:03.00\"");
    assert_err("[00:01.00]a\n[00:02.00\n", lrc, 2, "unclosed time tag \"[00:02.00\"");
    assert_err("[00:01.00]a\njust text\n", lrc, 2, "expected a time tag such as [01:23.45] or a header tag");
    assert_err("[Chorus]\n[00:01.00]a\n", lrc, 1, "expected a time tag such as [01:23.45] or a header tag");
    assert_err("[-00:01.00]a\n", lrc, 1, "expected a time tag");
    assert_err("[ar:x] trailing\n", lrc, 1, "expected a time tag");
    assert_err("[la:km]\n[la:k m]\n", lrc, 2, "language \"k m\" is not a language tag");
    assert_err("[offset:soon]\n", lrc, 1, "bad offset \"soon\"");
    assert_err(
        "[offset:+2000]\n[00:05.00]a\n[00:01.00]b\n",
        lrc,
        3,
        "applying [offset:+2000] moves a time out of range (0 to [5999:59.99])",
    );
    assert_err(
        "[00:00.00][5999:00.00]<00:00.00>a<01:00.00>\n",
        lrc,
        1,
        "repeating the line at a later time tag moves a time out of range (0 to [5999:59.99])",
    );
    assert_err(
        "[00:01.00]<00:01.00>a<00:1x.00>b\n",
        lrc,
        1,
        "in a word time tag: bad timestamp \"00:1x.00\"",
    );
    assert_err("[00:01.00]<00:01.00>a<00:02.00\n", lrc, 1, "unclosed word time tag \"<00:02.00\"");
    assert_err(
        "\n[00:02.00]<00:01.00>a\n",
        lrc,
        2,
        "word time <00:01.00> is before the line's time [00:02.00]",
    );
    assert_err(
        "[00:01.00]<00:02.00>a<00:01.50>b\n",
        lrc,
        1,
        "word time <00:01.50> is earlier than the word time before it (<00:02.00>)",
    );
    assert_err(
        "[00:01.00]<00:01.00>a<1<00:02.00>2:b\n",
        lrc,
        1,
        "the words join into text that LRC cannot carry: text containing \"<12:b\" would be read as a word time tag",
    );
}

#[test]
fn lrc_errors_in_crlf_and_bom_input_count_lines_the_same() {
    assert_err("\u{FEFF}[la:km]\r\n[00:01.00]a\r\n[00:99.00]b\r\n", Format::Lrc, 3, "seconds out of range");
    assert_err("[00:01.00]a\r[00:99.00]b\r", Format::Lrc, 2, "seconds out of range");
}

// ---------------------------------------------------------------- SRT

#[test]
fn srt_reads_cues() {
    let text = format!(
        "1\n00:00:01,000 --> 00:00:02,500\n{I_LOVE_YOU}\nsecond line\n\n\n\
         00:00:03.000 --> 00:00:04.000 X1:10 X2:20\n  indented  \n\n\
         7\n01:00:00,000 --> 01:00:00,000\n\n\
         8\n99:59:59,000 --> 99:59:59,999\nlast"
    );
    let lyrics = import(&text, Format::Srt).unwrap();
    assert_eq!(
        lyrics.lines,
        vec![
            Line {
                start_ms: Some(1_000),
                end_ms: Some(2_500),
                text: format!("{I_LOVE_YOU}\nsecond line"),
                words: vec![]
            },
            Line { start_ms: Some(3_000), end_ms: Some(4_000), text: "  indented  ".into(), words: vec![] },
            Line { start_ms: Some(3_600_000), end_ms: Some(3_600_000), text: String::new(), words: vec![] },
            Line {
                start_ms: Some(359_999_000),
                end_ms: Some(MAX_TIME_MS),
                text: "last".into(),
                words: vec![]
            },
        ]
    );
}

#[test]
fn srt_errors_name_their_line() {
    let srt = Format::Srt;
    assert_err(
        "1\nHello\n",
        srt,
        2,
        "cue 1 has no timing line: expected \"HH:MM:SS,mmm --> HH:MM:SS,mmm\", found \"Hello\"",
    );
    assert_err(
        "1\n00:00:01,000 --> 00:00:02,000\na\n\n2\n",
        srt,
        5,
        "cue 2 has no timing line: the input ends",
    );
    assert_err("1\n\n00:00:01,000 --> 00:00:02,000\n", srt, 2, "cue 1 has no timing line");
    assert_err("Hello\n", srt, 1, "expected a cue number or a timing line");
    assert_err("1\n00:00:01 --> 00:00:02,000\n", srt, 2, "bad timestamp \"00:00:01\": expected HH:MM:SS,mmm");
    assert_err("1\n00:00:01,000 -> 00:00:02,000\n", srt, 2, "cue 1 has no timing line");
    assert_err("1\n00:00:01,000 --> \n", srt, 2, "bad timestamp \"\"");
    assert_err(
        "1\n00:61:00,000 --> 01:00:00,000\n",
        srt,
        2,
        "minutes out of range in \"00:61:00,000\": 00-59",
    );
    assert_err("1\n00:00:00,000 --> 00:00:60,000\n", srt, 2, "seconds out of range");
    assert_err("1\n100:00:00,000 --> 100:00:01,000\n", srt, 2, "hours out of range");
    assert_err(
        "1\n00:00:05,000 --> 00:00:04,999\n",
        srt,
        2,
        "cue ends (00:00:04,999) before it starts (00:00:05,000)",
    );
    assert_err(
        "1\n00:00:05,000 --> 00:00:06,000\na\n\n2\n00:00:04,000 --> 00:00:06,000\nb\n",
        srt,
        6,
        "cue starts (00:00:04,000) before the cue on line 2 (00:00:05,000); SRT cues must be in time order",
    );
    assert_err(
        "1\n00:00:01,000 --> 00:00:02,000\na\n2\n00:00:03,000 --> 00:00:04,000\nb\n",
        srt,
        5,
        "cue text must not contain \"-->\" (is a blank line missing between two cues?)",
    );
}

// ---------------------------------------------------------------- text and JSON

#[test]
fn txt_keeps_every_line() {
    let lyrics = import(&format!("{I_LOVE_YOU}\r\n\r\n  spaced  \n"), Format::Txt).unwrap();
    assert_eq!(
        lyrics,
        Lyrics::new(vec![Line::untimed(I_LOVE_YOU), Line::untimed(""), Line::untimed("  spaced  ")])
    );
    assert_eq!(import("", Format::Txt).unwrap(), Lyrics::default());
    assert_eq!(import("a", Format::Txt).unwrap().lines.len(), 1);
}

#[test]
fn json_reads_the_model_and_reports_json_lines() {
    let text = "{\n  \"language\": \"km\",\n  \"lines\": [\n    {\"start_ms\": 1000, \"text\": \"a\"},\n    {\"text\": \"b\"}\n  ]\n}\n";
    let lyrics = import(text, Format::Json).unwrap();
    assert_eq!(lyrics.language.as_deref(), Some("km"));
    assert_eq!(lyrics.lines, vec![Line::at(1000, "a"), Line::untimed("b")]);

    let json = Format::Json;
    assert_err(
        "{\n  \"lines\": [\n    {\"text\": 1}\n  ]\n}",
        json,
        3,
        "invalid type: integer `1`, expected a string",
    );
    assert_err("{\n  \"lines\": [],\n  \"extra\": 1\n}", json, 3, "unknown field `extra`");
    assert_err("{\n  \"lines\": [\n", json, 3, "EOF while parsing a list");
    assert_err(
        "{\n  \"lines\": [\n    {\"text\": \"a\"},\n    {\"start_ms\": 5, \"end_ms\": 4, \"text\": \"b\"}\n  ]\n}",
        json,
        4,
        "lines[1] ends (00:00:00.004) before it starts (00:00:00.005)",
    );
    assert_err(
        "{\"lines\": [\n{\"start_ms\": 0, \"text\": \"b\",\n \"words\": [{\"start_ms\": 2, \"end_ms\": 1, \"text\": \"b\"}]}\n]}",
        json,
        3,
        "lines[0].words[0] ends (00:00:00.001) before it starts (00:00:00.002)",
    );
    assert_err("{\n  \"language\": \"km\\n\"\n}", json, 2, "language \"km\\n\" is not a language tag");
}

// ---------------------------------------------------------------- limits, bytes, formats

#[test]
fn size_limits() {
    let long = format!("[00:01.00]a\n[00:02.00]{}\n", "ខ".repeat(10_000));
    assert_err(&long, Format::Lrc, 2, "line is 10010 characters long, over the 10000 limit");
    assert_err(&"x".repeat(10_001), Format::Txt, 1, "line is 10001 characters long");
    assert_eq!(import(&"ខ".repeat(10_000), Format::Txt).unwrap().lines[0].text.chars().count(), 10_000);

    let line = format!("{}\n", "a".repeat(99)); // 100 bytes a line
    let big = line.repeat(MAX_INPUT_BYTES / 100 + 1);
    assert_err(&big, Format::Txt, MAX_INPUT_BYTES / 100 + 1, "input is 1048600 bytes, over the 1048576 byte");
    let e = import_bytes(big.as_bytes(), Format::Json).unwrap_err();
    assert_eq!(e.line, MAX_INPUT_BYTES / 100 + 1);
    assert!(import(&line.repeat(MAX_INPUT_BYTES / 100), Format::Txt).is_ok());
}

#[test]
fn repeated_tags_cannot_blow_up() {
    let tags = "[00:00.00]".repeat(500);
    let line = format!("{tags}{}\n", "x".repeat(4_900));
    let text = line.repeat(100);
    let e = err(&text, Format::Lrc);
    assert!(e.message.starts_with("repeated time tags expand the lyrics beyond"), "{e}");
}

#[test]
fn import_bytes_checks_utf8_strips_bom_and_normalises_newlines() {
    let mut bytes = b"\xEF\xBB\xBF[la:km]\r\n[00:01.00]".to_vec();
    bytes.extend_from_slice(I_LOVE_YOU.as_bytes());
    bytes.extend_from_slice(b"\r\n");
    let lyrics = import_bytes(&bytes, Format::Lrc).unwrap();
    assert_eq!(lyrics.language.as_deref(), Some("km"));
    assert_eq!(lyrics.lines[0].text.as_bytes(), I_LOVE_YOU.as_bytes());

    let e = import_bytes(b"\xEF\xBB\xBFa\r\nb\r\nc\xFFd\n", Format::Txt).unwrap_err();
    assert_eq!(e, ParseError { line: 3, message: "invalid UTF-8 at byte 10".into() });
    // A Khmer character cut in half.
    let mut cut = b"[00:01.00]a\n[00:02.00]".to_vec();
    cut.extend_from_slice(&I_LOVE_YOU.as_bytes()[..4]);
    let e = import_bytes(&cut, Format::Lrc).unwrap_err();
    assert_eq!(e.to_string(), format!("line 2: invalid UTF-8 at byte {}", 22 + 3));
    assert_eq!(import_bytes(b"a\rb\r\nc", Format::Txt).unwrap().lines.len(), 3);
}

#[test]
fn export_only_formats_cannot_be_imported() {
    for format in [Format::Vtt, Format::Ttml] {
        assert_err(
            "WEBVTT\n",
            format,
            1,
            &format!("importing {format} is not supported; import reads lrc, elrc, srt, txt or json"),
        );
    }
}
