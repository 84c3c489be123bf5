//! Fuzzes the plain text importer: any bytes must import or be rejected without panicking, and whatever
//! imports must export → import → export to the same bytes (see `molt_lyrics::check_round_trip`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use molt_lyrics::{check_round_trip, Format};

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = check_round_trip(data, Format::Txt) {
        panic!("{broken}");
    }
});
