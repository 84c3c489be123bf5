//! When a schedule is due, written as text: `every 60s` (or `5m`, `1h`),
//! `daily HH:MM`, `weekly <mon..sun> HH:MM`, all in UTC.
//!
//! Every spec is a period and an offset in Unix seconds: the due times are
//! `offset + k × period` for every integer `k`. Unix time has no leap seconds
//! and UTC no daylight saving, so the arithmetic is exact:
//! - `every N`: period N, offset 0 (multiples of N since 1970-01-01T00:00Z,
//!   so `every 5m` is due at :00, :05, … whenever the process started);
//! - `daily HH:MM`: period one day, offset HH:MM after midnight;
//! - `weekly DAY HH:MM`: period one week, offset from a Monday midnight (1970-01-05).

use chrono::{DateTime, Utc, Weekday};
use std::fmt;
use std::str::FromStr;

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
/// 1970-01-05, the first Monday after the Unix epoch (a Thursday), in seconds.
const FIRST_MONDAY: i64 = 4 * DAY;
/// The longest `every`: longer periods are `weekly`.
const MAX_EVERY: i64 = WEEK;
/// The most a due time may be late and still be run as due (not missed), for
/// schedules whose period is longer.
const MAX_GRACE: i64 = 10 * MINUTE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Seconds,
    Minutes,
    Hours,
}

impl Unit {
    fn secs(self) -> i64 {
        match self {
            Unit::Seconds => 1,
            Unit::Minutes => MINUTE,
            Unit::Hours => HOUR,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Minutes => "m",
            Unit::Hours => "h",
        }
    }
}

/// A parsed schedule. It prints back as the text it was parsed from, in
/// lower case with single spaces (`every 60s` stays `every 60s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Spec {
    Every { n: u32, unit: Unit },
    Daily { hour: u8, minute: u8 },
    Weekly { day: Weekday, hour: u8, minute: u8 },
}

/// Why a schedule's text is not a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule `{spec}`: {message}")]
pub struct SpecError {
    pub spec: String,
    pub message: String,
}

const FORMS: &str = "expected `every <n>s|m|h`, `daily HH:MM` or `weekly <mon..sun> HH:MM` (UTC)";

impl Spec {
    /// Seconds between two due times.
    pub fn period_secs(&self) -> i64 {
        match *self {
            Spec::Every { n, unit } => i64::from(n) * unit.secs(),
            Spec::Daily { .. } => DAY,
            Spec::Weekly { .. } => WEEK,
        }
    }

    /// The due times are `offset + k × period` (Unix seconds).
    fn offset_secs(&self) -> i64 {
        let clock = |hour: u8, minute: u8| i64::from(hour) * HOUR + i64::from(minute) * MINUTE;
        match *self {
            Spec::Every { .. } => 0,
            Spec::Daily { hour, minute } => clock(hour, minute),
            Spec::Weekly { day, hour, minute } => {
                (FIRST_MONDAY + i64::from(day.num_days_from_monday()) * DAY + clock(hour, minute)) % WEEK
            }
        }
    }

    /// The index `k` of the newest due time at or before `t`.
    fn index_at_or_before(&self, t: DateTime<Utc>) -> i64 {
        // `timestamp()` rounds down (its nanoseconds are never negative), and
        // due times are whole seconds, so a fraction never changes the answer.
        (t.timestamp() - self.offset_secs()).div_euclid(self.period_secs())
    }

    fn at_index(&self, k: i64) -> DateTime<Utc> {
        let secs = self.offset_secs().saturating_add(k.saturating_mul(self.period_secs()));
        DateTime::from_timestamp(secs, 0)
            .map_or_else(molt_core::time::latest, |t| t.min(molt_core::time::latest()))
    }

    /// The first due time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.at_index(self.index_at_or_before(t) + 1)
    }

    /// The newest due time at or before `t`.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.at_index(self.index_at_or_before(t))
    }

    /// How many due times lie in `(a, b]` (0 when `b <= a`).
    pub fn count_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
        let n = self.index_at_or_before(b) - self.index_at_or_before(a);
        n.max(0) as u64
    }

    /// How late a due time may be run and still count as due rather than
    /// missed: one period, at most 10 minutes. `every 60s` is due for a minute,
    /// `daily`/`weekly` (and `every 1h`) for 10 minutes.
    pub fn grace(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.period_secs().min(MAX_GRACE))
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Spec::Every { n, unit } => write!(f, "every {n}{}", unit.suffix()),
            Spec::Daily { hour, minute } => write!(f, "daily {hour:02}:{minute:02}"),
            Spec::Weekly { day, hour, minute } => {
                write!(f, "weekly {} {hour:02}:{minute:02}", day_name(day))
            }
        }
    }
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn parse_day(word: &str) -> Option<Weekday> {
    const DAYS: [(&str, &str, Weekday); 7] = [
        ("mon", "monday", Weekday::Mon),
        ("tue", "tuesday", Weekday::Tue),
        ("wed", "wednesday", Weekday::Wed),
        ("thu", "thursday", Weekday::Thu),
        ("fri", "friday", Weekday::Fri),
        ("sat", "saturday", Weekday::Sat),
        ("sun", "sunday", Weekday::Sun),
    ];
    DAYS.iter().find(|(short, long, _)| word == *short || word == *long).map(|(_, _, d)| *d)
}

/// `HH:MM` (or `H:MM`), 00:00 to 23:59.
fn parse_clock(word: &str) -> Result<(u8, u8), String> {
    let shape = format!("`{word}` is not a time of day: expected HH:MM, 00:00 to 23:59 (UTC)");
    let (h, m) = word.split_once(':').ok_or_else(|| shape.clone())?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(h) && digits(m) && h.len() <= 2 && m.len() == 2) {
        return Err(shape);
    }
    let (hour, minute): (u8, u8) =
        (h.parse().map_err(|_| shape.clone())?, m.parse().map_err(|_| shape.clone())?);
    if hour > 23 {
        return Err(format!("`{word}`: the hour must be 00 to 23"));
    }
    if minute > 59 {
        return Err(format!("`{word}`: the minute must be 00 to 59"));
    }
    Ok((hour, minute))
}

/// `60s`, `5m`, `1h`.
fn parse_interval(word: &str) -> Result<(u32, Unit), String> {
    let split = word.find(|c: char| !c.is_ascii_digit()).unwrap_or(word.len());
    let (number, suffix) = word.split_at(split);
    let unit = match suffix {
        "s" => Unit::Seconds,
        "m" => Unit::Minutes,
        "h" => Unit::Hours,
        "" => return Err(format!("`{word}` needs a unit: s, m or h (e.g. `every 60s`)")),
        other => return Err(format!("unknown unit `{other}` in `{word}`: use s, m or h")),
    };
    if number.is_empty() {
        return Err(format!("`{word}` needs a number before its unit (e.g. `every 5m`)"));
    }
    let n: u32 = number.parse().map_err(|_| format!("`{word}` is too long an interval (at most 7 days)"))?;
    if n == 0 {
        return Err("the interval must be at least 1 second".into());
    }
    if i64::from(n) * unit.secs() > MAX_EVERY {
        return Err(format!("`{word}` is longer than 7 days: use `weekly <day> HH:MM`"));
    }
    Ok((n, unit))
}

impl FromStr for Spec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Spec, SpecError> {
        let error = |message: String| SpecError { spec: text.to_string(), message };
        let lower = molt_core::digits::khmer_to_ascii_digits(text).to_ascii_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        let extra = |n: usize| {
            words.get(n).map(|w| error(format!("unexpected `{w}` after `{}`", words[..n].join(" "))))
        };
        let spec = match words.as_slice() {
            [] => return Err(error(format!("it is empty; {FORMS}"))),
            ["every"] => return Err(error("`every` needs an interval, e.g. `every 60s`, `every 5m`".into())),
            ["every", interval, ..] => {
                if let Some(e) = extra(2) {
                    return Err(e);
                }
                let (n, unit) = parse_interval(interval).map_err(error)?;
                Spec::Every { n, unit }
            }
            ["daily"] => return Err(error("`daily` needs a time, e.g. `daily 20:00`".into())),
            ["daily", clock, ..] => {
                if let Some(e) = extra(2) {
                    return Err(e);
                }
                let (hour, minute) = parse_clock(clock).map_err(error)?;
                Spec::Daily { hour, minute }
            }
            ["weekly"] | ["weekly", _] => {
                return Err(error("`weekly` needs a day and a time, e.g. `weekly fri 18:00`".into()))
            }
            ["weekly", day, clock, ..] => {
                if let Some(e) = extra(3) {
                    return Err(e);
                }
                let day = parse_day(day).ok_or_else(|| {
                    error(format!("`{day}` is not a day: use mon, tue, wed, thu, fri, sat or sun"))
                })?;
                let (hour, minute) = parse_clock(clock).map_err(error)?;
                Spec::Weekly { day, hour, minute }
            }
            [first, ..] => return Err(error(format!("unknown kind `{first}`; {FORMS}"))),
        };
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Duration};

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn spec(text: &str) -> Spec {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> String {
        text.parse::<Spec>().unwrap_err().to_string()
    }

    #[test]
    fn specs_print_as_they_were_written() {
        for text in ["every 60s", "every 5m", "every 1h", "daily 20:00", "daily 00:05", "weekly fri 18:00"] {
            assert_eq!(spec(text).to_string(), text);
        }
        assert_eq!(spec("  Weekly  FRIDAY 9:30 ").to_string(), "weekly fri 09:30");
        assert_eq!(spec("daily ២០:០០").to_string(), "daily 20:00", "Khmer digits are digits");
        assert_eq!(spec("every 60s").period_secs(), 60);
        assert_eq!(spec("every 1h").period_secs(), 3600);
        assert_ne!(spec("every 60s"), spec("every 1m"), "written differently, printed differently");
    }

    #[test]
    fn bad_specs_say_precisely_what_is_wrong() {
        assert!(err("").contains("it is empty; expected `every <n>s|m|h`"), "{}", err(""));
        assert!(err("hourly").contains("unknown kind `hourly`"));
        assert!(err("every").contains("needs an interval"));
        assert!(err("every 60").contains("needs a unit: s, m or h"));
        assert!(err("every 5d").contains("unknown unit `d`"));
        assert!(err("every m").contains("needs a number"));
        assert!(err("every 0s").contains("at least 1 second"));
        assert!(err("every 200h").contains("longer than 7 days: use `weekly"));
        assert!(err("every 99999999999s").contains("too long"));
        assert!(err("every 5m now").contains("unexpected `now` after `every 5m`"));
        assert!(err("daily").contains("needs a time"));
        assert!(err("daily 24:00").contains("the hour must be 00 to 23"));
        assert!(err("daily 20:60").contains("the minute must be 00 to 59"));
        assert!(err("daily 8pm").contains("`8pm` is not a time of day"));
        assert!(err("daily 20:0").contains("is not a time of day"));
        assert!(err("weekly fri").contains("needs a day and a time"));
        assert!(err("weekly fry 18:00").contains("`fry` is not a day: use mon"));
        assert!(err("weekly fri 18:00 utc").contains("unexpected `utc`"));
        assert!(err("daily 25:00").starts_with("invalid schedule `daily 25:00`: "));
    }

    #[test]
    fn every_is_aligned_on_the_epoch_and_next_is_strictly_after() {
        let s = spec("every 5m");
        assert_eq!(s.next_after(t("2026-11-16T10:02:13Z")), t("2026-11-16T10:05:00Z"));
        assert_eq!(s.next_after(t("2026-11-16T10:05:00Z")), t("2026-11-16T10:10:00Z"), "strictly after");
        let just_after = t("2026-11-16T10:05:00Z") + Duration::milliseconds(1);
        assert_eq!(s.next_after(just_after), t("2026-11-16T10:10:00Z"));
        let just_before = t("2026-11-16T10:05:00Z") - Duration::milliseconds(1);
        assert_eq!(s.next_after(just_before), t("2026-11-16T10:05:00Z"));
        assert_eq!(s.last_at_or_before(t("2026-11-16T10:05:00Z")), t("2026-11-16T10:05:00Z"));
        assert_eq!(spec("every 7s").next_after(t("1970-01-01T00:00:00Z")), t("1970-01-01T00:00:07Z"));
        // Before the epoch too (Euclidean division).
        assert_eq!(spec("every 1h").next_after(t("1969-12-31T22:30:00Z")), t("1969-12-31T23:00:00Z"));
    }

    #[test]
    fn daily_crosses_midnight_month_and_year_ends() {
        let s = spec("daily 20:00");
        assert_eq!(s.next_after(t("2026-11-16T19:59:59Z")), t("2026-11-16T20:00:00Z"));
        assert_eq!(s.next_after(t("2026-11-16T20:00:00Z")), t("2026-11-17T20:00:00Z"));
        assert_eq!(s.next_after(t("2026-11-30T23:00:00Z")), t("2026-12-01T20:00:00Z"));
        assert_eq!(s.next_after(t("2026-12-31T20:00:00Z")), t("2027-01-01T20:00:00Z"));
        // 2028 is a leap year: 29 February is a day like any other.
        assert_eq!(s.next_after(t("2028-02-28T21:00:00Z")), t("2028-02-29T20:00:00Z"));
        assert_eq!(s.next_after(t("2028-02-29T20:00:00Z")), t("2028-03-01T20:00:00Z"));
        assert_eq!(spec("daily 00:00").next_after(t("2026-11-16T23:59:59Z")), t("2026-11-17T00:00:00Z"));
    }

    #[test]
    fn weekly_finds_the_day_across_week_and_year_ends() {
        let s = spec("weekly fri 18:00");
        // 2026-11-16 is a Monday, 2026-11-20 a Friday.
        assert_eq!(s.next_after(t("2026-11-16T00:00:00Z")), t("2026-11-20T18:00:00Z"));
        assert_eq!(s.next_after(t("2026-11-20T17:59:00Z")), t("2026-11-20T18:00:00Z"));
        assert_eq!(s.next_after(t("2026-11-20T18:00:00Z")), t("2026-11-27T18:00:00Z"));
        assert_eq!(s.next_after(t("2026-11-21T00:00:00Z")), t("2026-11-27T18:00:00Z"));
        assert_eq!(s.next_after(t("2026-12-26T00:00:00Z")), t("2027-01-01T18:00:00Z"));
        let sunday = spec("weekly sun 23:30");
        assert_eq!(sunday.next_after(t("2026-11-22T23:29:00Z")), t("2026-11-22T23:30:00Z"));
        assert_eq!(sunday.next_after(t("2026-11-22T23:30:00Z")), t("2026-11-29T23:30:00Z"));
        let monday = spec("weekly mon 00:00");
        assert_eq!(monday.next_after(t("2026-11-22T23:59:59Z")), t("2026-11-23T00:00:00Z"));
        for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
            let next = spec(&format!("weekly {day} 12:00")).next_after(t("2026-11-16T00:00:00Z"));
            assert_eq!(day_name(next.weekday()), day);
            assert!(next < t("2026-11-23T00:00:00Z"));
        }
    }

    #[test]
    fn due_times_are_counted_in_half_open_windows() {
        let minutely = spec("every 60s");
        let a = t("2026-11-16T10:00:00Z");
        assert_eq!(minutely.count_between(a, a), 0);
        assert_eq!(minutely.count_between(a, a + Duration::seconds(59)), 0);
        assert_eq!(minutely.count_between(a, a + Duration::seconds(60)), 1, "(a, b] includes b");
        assert_eq!(minutely.count_between(a - Duration::seconds(1), a), 1);
        assert_eq!(minutely.count_between(a, a + Duration::days(2)), 2880);
        assert_eq!(minutely.count_between(a + Duration::days(1), a), 0);
        let daily = spec("daily 20:00");
        assert_eq!(daily.count_between(t("2026-11-16T00:00:00Z"), t("2026-11-23T00:00:00Z")), 7);
        assert_eq!(daily.count_between(t("2026-11-16T20:00:00Z"), t("2026-11-18T20:00:00Z")), 2);
        let weekly = spec("weekly fri 18:00");
        assert_eq!(weekly.count_between(t("2026-11-16T00:00:00Z"), t("2026-11-23T00:00:00Z")), 1);
        assert_eq!(weekly.count_between(t("2026-11-16T00:00:00Z"), t("2027-11-15T00:00:00Z")), 52);
        // A year of days, leap day included, is 366 due times.
        assert_eq!(daily.count_between(t("2028-01-01T00:00:00Z"), t("2029-01-01T00:00:00Z")), 366);
    }

    #[test]
    fn grace_is_one_period_at_most_ten_minutes() {
        assert_eq!(spec("every 60s").grace(), Duration::seconds(60));
        assert_eq!(spec("every 5m").grace(), Duration::minutes(5));
        assert_eq!(spec("every 1h").grace(), Duration::minutes(10));
        assert_eq!(spec("daily 20:00").grace(), Duration::minutes(10));
        assert_eq!(spec("weekly fri 18:00").grace(), Duration::minutes(10));
    }
}
