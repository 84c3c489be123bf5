//! Khmer digits (U+17E0–U+17E9) ⇄ ASCII digits.
//!
//! Khmer text writes numbers with its own digits (`២០២៦`); parsers must accept them
//! wherever ASCII digits are accepted, so convert before parsing.

const KHMER_ZERO: u32 = 0x17E0;

/// Replaces Khmer digits by ASCII digits, leaving everything else as is,
/// so `"ឆ្នាំ២០២៦".parse` style code can read the number.
pub fn khmer_digits_to_ascii(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{17E0}'..='\u{17E9}' => char::from(b'0' + (c as u32 - KHMER_ZERO) as u8),
            _ => c,
        })
        .collect()
}

/// Replaces ASCII digits by Khmer digits, for display in Khmer text.
pub fn ascii_digits_to_khmer(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(KHMER_ZERO + (c as u32 - '0' as u32)).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(khmer_digits_to_ascii("២០២៦"), "2026");
        assert_eq!(khmer_digits_to_ascii("ឆ្នាំ១៩៦០ and 7"), "ឆ្នាំ1960 and 7");
        assert_eq!(ascii_digits_to_khmer("2026"), "២០២៦");
        assert_eq!(khmer_digits_to_ascii(&ascii_digits_to_khmer("0123456789x")), "0123456789x");
        assert_eq!(khmer_digits_to_ascii("២០២៦").parse::<u32>().unwrap(), 2026);
    }
}
