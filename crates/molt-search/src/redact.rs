//! Personal data and secrets removed from a user's query before it is stored or
//! logged (DESIGN §5 and §12: no secrets or PII in logs; §9: every query is logged
//! with PII redacted). [`redact`] is pure and total: any text in, the same text
//! out with each finding replaced by a placeholder, plus where the findings were.
//!
//! What is found, in this order (a later finder skips text an earlier one took):
//!
//! | finding | example | becomes |
//! |---|---|---|
//! | credentials in a URL | `https://user:pass@host/x` | `https://[credentials]@host/x` |
//! | email address | `dara.sok+music@example.com.kh` | `[email]` |
//! | `Bearer` credential | `Authorization: Bearer abc.def.ghi` | `Authorization: Bearer [token]` |
//! | Molt API token (`molt_` + hex, see `molt-catalog`'s `tokens.rs`; the 6-hex display prefix too) | `molt_3fa94c…` | `[token]` |
//! | well-known key formats | `sk-…`, `sk_live_…`, `ghp_…`, `github_pat_…`, `glpat-…`, `xoxb-…`, `AKIA…`, `AIza…`, `hf_…` | `[token]` |
//! | JSON Web Token | `eyJhbGci….eyJzdWIi….sig` | `[token]` |
//! | long random-looking strings | ≥ 32 hex characters with letters and digits; base64-ish runs of ≥ 24 characters with at least 2 upper-case letters, 2 lower-case letters and 2 digits, or of ≥ 32 with at least one of each | `[token]` |
//! | a value after a secret's name | `password=hunter2`, `api_key: x`, `?token=x&…` | `password=[secret]` |
//! | payment card number | 15 or 16 digits starting with 3–6 and passing the Luhn check, grouped or not | `[card]` |
//! | phone number | see below | `[phone]` |
//!
//! Phone numbers, in ASCII or Khmer digits (U+17E0–U+17E9) or a mix, with single
//! spaces, `-`, `.` or parentheses between digit groups:
//! - `+` then 8–15 digits (`+855 12 345 678`, `+855 (0)12 345 678`, `+1 (555) 123-4567`);
//! - `00` then 10–15 digits in all (`00855 12 345 678`);
//! - a domestic number: `0` then 9–11 digits in all, every group of at least 2 digits
//!   (Cambodian `012 345 678`, `012-345-678`, `0973456789`, `០១២ ៣៤៥ ៦៧៨`);
//! - `855` then 11–12 digits in all (`85512345678`);
//! - `(555) 123-4567` and `555-123-4567` (North American 3-3-4 groups).
//!
//! What is deliberately kept, so the log stays useful: years (`1967`), year lists and
//! ranges (`1960 1970 1975`, `1960-1975`), song ids (`#12`, `song 012`), dates, short
//! digit runs and numbers inside words; UUIDs (identifiers, not secrets: a bug report
//! may quote a request id); ordinary long words, lower-case slugs and domain names. A
//! number run glued to a Latin letter or `_` is part of a word, never a phone; one
//! glued to Khmer letters (Khmer writes no spaces: `លេខទូរស័ព្ទ០១២៣៤៥៦៧៨`) is a phone.
//!
//! # The query log
//!
//! [`log_query`] is the one way a query reaches the store: it redacts first, so the
//! raw text never reaches the store or a log line (its own tracing carries ids, counts
//! and the intent, never text). A [`Intent::BugReport`] also becomes a
//! [`BUG_REPORT_EVENT`] event routed to engineering, written in the same transaction
//! as its log row.

use crate::intent::Intent;
use crate::tier::Tier;
use molt_store::{LoggedQuery, NewQueryLog, QueryEvent, QueryLogStore, StoreResult};
use serde::Serialize;

/// What a redaction removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactionKind {
    Email,
    Phone,
    /// An API token, bearer credential or random-looking secret.
    Token,
    /// The value after a secret's name (`password=…`).
    Secret,
    /// `user:password` in a URL.
    Credentials,
    /// A payment card number.
    Card,
}

impl RedactionKind {
    /// The text that replaces the finding.
    pub fn placeholder(self) -> &'static str {
        match self {
            RedactionKind::Email => "[email]",
            RedactionKind::Phone => "[phone]",
            RedactionKind::Token => "[token]",
            RedactionKind::Secret => "[secret]",
            RedactionKind::Credentials => "[credentials]",
            RedactionKind::Card => "[card]",
        }
    }
}

/// One finding: its kind and its byte range in the *input* text (never its content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Redaction {
    pub kind: RedactionKind,
    pub start: usize,
    pub end: usize,
}

/// `text` with emails, phone numbers, tokens and other secrets replaced by
/// placeholders (see the module docs), and the findings in input order.
pub fn redact(text: &str) -> (String, Vec<Redaction>) {
    let scan = Scan::new(text);
    let mut spans = Spans::default();
    url_credentials(&scan, &mut spans);
    emails(&scan, &mut spans);
    bearer(&scan, &mut spans);
    tokens(&scan, &mut spans);
    named_secrets(&scan, &mut spans);
    numbers(&scan, &mut spans);

    let mut found = spans.0;
    found.sort_by_key(|s| s.0);
    let mut out = String::with_capacity(text.len());
    let mut redactions = Vec::with_capacity(found.len());
    let mut at = 0;
    for (start, end, kind) in found {
        let (b_start, b_end) = (scan.byte(start), scan.byte(end));
        out.push_str(&text[at..b_start]);
        out.push_str(kind.placeholder());
        redactions.push(Redaction { kind, start: b_start, end: b_end });
        at = b_end;
    }
    out.push_str(&text[at..]);
    (out, redactions)
}

/// Shorthand: only the redacted text.
pub fn redacted(text: &str) -> String {
    redact(text).0
}

/// The event a bug report becomes, for engineering (DESIGN §11: code goes to the engineer).
pub const BUG_REPORT_EVENT: &str = "user.bug_report";

/// Logs one user query with its intent, result count, response time and tier
/// (DESIGN §9). The text is redacted here, before anything is stored or traced. A bug
/// report also records a [`BUG_REPORT_EVENT`] event (`{"text": redacted, "intent",
/// "tier", "route_to": "engineer", "query_log_id"}`, actor `user:<tier>`) in the same
/// transaction as its row.
pub fn log_query<S: QueryLogStore + ?Sized>(
    store: &S,
    raw_query: &str,
    intent: Intent,
    result_count: usize,
    response_ms: u64,
    tier: Tier,
) -> StoreResult<LoggedQuery> {
    let tier = tier.as_str();
    let (text, found) = redact(raw_query);
    let event = (intent == Intent::BugReport).then(|| QueryEvent {
        actor: format!("user:{tier}"),
        kind: BUG_REPORT_EVENT.to_string(),
        details: serde_json::json!({
            "text": text,
            "intent": intent,
            "tier": tier,
            "route_to": "engineer",
        }),
    });
    let logged = store.log_query(NewQueryLog {
        query_redacted: text,
        intent: intent.as_str().to_string(),
        result_count: u64::try_from(result_count).unwrap_or(u64::MAX),
        response_ms,
        tier: tier.to_string(),
        event,
    })?;
    tracing::debug!(
        query_log_id = logged.id,
        intent = intent.as_str(),
        result_count,
        response_ms,
        tier,
        redactions = found.len(),
        "query logged"
    );
    if let Some(event_id) = logged.event_id {
        tracing::info!(query_log_id = logged.id, event_id, "bug report recorded for engineering");
    }
    Ok(logged)
}

/// The text as characters, with their byte offsets.
struct Scan {
    chars: Vec<char>,
    /// `offsets[i]` is the byte offset of `chars[i]`; one more entry for the end.
    offsets: Vec<usize>,
}

impl Scan {
    fn new(text: &str) -> Scan {
        let mut chars = Vec::with_capacity(text.len());
        let mut offsets = Vec::with_capacity(text.len() + 1);
        for (i, c) in text.char_indices() {
            chars.push(c);
            offsets.push(i);
        }
        offsets.push(text.len());
        Scan { chars, offsets }
    }

    fn len(&self) -> usize {
        self.chars.len()
    }

    fn byte(&self, char_index: usize) -> usize {
        self.offsets[char_index]
    }

    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn before(&self, i: usize) -> Option<char> {
        i.checked_sub(1).and_then(|j| self.at(j))
    }

    /// Whether `word` (ASCII) starts at `i`, ignoring case.
    fn starts_with_ci(&self, i: usize, word: &str) -> bool {
        word.chars().enumerate().all(|(k, w)| self.at(i + k).is_some_and(|c| c.eq_ignore_ascii_case(&w)))
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars[start..end].iter().collect()
    }
}

/// Findings so far, as character ranges; they never overlap.
#[derive(Default)]
struct Spans(Vec<(usize, usize, RedactionKind)>);

impl Spans {
    fn free(&self, start: usize, end: usize) -> bool {
        self.0.iter().all(|&(s, e, _)| end <= s || e <= start)
    }

    /// Adds the span unless it is empty or overlaps an earlier finding.
    fn add(&mut self, start: usize, end: usize, kind: RedactionKind) -> bool {
        let ok = start < end && self.free(start, end);
        if ok {
            self.0.push((start, end, kind));
        }
        ok
    }
}

fn is_ascii_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `https://user:pass@host` → the `user:pass` part.
fn url_credentials(scan: &Scan, spans: &mut Spans) {
    let n = scan.len();
    let mut i = 1;
    while i + 3 <= n {
        let is_sep = scan.chars[i..i + 3] == [':', '/', '/'];
        if !is_sep || !scan.before(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i + 3;
        let end = (start..n)
            .find(|&k| matches!(scan.chars[k], '/' | '?' | '#') || scan.chars[k].is_whitespace())
            .unwrap_or(n);
        if let Some(at) = (start..end).rev().find(|&k| scan.chars[k] == '@') {
            spans.add(start, at, RedactionKind::Credentials);
        }
        i = end.max(i + 1);
    }
}

fn is_email_local(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_email_domain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
}

fn emails(scan: &Scan, spans: &mut Spans) {
    let n = scan.len();
    for at in 0..n {
        if scan.chars[at] != '@' {
            continue;
        }
        let mut start = at;
        while start > 0 && is_email_local(scan.chars[start - 1]) {
            start -= 1;
        }
        while start < at && scan.chars[start] == '.' {
            start += 1;
        }
        let mut end = at + 1;
        while end < n && is_email_domain(scan.chars[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(scan.chars[end - 1], '.' | '-') {
            end -= 1;
        }
        if start == at || end == at + 1 {
            continue;
        }
        let domain = scan.text(at + 1, end);
        let Some((host, tld)) = domain.rsplit_once('.') else { continue };
        if host.is_empty()
            || host.starts_with('.')
            || tld.len() < 2
            || !tld.chars().all(|c| c.is_ascii_alphabetic())
        {
            continue;
        }
        spans.add(start, end, RedactionKind::Email);
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '=' | '~' | '/' | '.')
}

/// `Bearer xyz` → `Bearer [token]`, when `xyz` looks like a credential (8+ characters,
/// with a digit or a symbol, or 20+ characters), not like the next word of a sentence.
fn bearer(scan: &Scan, spans: &mut Spans) {
    let n = scan.len();
    for i in 0..n {
        if scan.before(i).is_some_and(is_ascii_word) || !scan.starts_with_ci(i, "bearer") {
            continue;
        }
        let mut start = i + "bearer".len();
        if !scan.at(start).is_some_and(|c| c == ' ' || c == '\t') {
            continue;
        }
        while scan.at(start).is_some_and(|c| c == ' ' || c == '\t') {
            start += 1;
        }
        let mut end = start;
        while end < n && is_token_char(scan.chars[end]) {
            end += 1;
        }
        while end > start && scan.chars[end - 1] == '.' {
            end -= 1;
        }
        let token = &scan.chars[start..end];
        let marked = token.iter().any(|c| !c.is_ascii_alphabetic());
        if token.len() >= 20 || (token.len() >= 8 && marked) {
            spans.add(start, end, RedactionKind::Token);
        }
    }
}

/// Well-known key prefixes and the least number of characters that must follow.
const KEY_PREFIXES: &[(&str, usize)] = &[
    ("sk-", 16),
    ("sk_live_", 16),
    ("sk_test_", 16),
    ("rk_live_", 16),
    ("pk_live_", 16),
    ("ghp_", 20),
    ("gho_", 20),
    ("ghu_", 20),
    ("ghs_", 20),
    ("ghr_", 20),
    ("github_pat_", 20),
    ("glpat-", 16),
    ("xoxb-", 16),
    ("xoxp-", 16),
    ("xoxa-", 16),
    ("xapp-", 16),
    ("AKIA", 16),
    ("AIza", 30),
    ("hf_", 30),
];

/// The Molt token prefix (`molt-catalog`'s `TOKEN_PREFIX`): `molt_` + 64 hex digits;
/// the 6-hex display prefix (`molt_3fa94c`) is redacted too.
const MOLT_PREFIX: &str = "molt_";
const MOLT_MIN_HEX: usize = 6;

/// Whether one word (a run of token characters) is a secret by its shape.
fn is_secret_word(word: &str) -> bool {
    if let Some(rest) = word.strip_prefix(MOLT_PREFIX) {
        if rest.len() >= MOLT_MIN_HEX && rest.chars().all(|c| c.is_ascii_hexdigit()) {
            return true;
        }
    }
    for &(prefix, min) in KEY_PREFIXES {
        if let Some(rest) = word.strip_prefix(prefix) {
            if rest.len() >= min && rest.chars().any(|c| c.is_ascii_digit()) {
                return true;
            }
        }
    }
    if word.starts_with("eyJ") {
        let parts: Vec<&str> = word.split('.').collect();
        if parts.len() == 3 && parts.iter().all(|p| p.len() >= 4) {
            return true;
        }
    }
    // Domains, file names and paths: judge each piece, so `example.com` never counts.
    if word.contains('.') || word.starts_with('/') || word.contains("//") {
        return word.split(['.', '/']).any(looks_random);
    }
    looks_random(word)
}

/// ≥ 32 hex digits with both letters and digits, or base64-ish characters: ≥ 24 with at
/// least two upper-case letters, two lower-case letters and two digits, or ≥ 32 with at
/// least one of each.
fn looks_random(piece: &str) -> bool {
    let body = piece.trim_end_matches('=');
    let count = |f: fn(&char) -> bool| body.chars().filter(f).count();
    let (upper, lower, digits) =
        (count(char::is_ascii_uppercase), count(char::is_ascii_lowercase), count(char::is_ascii_digit));
    let hex =
        body.len() >= 32 && body.chars().all(|c| c.is_ascii_hexdigit()) && digits > 0 && upper + lower > 0;
    let b64 = body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '_' | '-'))
        && ((body.len() >= 24 && upper >= 2 && lower >= 2 && digits >= 2)
            || (body.len() >= 32 && upper >= 1 && lower >= 1 && digits >= 1));
    hex || b64
}

fn tokens(scan: &Scan, spans: &mut Spans) {
    let n = scan.len();
    let mut i = 0;
    while i < n {
        if !is_token_char(scan.chars[i]) {
            i += 1;
            continue;
        }
        if scan.chars[i] == '=' {
            i += 1;
            continue;
        }
        // `=` only as base64 padding at the end, so `key=value` is two words.
        let start = i;
        while i < n && is_token_char(scan.chars[i]) && scan.chars[i] != '=' {
            i += 1;
        }
        let mut end = i;
        while end > start && matches!(scan.chars[end - 1], '.' | '/' | '-') {
            end -= 1;
        }
        if end == i {
            while i < n && scan.chars[i] == '=' {
                i += 1;
            }
            end = i;
        }
        if end > start && is_secret_word(&scan.text(start, end)) {
            spans.add(start, end, RedactionKind::Token);
        }
    }
}

/// Names whose value is a secret, matched whole and ignoring case. Plain `key` and
/// `pass` are left out: "key: C minor" is music, not a secret.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passcode",
    "pin",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "auth_token",
    "id_token",
    "api_key",
    "apikey",
    "api-key",
    "private_key",
];

/// `password=hunter2`, `api_key: x`, `?token=x&y=1` → the value.
fn named_secrets(scan: &Scan, spans: &mut Spans) {
    let n = scan.len();
    for i in 0..n {
        if scan.before(i).is_some_and(|c| is_ascii_word(c) || c == '-') {
            continue;
        }
        let Some(name) = SECRET_NAMES.iter().find(|name| scan.starts_with_ci(i, name)) else { continue };
        let mut j = i + name.len();
        if scan.at(j).is_some_and(|c| is_ascii_word(c) || c == '-') {
            continue;
        }
        while scan.at(j) == Some(' ') {
            j += 1;
        }
        if !matches!(scan.at(j), Some('=' | ':')) {
            continue;
        }
        j += 1;
        while scan.at(j) == Some(' ') {
            j += 1;
        }
        let start = j;
        while scan.at(j).is_some_and(|c| !c.is_whitespace() && !matches!(c, '&' | '"' | '\'' | ',' | ';')) {
            j += 1;
        }
        spans.add(start, j, RedactionKind::Secret);
    }
}

/// An ASCII or Khmer digit's value.
fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '\u{17E0}'..='\u{17E9}' => Some((c as u32 - 0x17E0) as u8),
        _ => None,
    }
}

/// A run of digit groups, as a phone or card number might be written.
struct NumberRun {
    start: usize,
    end: usize,
    plus: bool,
    paren: bool,
    digits: Vec<u8>,
    groups: Vec<usize>,
}

/// The digit groups starting at `i`: digits, with 1–3 separator characters
/// (space, `-`, `.`, parentheses) between groups.
fn number_run(scan: &Scan, i: usize) -> Option<NumberRun> {
    let first = scan.at(i)?;
    let (plus, paren) = (first == '+', first == '(');
    let mut j = if plus || paren { i + 1 } else { i };
    digit(scan.at(j)?)?;
    let mut run = NumberRun { start: i, end: j, plus, paren, digits: Vec::new(), groups: Vec::new() };
    loop {
        let mut group = 0;
        while let Some(d) = scan.at(j).and_then(digit) {
            run.digits.push(d);
            group += 1;
            j += 1;
        }
        run.groups.push(group);
        run.end = j;
        let mut k = j;
        while k < j + 3 && scan.at(k).is_some_and(|c| matches!(c, ' ' | '-' | '.' | '(' | ')')) {
            k += 1;
        }
        if k == j || scan.at(k).is_none_or(|c| digit(c).is_none()) {
            break;
        }
        let seps = &scan.chars[j..k];
        if seps.iter().filter(|c| matches!(c, '-' | '.')).count() > 1 {
            break;
        }
        j = k;
    }
    if paren && scan.at(run.end) == Some(')') {
        run.end += 1;
    }
    Some(run)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &d)| {
            let d = u32::from(d);
            if k % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn classify_number(run: &NumberRun) -> Option<RedactionKind> {
    let d = &run.digits;
    let n = d.len();
    let starts = |prefix: &[u8]| d.starts_with(prefix);
    if !run.plus && !run.paren && (15..=16).contains(&n) && (3..=6).contains(&d[0]) && luhn(d) {
        return Some(RedactionKind::Card);
    }
    let phone = (run.plus && (8..=15).contains(&n))
        || (starts(&[0, 0]) && (10..=15).contains(&n))
        || (d[0] == 0 && !starts(&[0, 0]) && (9..=11).contains(&n) && run.groups.iter().all(|&g| g >= 2))
        || (starts(&[8, 5, 5]) && (11..=12).contains(&n))
        || (run.groups == [3, 3, 4] && (run.paren || n == 10));
    phone.then_some(RedactionKind::Phone)
}

/// Card and phone numbers.
fn numbers(scan: &Scan, spans: &mut Spans) {
    let n = scan.len();
    let mut i = 0;
    while i < n {
        let c = scan.chars[i];
        let starts_here =
            digit(c).is_some() || ((c == '+' || c == '(') && scan.at(i + 1).and_then(digit).is_some());
        let glued = scan
            .before(i)
            .is_some_and(|p| is_ascii_word(p) || digit(p).is_some() || matches!(p, '#' | '@' | '/' | '+'));
        if !starts_here || glued {
            i += 1;
            continue;
        }
        let Some(run) = number_run(scan, i) else {
            i += 1;
            continue;
        };
        let next_glued = scan.at(run.end).is_some_and(is_ascii_word);
        if !next_glued {
            if let Some(kind) = classify_number(&run) {
                spans.add(run.start, run.end, kind);
            }
        }
        i = run.end.max(i + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        redacted(text)
    }

    #[test]
    fn emails_are_replaced_whole() {
        assert_eq!(r("mail me at dara.sok+music@example.com.kh please"), "mail me at [email] please");
        assert_eq!(r("Contact: a@b.co."), "Contact: [email].");
        assert_eq!(r("<sok_dara99@gmail.com>"), "<[email]>");
        assert_eq!(r("ផ្ញើមកខ្ញុំdara@example.comផង"), "ផ្ញើមកខ្ញុំ[email]ផង");
        // Not emails: a handle, an unfinished address, a bare @.
        assert_eq!(r("@molt_bot and user@localhost and @ 12"), "@molt_bot and user@localhost and @ 12");
    }

    #[test]
    fn cambodian_and_international_phones() {
        for (input, expected) in [
            ("call +855 12 345 678 now", "call [phone] now"),
            ("+85512345678", "[phone]"),
            ("+855 (0)12 345 678", "[phone]"),
            ("012 345 678", "[phone]"),
            ("012-345-678", "[phone]"),
            ("012.345.678", "[phone]"),
            ("0973456789", "[phone]"),
            ("097 345 6789", "[phone]"),
            ("00855 12 345 678", "[phone]"),
            ("855 12 345 678", "[phone]"),
            ("+1 (555) 123-4567", "[phone]"),
            ("(555) 123-4567", "[phone]"),
            ("555-123-4567", "[phone]"),
            ("+44 7700 900123", "[phone]"),
        ] {
            assert_eq!(r(input), expected, "{input}");
        }
    }

    #[test]
    fn phones_in_khmer_digits_and_khmer_text() {
        assert_eq!(r("០១២ ៣៤៥ ៦៧៨"), "[phone]");
        assert_eq!(r("+៨៥៥ ១២ ៣៤៥ ៦៧៨"), "[phone]");
        assert_eq!(r("លេខទូរស័ព្ទ០១២៣៤៥៦៧៨សូមអរគុណ"), "លេខទូរស័ព្ទ[phone]សូមអរគុណ");
        assert_eq!(r("ទូរស័ព្ទមកលេខ 012 345 678 ។"), "ទូរស័ព្ទមកលេខ [phone] ។");
        let (text, found) = redact("ខ្ញុំ ០១២-៣៤៥-៦៧៨");
        assert_eq!(text, "ខ្ញុំ [phone]");
        assert_eq!(found.len(), 1);
        assert_eq!(&"ខ្ញុំ ០១២-៣៤៥-៦៧៨"[found[0].start..found[0].end], "០១២-៣៤៥-៦៧៨");
    }

    #[test]
    fn ordinary_numbers_are_kept() {
        for text in [
            "Champa Battambang 1967",
            "songs from 1960 1970 1975",
            "1960-1975",
            "#12",
            "song 12 and song 013",
            "status of #1234567",
            "ចម្រៀងឆ្នាំ១៩៦៧",
            "បទលេខ១២",
            "2026-11-21 at 10:30",
            "21.11.2026",
            "it costs 0.50 dollars",
            "track 3 of 12, 45 minutes",
            "ids 101 102 103 104",
            "version 20261121000007",
            "1234567",
            "12345678",
            "v2.0.1 build 4455",
            "abc0123456789",
            "0 12 345 678",
            "request 550e8400-e29b-41d4-a716-446655440000",
            "4111111111111112",
        ] {
            assert_eq!(r(text), text, "over-redacted {text:?}");
        }
    }

    #[test]
    fn molt_tokens_and_known_keys() {
        let secret = format!("molt_{}", "3fa94c".repeat(10) + "abcd");
        assert_eq!(r(&format!("my token is {secret}.")), "my token is [token].");
        assert_eq!(r("prefix molt_3fa94c shown in the list"), "prefix [token] shown in the list");
        // The crate names are words, not tokens.
        assert_eq!(r("molt_search and molt_store"), "molt_search and molt_store");
        for key in [
            "sk-proj-AbC123dEf456GhI789jKl0",
            "sk-1234567890abcdefXYZ",
            "sk_live_51Habcdefghijklmnop1234",
            "ghp_1234567890abcdefghijABCDEFGHIJ",
            "github_pat_11ABCDEFG0123456789_abcdefghijkl",
            "glpat-abcdef1234567890",
            "xoxb-123456789012-abcdefghijklmnop",
            "AKIAIOSFODNN7EXAMPLE",
            "AIzaSyA1234567890abcdefghijklmnopqrstu",
            "hf_abcdefghijklmnopqrstuvwxyz0123456789",
        ] {
            assert_eq!(r(&format!("key {key} end")), "key [token] end", "{key}");
        }
    }

    #[test]
    fn bearer_jwt_and_random_strings() {
        assert_eq!(r("Authorization: Bearer abc123.def456-ghi789"), "Authorization: Bearer [token]");
        assert_eq!(r("bearer 0123456789abcdef"), "bearer [token]");
        assert_eq!(r("the bearer of good news"), "the bearer of good news");
        assert_eq!(r("Bearer something"), "Bearer something");
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(r(&format!("jwt {jwt} here")), "jwt [token] here");
        assert_eq!(r("sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"), "sha [token]");
        assert_eq!(r("key=Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MA== ok"), "key=[token] ok");
        assert_eq!(r("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), "secret [token]");
        // Long ordinary text stays.
        for text in [
            "the-golden-age-of-khmer-rock-and-roll-1967",
            "https://www.example.com/songs/champa-battambang",
            "Supercalifragilisticexpialidocious",
            "deadbeef",
        ] {
            assert_eq!(r(text), text);
        }
    }

    #[test]
    fn url_credentials_and_named_secrets() {
        assert_eq!(
            r("see https://dara:hunter2@example.com/path?q=1"),
            "see https://[credentials]@example.com/path?q=1"
        );
        assert_eq!(r("ftp://admin@files.example.org"), "ftp://[credentials]@files.example.org");
        assert_eq!(r("https://example.com/a@b"), "https://example.com/a@b");
        assert_eq!(r("https://x.org/cb?token=abc123&lang=km"), "https://x.org/cb?token=[secret]&lang=km");
        assert_eq!(r("password: hunter2 and PWD=xyz"), "password: [secret] and PWD=[secret]");
        assert_eq!(r("api_key=abc, ok"), "api_key=[secret], ok");
        assert_eq!(r("key: C minor, tokens: 5"), "key: C minor, tokens: 5");
        assert_eq!(r("ពាក្យសម្ងាត់ password=ខ្ញុំ123 ។"), "ពាក្យសម្ងាត់ password=[secret] ។");
    }

    #[test]
    fn cards_pass_the_luhn_check() {
        assert_eq!(r("card 4111 1111 1111 1111 thanks"), "card [card] thanks");
        assert_eq!(r("4111-1111-1111-1111"), "[card]");
        assert_eq!(r("5500005555555559"), "[card]");
    }

    #[test]
    fn everything_at_once_with_khmer_around() {
        let input = "សួស្តី! email dara@example.com ទូរស័ព្ទ ០១២ ៣៤៥ ៦៧៨, token molt_0123456789abcdef \
                     ចម្រៀង #12 ឆ្នាំ1967";
        let (text, found) = redact(input);
        assert_eq!(text, "សួស្តី! email [email] ទូរស័ព្ទ [phone], token [token] ចម្រៀង #12 ឆ្នាំ1967");
        let kinds: Vec<_> = found.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [RedactionKind::Email, RedactionKind::Phone, RedactionKind::Token]);
        for f in &found {
            assert!(input.is_char_boundary(f.start) && input.is_char_boundary(f.end));
        }
    }

    #[test]
    fn arbitrary_text_gives_sound_findings() {
        // A fixed pseudo-random walk over the characters the finders care about.
        let alphabet: Vec<char> =
            "aZ_-+=./:@#()? \n0123456789០១២៣៤៥៦៧៨៩ខ្ញុំចម្រៀងmolt_sk-eyJBearer".chars().collect();
        let mut seed: u64 = 0x5eed;
        for _ in 0..2000 {
            let len = (seed % 60) as usize;
            let text: String = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect();
            let (out, found) = redact(&text);
            let mut at = 0;
            let mut rebuilt = String::new();
            for f in &found {
                assert!(at <= f.start && f.start < f.end && f.end <= text.len(), "{text:?}: {found:?}");
                assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
                rebuilt.push_str(&text[at..f.start]);
                rebuilt.push_str(f.kind.placeholder());
                at = f.end;
            }
            rebuilt.push_str(&text[at..]);
            assert_eq!(out, rebuilt);
        }
    }

    #[test]
    fn redaction_is_idempotent_and_total() {
        for text in ["", "   ", "@", "+", "(", "::://", "a@", "@b.cc", "+855", "ខ្ញុំ", "bearer", "password="]
        {
            let once = r(text);
            assert_eq!(r(&once), once, "{text:?}");
        }
        let once = r("x dara@example.com +855 12 345 678 molt_abcdef123456");
        assert_eq!(r(&once), once);
    }
}
