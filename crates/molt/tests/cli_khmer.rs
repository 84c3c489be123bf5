//! `molt khmer` for learners and operators.

mod common;

use common::{stdout, Studio};

#[test]
fn normalize_segment_and_romanize_from_the_cli() {
    let studio = Studio::new();
    // COENG RO typed before COENG TA looks the same and normalises to the canonical order.
    let a = stdout(&studio.run(["khmer", "normalize", "ស្រ្តី"]));
    let b = stdout(&studio.run(["khmer", "normalize", "ស្ត្រី"]));
    assert_eq!(a, b);
    assert_eq!(a.trim(), "ស្ត្រី");
    let zw = stdout(&studio.run(["khmer", "normalize", "--index", "ខ្ញុំ\u{200b}ស្រលាញ់"]));
    assert_eq!(zw.trim(), "ខ្ញុំស្រលាញ់");

    assert_eq!(stdout(&studio.run(["khmer", "segment", "ចម្ប៉ាបាត់ដំបង"])).trim(), "ចម្ប៉ា បាត់ដំបង");
    let latin = stdout(&studio.run(["khmer", "romanize", "ចម្ប៉ាបាត់ដំបង"]));
    assert!(latin.trim().starts_with("champa bat"), "{latin}");

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&studio.run(["khmer", "segment", "--json", "ស៊ីន ស៊ីសាមុត"]))).unwrap();
    assert_eq!(json["output"], serde_json::json!(["ស៊ីន", "ស៊ីសាមុត"]));
}
