//! Khmer normalisation never panics and is idempotent, on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let once = molt_khmer::normalize(text);
        assert_eq!(molt_khmer::normalize(&once), once, "normalize is idempotent");
        let index = molt_khmer::normalize_for_index(text);
        assert_eq!(molt_khmer::normalize_for_index(&index), index, "normalize_for_index is idempotent");
    }
});
