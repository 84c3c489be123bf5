//! Writing and reading the time stamps of the formats.

use crate::model::MAX_TIME_MS;

/// `HH:MM:SS<sep>mmm` (SRT uses `,`, WebVTT and TTML `.`). Hours take two digits up to
/// [`MAX_TIME_MS`].
pub(crate) fn hms(ms: u64, sep: char) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{milli:03}")
}

/// The LRC body of a time tag, `mm:ss.xx`: centiseconds, truncated (never rounded up, so a time never
/// moves later and the last representable millisecond stays in range). Minutes take at least two
/// digits and as many more as they need (`100:00.00`).
pub(crate) fn lrc(ms: u64) -> String {
    let cs = ms / 10;
    let (m, rest) = (cs / 6000, cs % 6000);
    let (s, c) = (rest / 100, rest % 100);
    format!("{m:02}:{s:02}.{c:02}")
}

/// Milliseconds truncated to LRC's centiseconds.
pub(crate) fn lrc_quantise(ms: u64) -> u64 {
    ms / 10 * 10
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Digits to a number, saturating (the callers range-check the result).
fn number(s: &str) -> u64 {
    s.bytes().fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0')))
}

/// Parses the inside of an LRC time tag: `m…m:ss`, optionally followed by `.f`, `.ff` or `.fff`
/// (tenths, hundredths or thousandths). Minutes may have any number of digits up to a value of 5999.
pub(crate) fn parse_lrc(body: &str) -> Result<u64, String> {
    let bad = || format!("bad timestamp {:?}: expected mm:ss.xx", crate::text::snippet(body));
    let (minutes, rest) = body.split_once(':').ok_or_else(bad)?;
    let (seconds, fraction) = match rest.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (rest, None),
    };
    if !all_digits(minutes) || seconds.len() != 2 || !all_digits(seconds) {
        return Err(bad());
    }
    let frac_ms = match fraction {
        None => 0,
        Some(f) if (1..=3).contains(&f.len()) && all_digits(f) => number(f) * 10u64.pow(3 - f.len() as u32),
        Some(_) => return Err(bad()),
    };
    let (m, s) = (number(minutes), number(seconds));
    let max_minutes = MAX_TIME_MS / 60_000;
    if m > max_minutes {
        return Err(format!("minutes out of range in {body:?}: at most {max_minutes}"));
    }
    if s > 59 {
        return Err(format!("seconds out of range in {body:?}: 00-59"));
    }
    Ok(m * 60_000 + s * 1000 + frac_ms)
}

/// Parses an SRT time, `H…H:MM:SS,mmm` (a `.` is accepted for the `,`). Hours may have any number of
/// digits up to a value of 99; minutes and seconds take two digits, milliseconds three.
pub(crate) fn parse_srt(s: &str) -> Result<u64, String> {
    let bad = || format!("bad timestamp {:?}: expected HH:MM:SS,mmm", crate::text::snippet(s));
    let mut parts = s.splitn(3, ':');
    let (h, m, rest) = match (parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(m), Some(rest)) => (h, m, rest),
        _ => return Err(bad()),
    };
    let (sec, milli) = rest.split_once([',', '.']).ok_or_else(bad)?;
    if !all_digits(h) || m.len() != 2 || !all_digits(m) || sec.len() != 2 || !all_digits(sec) {
        return Err(bad());
    }
    if milli.len() != 3 || !all_digits(milli) {
        return Err(bad());
    }
    let (h, m, sec, milli) = (number(h), number(m), number(sec), number(milli));
    if h > 99 {
        return Err(format!("hours out of range in {s:?}: at most 99"));
    }
    if m > 59 {
        return Err(format!("minutes out of range in {s:?}: 00-59"));
    }
    if sec > 59 {
        return Err(format!("seconds out of range in {s:?}: 00-59"));
    }
    Ok(h * 3_600_000 + m * 60_000 + sec * 1000 + milli)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(hms(0, ','), "00:00:00,000");
        assert_eq!(hms(MAX_TIME_MS, '.'), "99:59:59.999");
        assert_eq!(lrc(12_345), "00:12.34");
        assert_eq!(lrc(6_000_000), "100:00.00");
        assert_eq!(lrc(MAX_TIME_MS), "5999:59.99");
    }

    #[test]
    fn parses_lrc_times() {
        assert_eq!(parse_lrc("00:12.34"), Ok(12_340));
        assert_eq!(parse_lrc("0:12"), Ok(12_000));
        assert_eq!(parse_lrc("01:02.5"), Ok(62_500));
        assert_eq!(parse_lrc("01:02.345"), Ok(62_345));
        assert_eq!(parse_lrc("100:00.00"), Ok(6_000_000));
        assert_eq!(parse_lrc("5999:59.999"), Ok(MAX_TIME_MS));
        assert!(parse_lrc("6000:00.00").unwrap_err().contains("minutes out of range"));
        assert!(parse_lrc("99999999999999999999999:00").unwrap_err().contains("minutes out of range"));
        assert!(parse_lrc("00:60.00").unwrap_err().contains("seconds out of range"));
        for bad in ["00:1.00", "00:12.", "00:12.3456", "00:12:34", "ab:12", ":12", "00:+1.00", "00:12.x"] {
            assert!(parse_lrc(bad).unwrap_err().starts_with("bad timestamp"), "{bad}");
        }
    }

    #[test]
    fn parses_srt_times() {
        assert_eq!(parse_srt("01:02:03,456"), Ok(3_723_456));
        assert_eq!(parse_srt("1:02:03.456"), Ok(3_723_456));
        assert_eq!(parse_srt("99:59:59,999"), Ok(MAX_TIME_MS));
        assert!(parse_srt("100:00:00,000").unwrap_err().contains("hours out of range"));
        assert!(parse_srt("00:60:00,000").unwrap_err().contains("minutes out of range"));
        assert!(parse_srt("00:00:60,000").unwrap_err().contains("seconds out of range"));
        for bad in ["00:00:00", "00:00:00,00", "00:0:00,000", "0:00:00,0000", "a:00:00,000", "00:00,000"] {
            assert!(parse_srt(bad).unwrap_err().starts_with("bad timestamp"), "{bad}");
        }
    }
}
