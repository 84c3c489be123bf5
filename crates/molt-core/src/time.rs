//! Times are UTC and stored as `YYYY-MM-DDTHH:MM:SS.fffZ`, which sorts
//! correctly as text (the same format SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ')` writes).

use chrono::{DateTime, Utc};

pub fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn now_stamp() -> String {
    stamp(Utc::now())
}

/// A stamp (or any RFC 3339 time) read back; `None` when it is not one.
pub fn parse_stamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The latest time a stamp may hold: a later one has a longer year and would
/// sort before earlier stamps as text.
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 999_000_000).expect("9999-12-31T23:59:59.999Z")
}

/// The earliest, for the same reason (year 0000).
pub fn earliest() -> DateTime<Utc> {
    DateTime::from_timestamp(-62_167_219_200, 0).expect("0000-01-01T00:00:00Z")
}

/// `t + d`, at most [`latest`]: an enormous wait means "never", not an
/// overflow or a stamp that sorts wrong.
pub fn add_capped(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .map_or_else(latest, |later| later.min(latest()))
}

/// `t - d`, at least [`earliest`].
pub fn sub_capped(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .map_or_else(earliest, |sooner| sooner.max(earliest()))
}

/// `now + secs` (negative for the past), as a stamp.
pub fn stamp_in(secs: f64) -> String {
    stamp(Utc::now() + chrono::Duration::milliseconds((secs * 1000.0) as i64))
}

/// The UTC day `days` days before now (0: today), as `YYYY-MM-DD`.
pub fn day_ago(days: i64) -> String {
    (Utc::now() - chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn capped_arithmetic_stays_within_four_digit_years() {
        use std::time::Duration;
        let now = chrono::Utc::now();
        let never = super::add_capped(now, Duration::MAX);
        assert_eq!(super::stamp(never), "9999-12-31T23:59:59.999Z");
        assert!(super::stamp(now) < super::stamp(never));
        assert_eq!(super::add_capped(now, Duration::from_secs(60)), now + chrono::Duration::seconds(60));
        assert_eq!(super::stamp(super::sub_capped(now, Duration::MAX)), "0000-01-01T00:00:00.000Z");
        assert_eq!(super::sub_capped(now, Duration::from_secs(1)), now - chrono::Duration::seconds(1));
    }

    #[test]
    fn stamps_sort_as_text() {
        let a = super::stamp_in(-1.0);
        let b = super::now_stamp();
        let c = super::stamp_in(0.5);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(b.len(), 24);
    }

    #[test]
    fn stamps_read_back_to_the_millisecond() {
        let t = chrono::DateTime::from_timestamp_millis(1_795_370_400_123).unwrap();
        assert_eq!(super::parse_stamp(&super::stamp(t)), Some(t));
        assert_eq!(super::parse_stamp("2026-11-20 18:00"), None);
    }

    #[test]
    fn days_are_the_stamps_date_part() {
        let today = super::day_ago(0);
        assert_eq!(today.len(), 10);
        assert!(super::now_stamp().starts_with(&today) || super::now_stamp() > today);
        assert!(super::day_ago(30) < today && super::day_ago(-1) > today);
    }
}
