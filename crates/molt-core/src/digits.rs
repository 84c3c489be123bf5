//! Khmer digits (U+17E0–U+17E9) are accepted wherever Arabic digits are.

/// Replace every Khmer digit with its ASCII counterpart; other characters are kept.
pub fn khmer_to_ascii_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{17E0}'..='\u{17E9}' => char::from(b'0' + (c as u32 - 0x17E0) as u8),
            other => other,
        })
        .collect()
}

/// Parse an unsigned integer written with ASCII or Khmer digits.
pub fn parse_u32(text: &str) -> Option<u32> {
    let ascii = khmer_to_ascii_digits(text.trim());
    if ascii.is_empty() || !ascii.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ascii.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn khmer_digits_parse_like_arabic_ones() {
        assert_eq!(parse_u32("១៩៦៧"), Some(1967));
        assert_eq!(parse_u32("1967"), Some(1967));
        assert_eq!(parse_u32(" ២0២៦ "), Some(2026));
        assert_eq!(parse_u32("19a7"), None);
        assert_eq!(parse_u32("-1"), None);
        assert_eq!(parse_u32(""), None);
    }
}
