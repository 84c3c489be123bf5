//! The LLM critic's verdict: the JSON object a chat model must answer with,
//! checked strictly, and its mapping to [`CritiqueOutput`].
//!
//! ```json
//! { "score": 0.8,
//!   "issues": [{ "line": 3, "kind": "wrong_script", "message": "…", "suggestion": "…" }],
//!   "corrections": [{ "line": 3, "text": "…" }] }
//! ```
//!
//! - `score`: a number in 0..=1 (required; never clamped: a model that answers
//!   1.7 did not follow the instructions).
//! - `issues`: an array (required, may be empty) of objects: `kind` and
//!   `message` non-empty strings (required); `line` null or an integer within
//!   the lyrics (1..=the number of lines); `suggestion` null or a string.
//! - `corrections`: an array (may be left out: none) of objects with `line`
//!   (an integer within the lyrics) and `text` (a string: the corrected line).
//! - Other keys are ignored. Strings are trimmed; `kind` is lower-cased with
//!   spaces and hyphens as `_`; overlong strings are cut (kind 40, message and
//!   suggestion 500 characters), and at most 50 issues and 50 corrections are kept.
//!
//! Mapping: each issue becomes a [`Finding`] and an `issues` line ("line 3:
//! message"). A correction fills the suggestion of the first finding on its
//! line that has none; otherwise it becomes a finding of kind `correction`.
//! The model does not grade single issues, so every finding carries the
//! verdict's overall badness, `1 − score`, as its severity.

use crate::remote::kind_of;
use crate::stages::{CritiqueOutput, Finding};
use serde_json::{Map, Value};

const MAX_KIND_CHARS: usize = 40;
const MAX_TEXT_CHARS: usize = 500;
const MAX_ITEMS: usize = 50;

/// The reply as a verdict, or what is wrong with it (which names the field).
pub fn parse(reply: &str, line_count: usize) -> Result<CritiqueOutput, String> {
    let object = match serde_json::from_str::<Value>(reply.trim()) {
        Ok(Value::Object(object)) => object,
        Ok(other) => return Err(format!("expected an object, got {}", kind_of(&other))),
        Err(e) => return Err(format!("malformed JSON ({e})")),
    };
    let score = score(&object)?;
    let severity = 1.0 - score;
    let mut findings = array(&object, "issues", true)?
        .iter()
        .take(MAX_ITEMS)
        .enumerate()
        .map(|(i, issue)| finding(i, issue, line_count, severity))
        .collect::<Result<Vec<Finding>, String>>()?;
    for (i, correction) in array(&object, "corrections", false)?.iter().take(MAX_ITEMS).enumerate() {
        let (line, text) = correction_of(i, correction, line_count)?;
        apply_correction(&mut findings, line, text, severity);
    }
    let issues = findings
        .iter()
        .map(|f| match f.line {
            Some(line) => format!("line {line}: {}", f.message),
            None => f.message.clone(),
        })
        .collect();
    Ok(CritiqueOutput { score, issues, findings })
}

fn score(object: &Map<String, Value>) -> Result<f64, String> {
    let value = object.get("score").ok_or("`score` is missing")?;
    let score = value.as_f64().ok_or_else(|| format!("`score` is not a number (got {})", kind_of(value)))?;
    if !(0.0..=1.0).contains(&score) {
        return Err(format!("`score` is {score}, outside 0..1"));
    }
    Ok(score)
}

/// `key` as an array; a missing optional array is empty.
fn array<'a>(object: &'a Map<String, Value>, key: &str, required: bool) -> Result<&'a [Value], String> {
    match object.get(key) {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!("`{key}` is not an array (got {})", kind_of(other))),
        None if required => Err(format!("`{key}` is missing")),
        None => Ok(&[]),
    }
}

fn finding(i: usize, issue: &Value, line_count: usize, severity: f64) -> Result<Finding, String> {
    let at = format!("issues[{i}]");
    let issue = issue.as_object().ok_or_else(|| format!("`{at}` is not an object"))?;
    let kind = required_text(issue, &at, "kind")?
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() })
        .take(MAX_KIND_CHARS)
        .collect();
    Ok(Finding {
        line: line(issue.get("line"), &format!("{at}.line"), line_count, true)?,
        kind,
        severity,
        message: required_text(issue, &at, "message")?,
        suggestion: optional_text(issue.get("suggestion"), &format!("{at}.suggestion"))?,
    })
}

fn correction_of(i: usize, correction: &Value, line_count: usize) -> Result<(u32, String), String> {
    let at = format!("corrections[{i}]");
    let correction = correction.as_object().ok_or_else(|| format!("`{at}` is not an object"))?;
    let line = line(correction.get("line"), &format!("{at}.line"), line_count, false)?
        .ok_or_else(|| format!("`{at}.line` is missing"))?;
    let text = optional_text(correction.get("text"), &format!("{at}.text"))?
        .ok_or_else(|| format!("`{at}.text` is missing"))?;
    Ok((line, text))
}

fn apply_correction(findings: &mut Vec<Finding>, line: u32, text: String, severity: f64) {
    match findings.iter_mut().find(|f| f.line == Some(line) && f.suggestion.is_none()) {
        Some(finding) => finding.suggestion = Some(text),
        None => findings.push(Finding {
            line: Some(line),
            kind: "correction".into(),
            severity,
            message: "the critic proposes a corrected line".into(),
            suggestion: Some(text),
        }),
    }
}

/// A line number within the lyrics; `null` (or absent) only where `nullable`.
fn line(value: Option<&Value>, at: &str, line_count: usize, nullable: bool) -> Result<Option<u32>, String> {
    let value = match value {
        None | Some(Value::Null) if nullable => return Ok(None),
        None => return Ok(None),
        Some(value) => value,
    };
    let n = value
        .as_u64()
        .ok_or_else(|| format!("`{at}` is not a whole line number (got {})", kind_of(value)))?;
    if n == 0 || n > line_count as u64 {
        return Err(format!("`{at}` is {n}, outside the lyrics' lines 1..{line_count}"));
    }
    Ok(Some(n as u32))
}

fn required_text(object: &Map<String, Value>, at: &str, key: &str) -> Result<String, String> {
    let text = optional_text(object.get(key), &format!("{at}.{key}"))?
        .ok_or_else(|| format!("`{at}.{key}` is missing"))?;
    if text.is_empty() {
        return Err(format!("`{at}.{key}` is empty"));
    }
    Ok(text)
}

fn optional_text(value: Option<&Value>, at: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().chars().take(MAX_TEXT_CHARS).collect())),
        Some(other) => Err(format!("`{at}` is not a string (got {})", kind_of(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_verdict_maps_to_findings_and_issues() {
        let reply = r#"{"score": 0.6, "issues": [
            {"line": 2, "kind": "Wrong Script", "message": " Latin words ", "suggestion": null},
            {"line": null, "kind": "missing", "message": "the second verse is missing"}],
          "corrections": [{"line": 2, "text": "ខ្ញុំស្រលាញ់អូន"}, {"line": 1, "text": "x"}], "note": 1}"#;
        let out = parse(reply, 3).unwrap();
        assert_eq!(out.score, 0.6);
        assert_eq!(
            out.issues,
            vec![
                "line 2: Latin words",
                "the second verse is missing",
                "line 1: the critic proposes a corrected line"
            ]
        );
        assert_eq!(out.findings[0].kind, "wrong_script");
        assert_eq!(out.findings[0].suggestion.as_deref(), Some("ខ្ញុំស្រលាញ់អូន"));
        assert!((out.findings[0].severity - 0.4).abs() < 1e-12);
        assert_eq!(out.findings[2].kind, "correction");
        assert_eq!(out.findings[2].line, Some(1));
    }

    #[test]
    fn violations_name_the_field() {
        let cases = [
            ("not json", "malformed JSON"),
            ("[1]", "expected an object, got an array"),
            (r#"{"issues": []}"#, "`score` is missing"),
            (r#"{"score": "high", "issues": []}"#, "`score` is not a number (got a string)"),
            (r#"{"score": 1.7, "issues": []}"#, "`score` is 1.7, outside 0..1"),
            (r#"{"score": 0.5}"#, "`issues` is missing"),
            (r#"{"score": 0.5, "issues": ["x"]}"#, "`issues[0]` is not an object"),
            (r#"{"score": 0.5, "issues": [{"kind": "x"}]}"#, "`issues[0].message` is missing"),
            (r#"{"score": 0.5, "issues": [{"kind": " ", "message": "m"}]}"#, "`issues[0].kind` is empty"),
            (
                r#"{"score": 0.5, "issues": [{"kind": "k", "message": "m", "line": 999}]}"#,
                "`issues[0].line` is 999, outside the lyrics' lines 1..3",
            ),
            (
                r#"{"score": 0.5, "issues": [{"kind": "k", "message": "m", "line": 0}]}"#,
                "`issues[0].line` is 0",
            ),
            (
                r#"{"score": 0.5, "issues": [{"kind": "k", "message": "m", "line": 1.5}]}"#,
                "`issues[0].line` is not a whole line number",
            ),
            (
                r#"{"score": 0.5, "issues": [{"kind": "k", "message": "m", "suggestion": 3}]}"#,
                "`issues[0].suggestion` is not a string",
            ),
            (r#"{"score": 0.5, "issues": [], "corrections": {}}"#, "`corrections` is not an array"),
            (
                r#"{"score": 0.5, "issues": [], "corrections": [{"text": "t"}]}"#,
                "`corrections[0].line` is missing",
            ),
            (
                r#"{"score": 0.5, "issues": [], "corrections": [{"line": null, "text": "t"}]}"#,
                "`corrections[0].line` is not a whole line number (got null)",
            ),
            (
                r#"{"score": 0.5, "issues": [], "corrections": [{"line": 1}]}"#,
                "`corrections[0].text` is missing",
            ),
        ];
        for (reply, expected) in cases {
            let error = parse(reply, 3).unwrap_err();
            assert!(error.contains(expected), "{reply}: {error}");
        }
    }
}
