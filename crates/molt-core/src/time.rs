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
