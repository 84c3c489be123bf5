//! Every exporter's exact output on a small fixture, escaping, and the export errors.

use molt_lyrics::{export, ExportError, Format, Line, Lyrics, Word, MAX_TIME_MS};

const I_LOVE_YOU: &str = "ខ្ញុំស្រលាញ់អូន";
const KHNHOM: &str = "ខ្ញុំ";
const SRALANH: &str = "ស្រលាញ់";
const OUN: &str = "អូន";

fn word(start_ms: u64, end_ms: u64, text: &str) -> Word {
    Word { start_ms, end_ms, text: text.into() }
}

/// Khmer words without spaces, Latin words with a gap between two of them, an empty line, hours > 0
/// and text that needs escaping; the last line has no end.
fn fixture() -> Lyrics {
    Lyrics {
        language: Some("km".into()),
        lines: vec![
            Line {
                start_ms: Some(12_000),
                end_ms: Some(14_000),
                text: I_LOVE_YOU.into(),
                words: vec![
                    word(12_000, 12_500, KHNHOM),
                    word(12_500, 13_200, SRALANH),
                    word(13_200, 14_000, OUN),
                ],
            },
            Line {
                start_ms: Some(15_500),
                end_ms: None,
                text: "When the truth".into(),
                words: vec![
                    word(15_500, 15_900, "When"),
                    word(16_000, 16_400, "the"),
                    word(16_400, 17_000, "truth"),
                ],
            },
            Line::at(18_250, ""),
            Line::at(3_723_456, "Tom & Jerry <3"),
        ],
    }
}

#[test]
fn lrc_exact() {
    let expected = format!(
        "[la:km]\n[00:12.00]{I_LOVE_YOU}\n[00:15.50]When the truth\n[00:18.25]\n[62:03.45]Tom & Jerry <3\n"
    );
    assert_eq!(export(&fixture(), Format::Lrc).unwrap(), expected);
}

#[test]
fn elrc_exact() {
    let expected = format!(
        "[la:km]\n\
         [00:12.00]<00:12.00>{KHNHOM}<00:12.50>{SRALANH}<00:13.20>{OUN}<00:14.00>\n\
         [00:15.50]<00:15.50>When<00:15.90> <00:16.00>the <00:16.40>truth<00:17.00>\n\
         [00:18.25]\n\
         [62:03.45]Tom & Jerry <3\n"
    );
    assert_eq!(export(&fixture(), Format::Elrc).unwrap(), expected);
}

#[test]
fn srt_exact() {
    let expected = format!(
        "1\n00:00:12,000 --> 00:00:14,000\n{I_LOVE_YOU}\n\
         \n2\n00:00:15,500 --> 00:00:18,250\nWhen the truth\n\
         \n3\n00:00:18,250 --> 01:02:03,456\n\n\
         \n4\n01:02:03,456 --> 01:02:07,456\nTom & Jerry <3\n"
    );
    assert_eq!(export(&fixture(), Format::Srt).unwrap(), expected);
}

#[test]
fn vtt_exact_and_escaped() {
    let expected = format!(
        "WEBVTT\n\
         \n00:00:12.000 --> 00:00:14.000\n{I_LOVE_YOU}\n\
         \n00:00:15.500 --> 00:00:18.250\nWhen the truth\n\
         \n00:00:18.250 --> 01:02:03.456\n\n\
         \n01:02:03.456 --> 01:02:07.456\nTom &amp; Jerry &lt;3\n"
    );
    assert_eq!(export(&fixture(), Format::Vtt).unwrap(), expected);
}

#[test]
fn ttml_exact_and_escaped() {
    let expected = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <tt xmlns=\"http://www.w3.org/ns/ttml\" xml:lang=\"km\">\n  <body>\n    <div>\n\
         \x20     <p begin=\"00:00:12.000\" end=\"00:00:14.000\">\
         <span begin=\"00:00:12.000\" end=\"00:00:12.500\">{KHNHOM}</span>\
         <span begin=\"00:00:12.500\" end=\"00:00:13.200\">{SRALANH}</span>\
         <span begin=\"00:00:13.200\" end=\"00:00:14.000\">{OUN}</span></p>\n\
         \x20     <p begin=\"00:00:15.500\" end=\"00:00:18.250\">\
         <span begin=\"00:00:15.500\" end=\"00:00:15.900\">When</span> \
         <span begin=\"00:00:16.000\" end=\"00:00:16.400\">the</span> \
         <span begin=\"00:00:16.400\" end=\"00:00:17.000\">truth</span></p>\n\
         \x20     <p begin=\"00:00:18.250\" end=\"01:02:03.456\"></p>\n\
         \x20     <p begin=\"01:02:03.456\" end=\"01:02:07.456\">Tom &amp; Jerry &lt;3</p>\n\
         \x20   </div>\n  </body>\n</tt>\n"
    );
    assert_eq!(export(&fixture(), Format::Ttml).unwrap(), expected);
}

#[test]
fn txt_exact() {
    let expected = format!("{I_LOVE_YOU}\nWhen the truth\n\nTom & Jerry <3\n");
    assert_eq!(export(&fixture(), Format::Txt).unwrap(), expected);
    assert_eq!(export(&Lyrics::default(), Format::Txt).unwrap(), "");
}

#[test]
fn json_exact() {
    let lyrics = Lyrics {
        language: Some("km".into()),
        lines: vec![
            Line {
                start_ms: Some(1000),
                end_ms: Some(2000),
                text: OUN.into(),
                words: vec![word(1000, 1500, OUN)],
            },
            Line::untimed("x\u{200B}y"),
        ],
    };
    let expected = format!(
        r#"{{
  "language": "km",
  "lines": [
    {{
      "start_ms": 1000,
      "end_ms": 2000,
      "text": "{OUN}",
      "words": [
        {{
          "start_ms": 1000,
          "end_ms": 1500,
          "text": "{OUN}"
        }}
      ]
    }},
    {{
      "text": "x{zwsp}y"
    }}
  ]
}}
"#,
        zwsp = '\u{200B}'
    );
    assert_eq!(export(&lyrics, Format::Json).unwrap(), expected);
}

#[test]
fn ttml_cannot_be_injected() {
    let lyrics =
        Lyrics { language: None, lines: vec![Line::at(0, "</p><script>alert(\"x\" & 'y')</script>")] };
    let out = export(&lyrics, Format::Ttml).unwrap();
    assert!(out.contains("<tt xmlns=\"http://www.w3.org/ns/ttml\" xml:lang=\"\">"));
    assert!(out.contains(
        "<p begin=\"00:00:00.000\" end=\"00:00:04.000\">\
         &lt;/p&gt;&lt;script&gt;alert(&quot;x&quot; &amp; &apos;y&apos;)&lt;/script&gt;</p>\n"
    ));
    assert!(!out.contains("<script"));
    assert_eq!(out.matches("<p ").count(), 1);
    assert_eq!(out.matches("</p>").count(), 1);
}

#[test]
fn ttml_escapes_words_and_text_between_them_and_breaks_lines() {
    let lyrics = Lyrics::new(vec![Line {
        start_ms: Some(0),
        end_ms: Some(3000),
        text: "<b>, & \"c\"\nd".into(),
        words: vec![word(0, 1000, "<b>"), word(1000, 2000, "\"c\""), word(2000, 3000, "d")],
    }]);
    let out = export(&lyrics, Format::Ttml).unwrap();
    assert!(out.contains(
        "<p begin=\"00:00:00.000\" end=\"00:00:03.000\">\
         <span begin=\"00:00:00.000\" end=\"00:00:01.000\">&lt;b&gt;</span>, &amp; \
         <span begin=\"00:00:01.000\" end=\"00:00:02.000\">&quot;c&quot;</span><br/>\
         <span begin=\"00:00:02.000\" end=\"00:00:03.000\">d</span></p>"
    ));
}

#[test]
fn ttml_rejects_characters_xml_cannot_carry() {
    for bad in ["a\u{0}b", "a\u{1B}b", "a\rb", "\u{FFFF}"] {
        let err = export(&Lyrics::new(vec![Line::at(0, bad)]), Format::Ttml).unwrap_err();
        assert!(matches!(err, ExportError::Unrepresentable { line: 1, format: Format::Ttml, .. }), "{err}");
    }
}

#[test]
fn vtt_escapes_markup_and_arrows() {
    let lyrics = Lyrics::new(vec![Line::at(0, "<i>a</i> --> b & c"), Line::at(1000, "<00:00:01.000>x")]);
    assert_eq!(
        export(&lyrics, Format::Vtt).unwrap(),
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n&lt;i&gt;a&lt;/i&gt; --&gt; b &amp; c\n\
         \n00:00:01.000 --> 00:00:05.000\n&lt;00:00:01.000&gt;x\n"
    );
}

#[test]
fn multi_line_cues() {
    let lyrics =
        Lyrics::new(vec![Line { start_ms: Some(0), end_ms: Some(500), text: "a\nb".into(), words: vec![] }]);
    assert_eq!(export(&lyrics, Format::Srt).unwrap(), "1\n00:00:00,000 --> 00:00:00,500\na\nb\n");
    assert_eq!(export(&lyrics, Format::Vtt).unwrap(), "WEBVTT\n\n00:00:00.000 --> 00:00:00.500\na\nb\n");
    let err = export(&lyrics, Format::Lrc).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 1: lrc cannot carry this: a line break in the text (an LRC line holds one line of text)"
    );
}

#[test]
fn untimed_lyrics_are_never_given_invented_times() {
    let lyrics = Lyrics::new(vec![Line::untimed(I_LOVE_YOU), Line::untimed("")]);
    for format in [Format::Lrc, Format::Elrc, Format::Srt, Format::Vtt, Format::Ttml] {
        let err = export(&lyrics, format).unwrap_err();
        assert_eq!(err, ExportError::Untimed { format });
        assert_eq!(err.to_string(), "these lyrics have no timings; export as txt or json");
    }
    assert_eq!(export(&lyrics, Format::Txt).unwrap(), format!("{I_LOVE_YOU}\n\n"));
    assert!(export(&lyrics, Format::Json).is_ok());
}

#[test]
fn partly_timed_lyrics_name_the_untimed_line() {
    let lyrics = Lyrics::new(vec![Line::at(0, "a"), Line::at(1000, "b"), Line::untimed("c")]);
    let err = export(&lyrics, Format::Srt).unwrap_err();
    assert_eq!(err, ExportError::MissingStart { line: 3, format: Format::Srt });
    assert_eq!(
        err.to_string(),
        "line 3 has no start time while other lines do; srt needs every line timed (export as txt or json instead)"
    );
}

#[test]
fn empty_lyrics_export_empty_documents() {
    let empty = Lyrics::default();
    assert_eq!(export(&empty, Format::Lrc).unwrap(), "");
    assert_eq!(export(&empty, Format::Srt).unwrap(), "");
    assert_eq!(export(&empty, Format::Vtt).unwrap(), "WEBVTT\n");
    assert_eq!(export(&empty, Format::Json).unwrap(), "{\n  \"lines\": []\n}\n");
    let lang_only = Lyrics { language: Some("km-KH".into()), lines: vec![] };
    assert_eq!(export(&lang_only, Format::Lrc).unwrap(), "[la:km-KH]\n");
}

#[test]
fn cue_ends() {
    // Explicit end; next line's start; last line: start + 4 s, or its last word's end if later, capped.
    let lyrics = Lyrics::new(vec![
        Line { start_ms: Some(0), end_ms: Some(700), text: "a".into(), words: vec![] },
        Line::at(1000, "b"),
        Line::at(1000, "c"),
        Line { start_ms: Some(2000), end_ms: None, text: "d".into(), words: vec![word(2000, 9000, "d")] },
    ]);
    let srt = export(&lyrics, Format::Srt).unwrap();
    assert!(srt.contains("1\n00:00:00,000 --> 00:00:00,700\na\n"));
    assert!(srt.contains("2\n00:00:01,000 --> 00:00:01,000\nb\n"));
    assert!(srt.contains("3\n00:00:01,000 --> 00:00:02,000\nc\n"));
    assert!(srt.contains("4\n00:00:02,000 --> 00:00:09,000\nd\n"));
    let late = Lyrics::new(vec![Line::at(MAX_TIME_MS - 1000, "end")]);
    assert_eq!(
        export(&late, Format::Srt).unwrap(),
        "1\n99:59:58,999 --> 99:59:59,999\nend\n",
        "the derived end is capped at the limit"
    );
}

#[test]
fn subtitle_formats_need_lines_in_time_order() {
    let lyrics = Lyrics::new(vec![Line::at(5000, "b"), Line::at(1000, "a")]);
    for format in [Format::Srt, Format::Vtt, Format::Ttml] {
        let err = export(&lyrics, format).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "line 2: {format} cannot carry this: it starts (00:00:01.000) before line 1 (00:00:05.000); \
                 cues must be in time order"
            )
        );
    }
    // LRC allows any order; it is written as given.
    assert_eq!(export(&lyrics, Format::Lrc).unwrap(), "[00:05.00]b\n[00:01.00]a\n");
}

#[test]
fn invalid_models_are_refused_with_their_place() {
    let mut lyrics = Lyrics::new(vec![Line::at(0, "a"), Line { end_ms: Some(500), ..Line::at(1000, "b") }]);
    let err = export(&lyrics, Format::Srt).unwrap_err();
    assert_eq!(err.to_string(), "invalid lyrics: line 2 ends (00:00:00.500) before it starts (00:00:01.000)");

    lyrics.lines[1] =
        Line { words: vec![word(1000, 1200, "b"), word(1100, 1300, "c")], ..Line::at(1000, "b c") };
    let err = export(&lyrics, Format::Elrc).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid lyrics: line 2, word 2 starts (00:00:01.100) before the previous word ends (00:00:01.200)"
    );

    lyrics.lines[1] = Line::at(MAX_TIME_MS + 1, "late");
    let err = export(&lyrics, Format::Lrc).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("invalid lyrics: line 2 start time {} ms is beyond the 99:59:59.999 limit", MAX_TIME_MS + 1)
    );

    let bad_lang = Lyrics { language: Some("km]\n[00:00.00]x".into()), lines: vec![Line::at(0, "a")] };
    let err = export(&bad_lang, Format::Lrc).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("invalid lyrics: language \"km]\\n[00:00.00]x\" is not a language tag"));
    assert!(export(&bad_lang, Format::Json).is_err());
}

#[test]
fn lrc_refuses_text_a_reader_would_take_for_tags() {
    let cases = [
        ("[01:00.00]fake", "text starting with \"[01:00.00]fake\" would be read as another time tag"),
        ("  [1:00]fake", "text starting with \"[1:00]fake\" would be read as another time tag"),
        ("meet at <12:30>", "text containing \"<12:30>\" would be read as a word time tag"),
        ("a\rb", "a carriage return in the text (an LRC line holds one line of text)"),
    ];
    for (text, message) in cases {
        for format in [Format::Lrc, Format::Elrc] {
            let err = export(&Lyrics::new(vec![Line::at(0, "ok"), Line::at(1, text)]), format).unwrap_err();
            assert_eq!(err.to_string(), format!("line 2: {format} cannot carry this: {message}"));
        }
    }
    // Brackets and angle brackets that are not tag-shaped are fine.
    let fine = Lyrics::new(vec![Line::at(0, "[Chorus] <3 [1] <b>")]);
    assert_eq!(export(&fine, Format::Lrc).unwrap(), "[00:00.00][Chorus] <3 [1] <b>\n");
}

#[test]
fn elrc_needs_words_that_cover_the_text() {
    let line = |text: &str, words: Vec<Word>| Lyrics::new(vec![Line { words, ..Line::at(0, text) }]);
    let err = export(&line("Hello, world", vec![word(0, 1, "Hello"), word(1, 2, "world")]), Format::Elrc);
    assert_eq!(
        err.unwrap_err().to_string(),
        "line 1: elrc cannot carry this: text \", \" before word 2 belongs to no word; \
         enhanced LRC can only time whole words"
    );
    let err = export(&line("a b", vec![word(0, 1, "a"), word(1, 2, "a")]), Format::Elrc);
    assert_eq!(
        err.unwrap_err().to_string(),
        "line 1: elrc cannot carry this: word 2 (\"a\") does not occur in the line's text after the word before it"
    );
    let err = export(&line("a b!", vec![word(0, 1, "a"), word(1, 2, "b")]), Format::Elrc);
    assert!(err.unwrap_err().to_string().contains("text \"!\" after the last word belongs to no word"));
    let err = export(&line("a", vec![word(0, 1, " ")]), Format::Elrc);
    assert!(err.unwrap_err().to_string().contains("word 1 is empty"));
    // Words with surrounding blanks (as speech recognisers emit them) are matched trimmed.
    let ok = export(&line("a b", vec![word(0, 1000, " a"), word(1000, 2000, " b")]), Format::Elrc).unwrap();
    assert_eq!(ok, "[00:00.00]<00:00.00>a <00:01.00>b<00:02.00>\n");
    // Plain LRC just drops the words.
    let plain = export(&line("Hello, world", vec![word(0, 1, "Hello")]), Format::Lrc).unwrap();
    assert_eq!(plain, "[00:00.00]Hello, world\n");
}

#[test]
fn lrc_truncates_to_centiseconds_and_uses_long_minutes() {
    let lyrics = Lyrics::new(vec![
        Line::at(9, "a"),
        Line::at(59_999, "b"),
        Line::at(6_000_000, "c"),
        Line::at(MAX_TIME_MS, "d"),
    ]);
    assert_eq!(
        export(&lyrics, Format::Lrc).unwrap(),
        "[00:00.00]a\n[00:59.99]b\n[100:00.00]c\n[5999:59.99]d\n"
    );
}

#[test]
fn subtitle_text_with_blank_lines_is_refused() {
    let lyrics = Lyrics::new(vec![Line::at(0, "a\n\nb"), Line::at(1, " ")]);
    for format in [Format::Srt, Format::Vtt] {
        let err = export(&lyrics, format).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("line 1: {format} cannot carry this: a blank line inside the text would end the cue")
        );
    }
    let arrow = Lyrics::new(vec![Line::at(0, "a --> b")]);
    assert_eq!(
        export(&arrow, Format::Srt).unwrap_err().to_string(),
        "line 1: srt cannot carry this: cue text cannot contain \"-->\""
    );
}

#[test]
fn format_names() {
    for format in Format::ALL {
        assert_eq!(format.name().parse::<Format>(), Ok(format));
        assert_eq!(format.to_string(), format.name());
    }
    assert_eq!("SRT".parse::<Format>(), Ok(Format::Srt));
    assert_eq!(".lrc".parse::<Format>(), Ok(Format::Lrc));
    assert_eq!("WebVTT".parse::<Format>(), Ok(Format::Vtt));
    assert_eq!("text".parse::<Format>(), Ok(Format::Txt));
    let err = "ass".parse::<Format>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown lyrics format \"ass\"; expected one of: lrc, elrc, srt, vtt, ttml, txt, json"
    );
    assert_eq!(Format::Elrc.extension(), "lrc");
    assert_eq!(Format::Ttml.media_type(), "application/ttml+xml; charset=utf-8");
    assert!(Format::Srt.is_timed() && !Format::Txt.is_timed());
    assert!(Format::Lrc.is_importable() && !Format::Vtt.is_importable());
    assert_eq!(serde_json::to_string(&Format::Elrc).unwrap(), "\"elrc\"");
}
