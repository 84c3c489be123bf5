//! The local critic on crafted transcriptions of a 3-minute Khmer song: what
//! it finds, on which lines, and how the scores order.

use molt_critic::{critique, LocalCritic};
use molt_pipeline::provider::{erase, Provider};
use molt_pipeline::stages::{Critique, CritiqueInput, CritiqueOutput, Segment};

/// Lyric-like Khmer lines (composed for the tests; canonical order, checked below).
/// Line 3 is the chorus: it comes back at 9, and is sung twice at 12–13.
const SONG: [&str; 13] = [
    "ចម្ប៉ាបាត់ដំបង ក្លិនក្រអូបឈ្ងុយ",
    "ខ្ញុំនឹករលឹកដល់ស្រុកកំណើត",
    "ខ្ញុំស្រលាញ់អូនណាស់",
    "ពេលល្ងាចខ្យល់បក់រំភើយ",
    "ព្រះចន្ទរះភ្លឺនៅលើមេឃ",
    "ផ្កាម្លិះក្រអូបនៅក្នុងសួន",
    "បងនៅតែចាំអូនជានិច្ច",
    "ទឹកភ្នែកហូរពេលយើងបែកគ្នា",
    "ខ្ញុំស្រលាញ់អូនណាស់",
    "ស្នេហាយើងពីរមិនប្រែប្រួល",
    "ស្រីស្រស់ស្អាតក្រមុំខ្មែរ",
    "ខ្ញុំស្រលាញ់អូនណាស់",
    "ខ្ញុំស្រលាញ់អូនណាស់",
];
const DURATION: f64 = 180.0;
const COENG: char = '\u{17D2}';

/// A segment as local Whisper gives it for a clear line.
fn segment(start: f64, end: f64, text: &str) -> Segment {
    Segment {
        start,
        end,
        text: text.into(),
        avg_logprob: Some(-0.25),
        no_speech_prob: Some(0.05),
        compression_ratio: Some(1.3),
        ..Segment::default()
    }
}

/// What the runner hands the critic: one line per segment, a line every 12 s.
fn transcription(lines: &[&str]) -> CritiqueInput {
    let segments = lines
        .iter()
        .enumerate()
        .map(|(i, l)| segment(12.0 + 12.0 * i as f64, 21.0 + 12.0 * i as f64, l))
        .collect();
    input(segments)
}

fn input(segments: Vec<Segment>) -> CritiqueInput {
    CritiqueInput {
        title: "ចម្ប៉ាបាត់ដំបង".into(),
        artist: "Sinn Sisamouth".into(),
        lyrics: segments.iter().map(|s: &Segment| s.text.trim()).collect::<Vec<_>>().join("\n"),
        confidence: 0.8,
        segments,
        duration_secs: DURATION,
        language: Some("km".into()),
        ..CritiqueInput::default()
    }
}

/// (line, kind) of every finding.
fn found(output: &CritiqueOutput) -> Vec<(Option<u32>, &str)> {
    output.findings.iter().map(|f| (f.line, f.kind.as_str())).collect()
}

/// A vowel typed before the subscript it belongs after (`ខុ្ញំ` for `ខ្ញុំ`): looks
/// the same on some fonts, wrong in the text.
fn misorder(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == COENG && i + 2 < chars.len() && ('\u{17B6}'..='\u{17C5}').contains(&chars[i + 2]) {
            out.extend([chars[i + 2], chars[i], chars[i + 1]]);
            i += 3;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn good() -> CritiqueInput {
    transcription(&SONG)
}

/// A stray Latin letter in line 5, and Whisper unsure of line 7.
fn slightly_off() -> CritiqueInput {
    let mut input = transcription(&SONG);
    input.segments[4].text = format!("{}x", SONG[4]);
    input.segments[6].avg_logprob = Some(-1.2);
    input.lyrics = input.segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n");
    input
}

/// Four good lines, then Whisper stuck on the chorus: 8 times in 10 s.
fn looping() -> CritiqueInput {
    let mut segments: Vec<Segment> = SONG[..4]
        .iter()
        .enumerate()
        .map(|(i, l)| segment(12.0 * i as f64, 12.0 * i as f64 + 9.0, l))
        .collect();
    for k in 0..8 {
        let start = 48.0 + 1.25 * k as f64;
        segments.push(Segment { compression_ratio: Some(3.6), ..segment(start, start + 1.2, SONG[2]) });
    }
    segments.extend(
        SONG[4..8]
            .iter()
            .enumerate()
            .map(|(i, l)| segment(60.0 + 12.0 * i as f64, 69.0 + 12.0 * i as f64, l)),
    );
    input(segments)
}

/// English in lines 2 and 4 and Thai in line 6 of a Khmer song.
fn wrong_script() -> CritiqueInput {
    let mut lines = SONG.to_vec();
    lines[1] = "I miss my home town so much";
    lines[3] = "In the evening the wind blows";
    lines[5] = "ฉันรักเธอมากที่สุด";
    transcription(&lines)
}

/// Lines 10 and 11 typed with their vowels before their subscripts.
fn repaired() -> (CritiqueInput, Vec<String>) {
    let garbled = [misorder(SONG[9]), misorder(SONG[10])];
    let mut lines: Vec<&str> = SONG.to_vec();
    lines[9] = &garbled[0];
    lines[10] = &garbled[1];
    (transcription(&lines), garbled.to_vec())
}

fn empty() -> CritiqueInput {
    input(Vec::new())
}

#[test]
fn the_fixtures_are_what_they_claim() {
    for line in SONG {
        assert_eq!(molt_khmer::normalize(line), line, "not canonical: {line}");
        assert_eq!(molt_khmer::detect_script(line), molt_khmer::Script::Khmer);
    }
    let (_, garbled) = repaired();
    for (g, original) in garbled.iter().zip([SONG[9], SONG[10]]) {
        assert_ne!(g, original);
        assert_eq!(molt_khmer::normalize(g), original, "the normaliser repairs {g}");
    }
}

#[test]
fn good_khmer_lyrics_have_no_finding_even_with_a_chorus() {
    let output = critique(&good());
    assert_eq!(output.findings, vec![], "{:?}", output.issues);
    assert!(output.issues.is_empty());
    assert_eq!(output.score, 1.0);
}

#[test]
fn a_slightly_off_transcription_loses_a_little() {
    let output = critique(&slightly_off());
    assert_eq!(found(&output), vec![(Some(5), "stray_characters"), (Some(7), "low_confidence")]);
    assert!(
        output.issues[0].starts_with("line 5: 1 character outside Khmer script: 'x'"),
        "{:?}",
        output.issues
    );
    assert!(output.issues[1].contains("-1.20"), "{:?}", output.issues);
    assert!(output.score > 0.85 && output.score < 1.0, "{}", output.score);
}

#[test]
fn a_decoder_loop_is_one_finding_over_its_lines() {
    let output = critique(&looping());
    let loops: Vec<_> = output.findings.iter().filter(|f| f.kind == "loop").collect();
    assert_eq!(loops.len(), 1, "{:?}", output.issues);
    assert_eq!(loops[0].line, Some(5));
    assert_eq!(loops[0].severity, 1.0, "8 times, fast");
    assert!(loops[0].message.contains("8 times in a row (lines 5–12) within 10 s"), "{}", loops[0].message);
    // Whisper's compression ratio marks each looping segment too.
    let repetitive: Vec<Option<u32>> =
        output.findings.iter().filter(|f| f.kind == "repetitive_segment").map(|f| f.line).collect();
    assert_eq!(repetitive, (5..=12).map(Some).collect::<Vec<_>>());
    assert!(output.score < 0.5, "{}", output.score);
}

#[test]
fn lines_in_another_script_are_found_by_line() {
    let output = critique(&wrong_script());
    assert_eq!(
        found(&output),
        vec![(Some(2), "wrong_script"), (Some(4), "wrong_script"), (Some(6), "wrong_script")]
    );
    assert!(
        output.issues[0].contains("line 2: the line is in Latin script; Khmer was expected"),
        "{:?}",
        output.issues
    );
    assert!(output.issues[2].contains("Thai"), "{:?}", output.issues);
    // Three of 13 lines wrong: exp(−2·3/13).
    assert!((output.score - (-6.0f64 / 13.0).exp()).abs() < 1e-12, "{}", output.score);
}

#[test]
fn a_transcript_entirely_in_the_wrong_language_scores_low() {
    let thai = ["ฉันรักเธอมากที่สุด", "คิดถึงบ้านเกิด", "ลมพัดยามเย็น", "ดวงจันทร์บนฟ้า"];
    let mut input = transcription(&thai);
    input.duration_secs = 50.0;
    let output = critique(&input);
    assert_eq!(output.findings.len(), 4, "{:?}", output.issues);
    assert!(output.findings.iter().all(|f| f.kind == "wrong_script" && f.severity == 1.0));
    assert!(output.score < 0.2, "{}", output.score);
}

#[test]
fn mixed_lines_weigh_by_their_foreign_share() {
    let mut lines = SONG.to_vec();
    lines[0] = "ខ្ញុំស្រលាញ់អូន I love you baby";
    let output = critique(&transcription(&lines));
    let finding = &output.findings[0];
    assert_eq!((finding.line, finding.kind.as_str()), (Some(1), "wrong_script"));
    assert!(finding.severity > 0.2 && finding.severity < 0.8, "{}", finding.severity);
    assert!(finding.message.contains("mixes scripts"), "{}", finding.message);
}

#[test]
fn heavily_repaired_khmer_is_found_but_coeng_da_is_not() {
    let (input, _) = repaired();
    let output = critique(&input);
    assert_eq!(found(&output), vec![(Some(10), "heavy_repair"), (Some(11), "heavy_repair")]);
    assert!(output.findings.iter().all(|f| f.severity > 0.5), "{:?}", output.findings);
    assert!(output.issues[0].contains("the Khmer normaliser changed 6 of"), "{:?}", output.issues);
    // ស្ដាប់ (COENG DA) renders as ស្តាប់ (COENG TA): a spelling, not damage.
    let mut lines = SONG.to_vec();
    lines[0] = "ខ្ញុំចូលចិត្តស្ដាប់ចម្រៀងខ្មែរ";
    assert_eq!(critique(&transcription(&lines)).findings, vec![]);
}

#[test]
fn an_empty_transcript_of_a_three_minute_song_scores_zero() {
    let output = critique(&empty());
    assert_eq!(found(&output), vec![(None, "empty_output")]);
    assert_eq!(output.issues, vec!["no words were transcribed for 3:00 of audio"]);
    assert_eq!(output.score, 0.0);
    // Blank segments and lines of dots are no words either.
    let dots = input(vec![segment(0.0, 30.0, "..."), segment(30.0, 60.0, "  ")]);
    assert_eq!(found(&critique(&dots)), vec![(None, "empty_output")]);
}

#[test]
fn one_line_for_three_minutes_is_sparse() {
    let output = critique(&transcription(&SONG[..1]));
    assert_eq!(found(&output), vec![(None, "sparse_output")]);
    assert!(
        output.issues[0].starts_with("only 4 words for 3:00 of audio (1.3 a minute"),
        "{:?}",
        output.issues
    );
    assert!(output.score > 0.0 && output.score < 0.2, "{}", output.score);
    // A short clip is not judged by its rate.
    let mut clip = transcription(&SONG[..1]);
    clip.duration_secs = 20.0;
    assert_eq!(critique(&clip).findings, vec![]);
}

#[test]
fn scores_order_from_good_to_empty() {
    let score = |input: CritiqueInput| critique(&input).score;
    let (good, off, looping, wrong, repaired, sparse, empty) = (
        score(good()),
        score(slightly_off()),
        score(looping()),
        score(wrong_script()),
        score(repaired().0),
        score(transcription(&SONG[..1])),
        score(empty()),
    );
    assert!(good > off, "{good} > {off}");
    assert!(off > repaired && repaired > wrong, "{off} > {repaired} > {wrong}");
    assert!(off > looping && off > wrong, "{off} > {looping}, {wrong}");
    assert!(looping > sparse && wrong > sparse && sparse > empty, "{looping} {wrong} > {sparse} > {empty}");
    // The gate's default 0.70: the good and the slightly off pass, the broken ones do not.
    assert!(good >= 0.70 && off >= 0.70 && looping < 0.70 && wrong < 0.70 && empty < 0.70);
}

#[test]
fn more_wrong_lines_score_lower() {
    let mut previous = critique(&good()).score;
    let mut lines = SONG.to_vec();
    for i in 0..SONG.len() {
        lines[i] = "and then the decoder switched to English";
        let score = critique(&transcription(&lines)).score;
        assert!(score < previous, "{} wrong lines: {score} !< {previous}", i + 1);
        previous = score;
    }
}

#[test]
fn a_chorus_is_not_a_loop_but_a_line_repeated_on_and_on_is() {
    let chorus = SONG[2];
    let at_tempo = |times: usize| {
        let mut lines: Vec<&str> = SONG[..6].to_vec();
        lines.extend(std::iter::repeat_n(chorus, times));
        lines.extend(&SONG[6..9]);
        critique(&transcription(&lines))
    };
    // Twice or three times at the song's tempo: singing.
    assert!(at_tempo(2).findings.is_empty());
    assert!(at_tempo(3).findings.is_empty());
    // Four times back to back: a loop even at tempo, but milder than a fast one.
    let four = at_tempo(4);
    assert_eq!(found(&four), vec![(Some(7), "loop")]);
    assert_eq!(four.findings[0].severity, 0.5);
    // Three times within 4 s: a loop.
    let mut segments: Vec<Segment> = SONG[..2]
        .iter()
        .enumerate()
        .map(|(i, l)| segment(12.0 * i as f64, 12.0 * i as f64 + 9.0, l))
        .collect();
    segments.extend((0..3).map(|k| segment(30.0 + 1.3 * k as f64, 31.2 + 1.3 * k as f64, chorus)));
    segments.extend(
        SONG[3..8]
            .iter()
            .enumerate()
            .map(|(i, l)| segment(40.0 + 12.0 * i as f64, 49.0 + 12.0 * i as f64, l)),
    );
    let fast = critique(&input(segments));
    assert_eq!(found(&fast), vec![(Some(3), "loop")]);
    assert_eq!(fast.findings[0].severity, 0.5);
    assert!(fast.findings[0].message.contains("within 4 s"), "{}", fast.findings[0].message);
    assert!(at_tempo(4).score > critique(&looping()).score);
}

#[test]
fn a_pair_of_lines_going_round_is_a_loop() {
    let mut lines: Vec<&str> = SONG[..3].to_vec();
    for _ in 0..4 {
        lines.extend([SONG[4], SONG[5]]);
    }
    let output = critique(&transcription(&lines));
    assert_eq!(found(&output), vec![(Some(4), "loop")]);
    assert!(output.findings[0].message.starts_with("the same two lines 4 times in a row (lines 4–11)"));
}

#[test]
fn whisper_hallucinations_over_silence_are_found() {
    let mut input = good();
    input.segments[0].no_speech_prob = Some(0.92);
    input.segments[0].avg_logprob = Some(-1.4);
    // A high no-speech probability alone is an instrumental intro, not a hallucination.
    input.segments[1].no_speech_prob = Some(0.8);
    let output = critique(&input);
    assert_eq!(found(&output), vec![(Some(1), "no_speech")]);
    assert!(output.issues[0].contains("no-speech probability 0.92"), "{:?}", output.issues);
}

#[test]
fn one_phrase_said_over_and_over_inside_a_line_is_found_without_whisper_signals() {
    let phrase = "ខ្ញុំស្រលាញ់អូន ".repeat(6);
    let mut lines = SONG.to_vec();
    lines[3] = phrase.trim();
    let mut input = transcription(&lines);
    input.segments.iter_mut().for_each(|s| s.compression_ratio = None);
    let output = critique(&input);
    assert_eq!(found(&output), vec![(Some(4), "repetitive_segment")]);
    assert!(output.issues[0].contains("said 6 times"), "{:?}", output.issues);
}

#[test]
fn broken_text_is_stray_at_full_weight() {
    let mut lines = SONG.to_vec();
    lines[7] = "ទឹកភ្នែក\u{FFFD}ហូរពេលយើងបែកគ្នា";
    let output = critique(&transcription(&lines));
    assert_eq!(found(&output), vec![(Some(8), "stray_characters")]);
    assert_eq!(output.findings[0].severity, 1.0);
    assert!(output.findings[0].message.contains("U+FFFD"), "{}", output.findings[0].message);
}

#[test]
fn line_numbers_are_lines_of_the_lyrics_text_blank_lines_included() {
    // A caller with lyrics but no segments (e.g. edited text): numbers follow the text.
    let input = CritiqueInput {
        lyrics: format!("{}\n\n{}\nHello darling\n", SONG[0], SONG[1]),
        language: None,
        duration_secs: 0.0,
        ..CritiqueInput::default()
    };
    let output = critique(&input);
    assert_eq!(found(&output), vec![(Some(4), "wrong_script")], "no language means Khmer");
}

#[test]
fn the_expected_language_decides_the_script() {
    let english = ["I love you so much", "Come back to me my darling", "The moon is shining tonight"];
    let mut input = transcription(&english);
    input.language = Some("en".into());
    input.duration_secs = 25.0;
    assert_eq!(critique(&input).findings, vec![]);
    input.language = Some("km".into());
    assert_eq!(critique(&input).findings.len(), 3);
    // A language the critic has no script for: only the language-free checks run.
    input.language = Some("zh".into());
    assert_eq!(critique(&input).findings, vec![]);
}

#[test]
fn the_same_transcription_always_gets_the_same_judgement() {
    for input in [good(), slightly_off(), looping(), wrong_script(), repaired().0, empty()] {
        let first = serde_json::to_string(&critique(&input)).unwrap();
        for _ in 0..3 {
            assert_eq!(serde_json::to_string(&critique(&input.clone())).unwrap(), first);
        }
    }
}

#[tokio::test]
async fn the_provider_is_local_critic_rules_and_its_quality_is_the_score() {
    assert_eq!(
        LocalCritic::new("local_critic", "gpt").err().unwrap(),
        "unknown model `gpt` (the local critic has one: `rules`)"
    );
    let critic = LocalCritic::new("local_critic", "rules").unwrap();
    assert_eq!(critic.id().to_string(), "local_critic:rules");
    let (direct, usage) = critic.call(&wrong_script()).await.unwrap();
    assert_eq!(direct, critique(&wrong_script()));
    assert_eq!(usage.unit_kind, "transcript");

    let erased = erase::<Critique, _>(LocalCritic::new("local_critic", "rules").unwrap());
    let json = serde_json::to_value(wrong_script()).unwrap();
    let (output, quality, _) = erased.call(&json).await.unwrap();
    assert_eq!(quality, Some(direct.score));
    assert_eq!(output["findings"][0]["line"], 2);
    assert_eq!(output["findings"][0]["kind"], "wrong_script");
    assert_eq!(output["issues"].as_array().unwrap().len(), 3);
}
