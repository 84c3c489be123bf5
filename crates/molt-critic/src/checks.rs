//! The checks: each turns one signal into problems (thresholds in the crate docs).

use crate::lines::{view, Line};
use crate::score::{Kind, Problem};
use crate::text::{
    char_script, expected_script, khmer_letters, repaired_characters, repeat_key, repeated_phrase,
    script_name, script_share, show_char, stray_characters, word_count,
};
use molt_khmer::{detect_script, Script};
use molt_pipeline::stages::{CritiqueInput, Segment};

/// Whisper's thresholds (OpenAI Whisper, whisper.cpp; `molt_ml::quality` uses the same).
pub const LOGPROB_THRESHOLD: f64 = -1.0;
pub const NO_SPEECH_THRESHOLD: f64 = 0.6;
pub const COMPRESSION_RATIO_THRESHOLD: f64 = 2.4;
/// Audio shorter than this is too short to judge words per minute on.
pub const MIN_RATE_DURATION_SECS: f64 = 30.0;
/// Fewer words a minute than this, over a whole song, is not a full lyric.
pub const MIN_WORDS_PER_MINUTE: f64 = 10.0;
/// Repeats back to back that make a loop whatever the tempo…
pub const LOOP_REPEATS: usize = 4;
/// …and that make one when sung faster than any real line.
pub const FAST_LOOP_REPEATS: usize = 3;
pub const FAST_LOOP_SECS_PER_LINE: f64 = 2.5;
/// A line that is one phrase said this often is a loop inside its segment.
pub const PHRASE_REPEATS: usize = 4;
/// A line is heavily repaired when the normaliser changed at least this many
/// characters and this share of its Khmer letters…
pub const REPAIR_MIN_CHARS: usize = 2;
pub const REPAIR_MIN_SHARE: f64 = 0.10;
/// …with full severity at this share.
pub const REPAIR_FULL_SHARE: f64 = 0.40;

/// All problems of a transcription, and how many lines were judged.
pub fn judge(input: &CritiqueInput) -> (Vec<Problem>, usize) {
    let view = view(input);
    let expected = expected_script(input.language.as_deref());
    let mut problems = output_rate(&view.lines, input.duration_secs);
    for line in &view.lines {
        if let Some(segment) = line.segment {
            problems.extend(signals(Some(line.number), segment));
        }
        problems.extend(text_checks(line, expected));
    }
    for segment in &view.unpaired {
        problems.extend(signals(None, segment));
    }
    problems.extend(loops(&view.lines));
    (problems, view.lines.len())
}

/// Empty output, or too few words for the length of the audio.
fn output_rate(lines: &[Line<'_>], duration_secs: f64) -> Vec<Problem> {
    let words: usize = lines.iter().map(|l| word_count(l.text)).sum();
    let audio = if duration_secs.is_finite() && duration_secs > 0.0 {
        format!(" for {} of audio", clock(duration_secs))
    } else {
        String::new()
    };
    if words == 0 {
        return vec![Problem::song(Kind::EmptyOutput, 1.0, format!("no words were transcribed{audio}"))];
    }
    if !(duration_secs.is_finite() && duration_secs >= MIN_RATE_DURATION_SECS) {
        return Vec::new();
    }
    let per_minute = words as f64 / (duration_secs / 60.0);
    if per_minute >= MIN_WORDS_PER_MINUTE {
        return Vec::new();
    }
    let message = format!(
        "only {words} words{audio} ({per_minute:.1} a minute; a sung lyric has at least {MIN_WORDS_PER_MINUTE:.0}): most of the song is missing"
    );
    vec![Problem::song(Kind::SparseOutput, 1.0 - per_minute / MIN_WORDS_PER_MINUTE, message)]
}

/// Whisper's own signals for one segment.
fn signals(line: Option<u32>, segment: &Segment) -> Vec<Problem> {
    let mut out = Vec::new();
    let logprob = segment.avg_logprob.filter(|v| v.is_finite());
    let unsure = logprob.is_some_and(|lp| lp < LOGPROB_THRESHOLD);
    let silent = segment.no_speech_prob.is_some_and(|p| p > NO_SPEECH_THRESHOLD);
    // Whisper's silence rule needs both: the no-speech probability alone is high
    // whenever a window opens with an instrumental intro (see molt-ml's docs).
    if unsure && silent {
        let message = format!(
            "Whisper heard no speech here (no-speech probability {:.2}, average log-probability {:.2}): text over silence or music is a typical hallucination",
            segment.no_speech_prob.unwrap_or_default(),
            logprob.unwrap_or_default()
        );
        out.push(Problem::line(Kind::NoSpeech, line, 1.0, message));
    } else if let Some(lp) = logprob.filter(|_| unsure) {
        let message = format!(
            "Whisper was unsure of this line (average log-probability {lp:.2}, below {LOGPROB_THRESHOLD:.1})"
        );
        out.push(Problem::line(Kind::LowConfidence, line, 1.0 - lp.exp(), message));
    }
    if let Some(ratio) =
        segment.compression_ratio.filter(|r| r.is_finite() && *r > COMPRESSION_RATIO_THRESHOLD)
    {
        let message = format!(
            "the text compresses {ratio:.1}× (above {COMPRESSION_RATIO_THRESHOLD}): it repeats itself, as a decoder loop does"
        );
        let severity = 1.0 - (COMPRESSION_RATIO_THRESHOLD / ratio).powi(2);
        out.push(Problem::line(Kind::RepetitiveSegment, line, severity, message));
    }
    out
}

/// Script, stray characters, normaliser repairs, and a phrase said over and over.
fn text_checks(line: &Line<'_>, expected: Option<Script>) -> Vec<Problem> {
    let mut out = Vec::new();
    let number = Some(line.number);
    if line.segment.is_none_or(|s| s.compression_ratio.is_none()) {
        // Only when Whisper gave no compression ratio: that ratio measures the same thing.
        out.extend(phrase_loop(line));
    }
    let Some(expected) = expected else { return out };
    let script = detect_script(line.text);
    let has_letters = line.text.chars().any(|c| char_script(c).is_some());
    if has_letters && script != expected {
        let share = script_share(line.text, expected);
        let message = match script {
            Script::Mixed => format!(
                "the line mixes scripts: {:.0} % of its letters are {}",
                share * 100.0,
                script_name(expected)
            ),
            other => format!(
                "the line is in {} script; {} was expected",
                script_name(other),
                script_name(expected)
            ),
        };
        out.push(Problem::line(Kind::WrongScript, number, 1.0 - share, message));
    } else {
        out.extend(stray(line, expected));
    }
    if expected == Script::Khmer {
        out.extend(repair(line));
    }
    out
}

fn stray(line: &Line<'_>, expected: Script) -> Option<Problem> {
    let strays = stray_characters(line.text, expected);
    if strays.is_empty() {
        return None;
    }
    let severity: f64 = strays.iter().map(|(_, w)| w).sum();
    let mut shown: Vec<String> = Vec::new();
    for (c, _) in &strays {
        let s = show_char(*c);
        if !shown.contains(&s) && shown.len() < 5 {
            shown.push(s);
        }
    }
    let message = format!(
        "{} character{} outside {} script: {}",
        strays.len(),
        if strays.len() == 1 { "" } else { "s" },
        script_name(expected),
        shown.join(", ")
    );
    Some(Problem::line(Kind::StrayCharacters, Some(line.number), severity, message))
}

fn repair(line: &Line<'_>) -> Option<Problem> {
    let letters = khmer_letters(line.text);
    let repaired = repaired_characters(line.text);
    let share = repaired as f64 / letters.max(1) as f64;
    if repaired < REPAIR_MIN_CHARS || share < REPAIR_MIN_SHARE {
        return None;
    }
    let message = format!(
        "the Khmer normaliser changed {repaired} of {letters} characters: mis-ordered or garbled text"
    );
    let severity = (share / REPAIR_FULL_SHARE).min(1.0);
    Some(Problem::line(Kind::HeavyRepair, Some(line.number), severity, message))
}

fn phrase_loop(line: &Line<'_>) -> Option<Problem> {
    let (phrase, repeats) = repeated_phrase(line.text, PHRASE_REPEATS)?;
    let shown: String = phrase.chars().take(24).collect();
    let message = format!("the line is one phrase said {repeats} times (\"{shown}\"): a decoder loop");
    let severity = 1.0 - (3.0 / repeats as f64).powi(2);
    Some(Problem::line(Kind::RepetitiveSegment, Some(line.number), severity, message))
}

/// A run of the same line, or the same two lines, back to back. A chorus sung
/// again later in the song is never one (it is not back to back), and a line
/// sung twice in a row is ordinary; a loop is [`LOOP_REPEATS`] repeats, or
/// [`FAST_LOOP_REPEATS`] faster than [`FAST_LOOP_SECS_PER_LINE`] a line.
fn loops(lines: &[Line<'_>]) -> Vec<Problem> {
    let keys: Vec<String> = lines.iter().map(|l| repeat_key(l.text)).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let run = [1, 2].into_iter().filter_map(|period| run_at(&keys, i, period)).max_by_key(|(p, r)| p * r);
        let found = run.and_then(|(period, repeats)| {
            let covered = period * repeats;
            Some((covered, loop_problem(&lines[i..i + covered], period, repeats)?))
        });
        match found {
            Some((covered, problem)) => {
                out.push(problem);
                i += covered;
            }
            None => i += 1,
        }
    }
    out
}

/// How many times the block of `period` lines at `i` repeats back to back (≥ 2), if it does.
fn run_at(keys: &[String], i: usize, period: usize) -> Option<(usize, usize)> {
    let block = keys.get(i..i + period)?;
    if block.iter().any(String::is_empty) || (period == 2 && block[0] == block[1]) {
        return None;
    }
    let mut repeats = 1;
    while keys.get(i + repeats * period..i + (repeats + 1) * period) == Some(block) {
        repeats += 1;
    }
    (repeats >= 2).then_some((period, repeats))
}

fn loop_problem(run: &[Line<'_>], period: usize, repeats: usize) -> Option<Problem> {
    let span = match (run.first().and_then(Line::start), run.last().and_then(Line::end)) {
        (Some(start), Some(end)) if run.iter().all(|l| l.segment.is_some()) => Some((end - start).max(0.0)),
        _ => None,
    };
    let fast = span.is_some_and(|s| s / run.len() as f64 <= FAST_LOOP_SECS_PER_LINE);
    if repeats < LOOP_REPEATS && !(fast && repeats >= FAST_LOOP_REPEATS) {
        return None;
    }
    let base = (repeats as f64 - 2.0) / 4.0;
    let severity = if fast { 2.0 * base } else { base };
    let what = if period == 1 { "the same line" } else { "the same two lines" };
    let within = span.map(|s| format!(" within {s:.0} s")).unwrap_or_default();
    let (first, last) = (run[0].number, run[run.len() - 1].number);
    let message = format!(
        "{what} {repeats} times in a row (lines {first}–{last}){within}: a decoder loop, not a chorus"
    );
    let mut problem = Problem::line(Kind::Loop, Some(first), severity, message);
    problem.lines = u32::try_from((repeats - 1) * period).unwrap_or(u32::MAX);
    Some(problem)
}

/// `m:ss`.
fn clock(secs: f64) -> String {
    let total = secs.round() as u64;
    format!("{}:{:02}", total / 60, total % 60)
}
