//! Covers end to end with the real fonts: golden image, Khmer shaping,
//! determinism, sizes, missing fonts and glyphs, escaping, fitting.
//!
//! Without the fonts (`scripts/setup.sh` installs them) each test prints
//! `SKIPPED: …` and passes. Set `MOLT_UPDATE_GOLDEN=1` to rewrite the golden image.

use molt_art::fonts::{MUOL_LIGHT, NOTO_SANS_KHMER};
use molt_art::{ArtError, CoverSpec, FontLibrary, Format, LocalArtist, Typesetter};
use molt_pipeline::provider::{Provider, Usage};
use molt_pipeline::stages::ArtInput;
use resvg::{tiny_skia, usvg};
use skrifa::MetadataProvider as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn typesetter_for(dirs: &[PathBuf]) -> Typesetter {
    Typesetter::new(FontLibrary::load(dirs), Arc::new(molt_khmer::Segmenter::with_names(None)))
}

/// The typesetter over the system fonts, or `None` (after saying so) without them.
fn typesetter() -> Option<Typesetter> {
    let typesetter = typesetter_for(&[PathBuf::from(molt_art::DEFAULT_FONT_DIR)]);
    match typesetter.fonts().require_all() {
        Ok(()) => Some(typesetter),
        Err(e) => {
            println!("SKIPPED: {e}");
            None
        }
    }
}

fn champa() -> CoverSpec {
    CoverSpec {
        title: "ចម្ប៉ាបាត់ដំបង".into(),
        title_latin: Some("Champa Battambang".into()),
        artist: "Sinn Sisamouth".into(),
        year: Some(1964),
        genre: Some("romvong".into()),
    }
}

fn sothea() -> CoverSpec {
    CoverSpec {
        title: "ឆ្នាំអូនដប់ប្រាំមួយ".into(),
        title_latin: None,
        artist: "Ros Sereysothea".into(),
        year: Some(1972),
        genre: Some("cambodian rock".into()),
    }
}

fn tree(typesetter: &Typesetter, svg: &str) -> usvg::Tree {
    let options = usvg::Options { fontdb: typesetter.fonts().database(), ..usvg::Options::default() };
    usvg::Tree::from_str(svg, &options).expect("the cover's SVG parses")
}

/// Every text node of `group`, depth first.
fn texts(group: &usvg::Group) -> Vec<&usvg::Text> {
    let mut out = Vec::new();
    for node in group.children() {
        match node {
            usvg::Node::Text(text) => out.push(text.as_ref()),
            usvg::Node::Group(g) => out.extend(texts(g)),
            _ => {}
        }
    }
    out
}

fn content(text: &usvg::Text) -> String {
    text.chunks().iter().map(|c| c.text()).collect()
}

#[test]
fn the_square_cover_matches_the_golden_image() {
    let Some(typesetter) = typesetter() else { return };
    let cover = typesetter.render(&champa(), Format::Square).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/champa-battambang-square.png");
    if std::env::var_os("MOLT_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &cover.png).unwrap();
    }
    let expected = tiny_skia::Pixmap::decode_png(&std::fs::read(&golden).unwrap()).unwrap();
    let actual = tiny_skia::Pixmap::decode_png(&cover.png).unwrap();
    assert_eq!((actual.width(), actual.height()), (expected.width(), expected.height()));
    // Font versions and anti-aliasing may move edges by a pixel: allow a little
    // noise, never a different picture.
    let (mut differing, mut total) = (0usize, 0u64);
    for (a, e) in actual.data().chunks(4).zip(expected.data().chunks(4)) {
        let diff = a.iter().zip(e).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
        total += u64::from(diff);
        if diff > 48 {
            differing += 1;
        }
    }
    let pixels = (actual.width() * actual.height()) as usize;
    let mean = total as f64 / pixels as f64;
    assert!(differing * 200 < pixels, "{differing} of {pixels} pixels differ from the golden image");
    assert!(mean < 2.0, "mean difference {mean:.2} from the golden image");
}

/// The glyph each character maps to on its own (no shaping), in the face `id`.
fn unshaped(db: &usvg::fontdb::Database, id: usvg::fontdb::ID, text: &str) -> Vec<u32> {
    db.with_face_data(id, |data, index| {
        let font = skrifa::FontRef::from_index(data, index).unwrap();
        text.chars().map(|c| font.charmap().map(c).map_or(0, |g| g.to_u32())).collect()
    })
    .unwrap()
}

fn shaped(text: &usvg::Text) -> (Vec<u32>, usvg::fontdb::ID) {
    let glyphs: Vec<&usvg::layout::PositionedGlyph> =
        text.layouted().iter().flat_map(|span| &span.positioned_glyphs).collect();
    (glyphs.iter().map(|g| g.id.0).collect(), glyphs[0].font)
}

#[test]
fn khmer_coeng_clusters_are_shaped_not_drawn_letter_by_letter() {
    let Some(typesetter) = typesetter() else { return };
    let word = "ស្ត្រី";
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200"><text x="10" y="150" font-family="'{NOTO_SANS_KHMER}'" font-size="100">{word}</text></svg>"#
    );
    let tree = tree(&typesetter, &svg);
    let (glyphs, font) = shaped(texts(tree.root())[0]);
    let db = typesetter.fonts().database();
    let face = db.face(font).unwrap();
    assert!(face.families.iter().any(|(f, _)| f == NOTO_SANS_KHMER), "{:?}", face.families);
    let letters = unshaped(&db, font, word);
    // ស ្ ត ្ រ ី: the shaper substitutes the subscript forms of ត and រ (glyphs
    // no single character maps to) and draws the subscript រ before the base.
    assert_ne!(glyphs, letters, "the text was drawn letter by letter");
    assert!(glyphs.iter().any(|g| !letters.contains(g)), "no subscript form in {glyphs:?} ({letters:?})");
    assert_ne!(glyphs[0], letters[0], "the subscript ro must come before the base: {glyphs:?}");
    assert!(glyphs.iter().all(|g| *g != 0), "a missing glyph in {glyphs:?}");
}

#[test]
fn the_title_on_the_cover_is_set_in_its_display_face_and_shaped() {
    let Some(typesetter) = typesetter() else { return };
    let spec = CoverSpec { title: "ស្ត្រីចម្ប៉ា".into(), ..champa() };
    let tree = tree(&typesetter, &typesetter.svg(&spec, Format::Square).unwrap());
    let title =
        texts(tree.root()).into_iter().find(|t| content(t) == spec.title).expect("the title, on one line");
    let (glyphs, font) = shaped(title);
    let db = typesetter.fonts().database();
    assert!(
        db.face(font).unwrap().families.iter().any(|(f, _)| f == MUOL_LIGHT),
        "1964 romvong is set in Muol"
    );
    let letters = unshaped(&db, font, &spec.title);
    assert_ne!(glyphs, letters);
    assert!(glyphs.iter().all(|g| *g != 0), "a missing glyph in {glyphs:?}");
}

#[test]
fn the_same_song_always_gives_the_same_bytes() {
    let Some(first) = typesetter() else { return };
    let second = typesetter_for(&[PathBuf::from(molt_art::DEFAULT_FONT_DIR)]);
    for format in Format::ALL {
        let a = first.render(&sothea(), format).unwrap();
        assert_eq!(a, first.render(&sothea(), format).unwrap());
        assert_eq!(a, second.render(&sothea(), format).unwrap(), "a fresh font library gives the same PNG");
    }
}

#[test]
fn covers_come_square_and_vertical_and_differ_between_songs() {
    let Some(typesetter) = typesetter() else { return };
    for (format, size) in [(Format::Square, (1080, 1080)), (Format::Vertical, (1080, 1920))] {
        let cover = typesetter.render(&champa(), format).unwrap();
        let image = tiny_skia::Pixmap::decode_png(&cover.png).unwrap();
        assert_eq!((image.width(), image.height()), size);
        assert_eq!((cover.width, cover.height), size);
        assert!(cover.png.len() < 500_000, "{} bytes", cover.png.len());
    }
    let one = typesetter.render(&champa(), Format::Square).unwrap();
    let other =
        CoverSpec { title: "បុប្ផាឧដុង្គ".into(), title_latin: None, ..champa() };
    assert_ne!(one.png, typesetter.render(&other, Format::Square).unwrap().png);
    assert_ne!(typesetter.style(&champa()), typesetter.style(&sothea()));
}

#[test]
fn a_missing_font_is_an_error_naming_it_and_its_package() {
    let Some(_) = typesetter() else { return };
    // Only the Noto fonts: Khmer OS (fonts-khmeros) is missing.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir("/usr/share/fonts/truetype/noto").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("NotoSans") || name.starts_with("NotoSerif") {
            std::os::unix::fs::symlink(&path, dir.path().join(name)).unwrap();
        }
    }
    let typesetter = typesetter_for(&[dir.path().to_path_buf()]);
    let err = typesetter.render(&champa(), Format::Square).unwrap_err();
    match &err {
        ArtError::MissingFont { family, package, .. } => {
            assert_eq!((family.as_str(), package.as_str()), (MUOL_LIGHT, "fonts-khmeros"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("install the Debian package `fonts-khmeros`"), "{err}");
    // Songs whose style needs only Noto still render; the provider refuses to start.
    let karaoke = CoverSpec { year: Some(1998), genre: None, ..sothea() };
    assert!(typesetter.render(&karaoke, Format::Square).is_ok());
    let refused = LocalArtist::new(Arc::new(typesetter)).err().unwrap();
    assert!(matches!(refused, ArtError::MissingFont { .. }), "{refused:?}");
}

#[test]
fn text_no_font_can_draw_is_refused_instead_of_shown_as_boxes() {
    let Some(typesetter) = typesetter() else { return };
    let spec = CoverSpec { title: "ចម្ប៉ា 🎵".into(), ..champa() };
    match typesetter.render(&spec, Format::Square).unwrap_err() {
        ArtError::MissingGlyph { field, ch, code, .. } => {
            assert_eq!((field, ch, code), ("title", '🎵', 0x1F3B5))
        }
        other => panic!("{other:?}"),
    }
    let thai_artist = CoverSpec { artist: "สุนทราภรณ์".into(), ..champa() };
    let err = typesetter.render(&thai_artist, Format::Square).unwrap_err();
    assert!(err.to_string().contains("artist contains 'ส'"), "{err}");
}

#[test]
fn markup_in_song_data_is_text_not_svg() {
    let Some(typesetter) = typesetter() else { return };
    let spec = CoverSpec {
        title: r#"<script>alert("x")</script> & 'quotes'"#.into(),
        title_latin: Some("]]> <!-- &amp; -->".into()),
        artist: r#"A "B" & <C/>"#.into(),
        year: Some(1965),
        genre: None,
    };
    let svg = typesetter.svg(&spec, Format::Square).unwrap();
    assert!(!svg.contains("<script") && !svg.contains("<C/>") && !svg.contains("<!--"), "{svg}");
    // The parsed texts are exactly the song's: escaped once, not lost or doubled.
    let tree = tree(&typesetter, &svg);
    let shown: Vec<String> = texts(tree.root()).into_iter().map(content).collect();
    // (A long title may wrap: its lines together are the title.)
    let joined = shown.concat();
    for (word, expected) in [
        ("<script>alert(\"x\")</script>", true),
        ("& 'quotes'", true),
        ("]]> <!-- &amp; -->", true),
        ("&amp;amp;", false),
    ] {
        assert_eq!(joined.contains(word), expected, "{word} in {shown:?}");
    }
    assert!(shown.iter().any(|s| s == r#"A "B" & <C/>"#.to_uppercase().as_str()), "{shown:?}");
    assert!(typesetter.render(&spec, Format::Square).is_ok());
}

#[test]
fn long_titles_wrap_and_shrink_inside_the_canvas() {
    let Some(typesetter) = typesetter() else { return };
    let long = CoverSpec {
        title: "ខ្ញុំនឹកស្មានមិនដល់ថាអូនចិត្តដាច់ពីបងទៅរៀបការជាមួយអ្នកដទៃដែលមានទ្រព្យសម្បត្តិច្រើនជាងបង".repeat(3),
        title_latin: None,
        artist: "Sinn Sisamouth and the Orchestra of the Royal Cambodian Radio, Phnom Penh".into(),
        year: Some(1967),
        genre: Some("saravan".into()),
    };
    let unbroken = CoverSpec { title: "W".repeat(140), ..long.clone() };
    for spec in [long, unbroken] {
        for format in Format::ALL {
            let (width, height) = format.size();
            let tree = tree(&typesetter, &typesetter.svg(&spec, format).unwrap());
            let shown = texts(tree.root());
            assert!(shown.len() >= 5, "the title wraps onto several lines");
            for text in shown {
                let b = text.abs_stroke_bounding_box();
                let margin = 40.0;
                assert!(
                    b.left() >= margin && b.right() <= width as f32 - margin && b.bottom() <= height as f32,
                    "{:?} leaves the text area: {b:?}",
                    content(text)
                );
            }
            typesetter.render(&spec, format).unwrap();
        }
    }
}

#[test]
fn the_romanised_title_comes_from_the_song_or_the_khmer() {
    let Some(typesetter) = typesetter() else { return };
    let texts_of = |spec: &CoverSpec| typesetter.texts(spec, &typesetter.style(spec)).unwrap();
    assert_eq!(texts_of(&champa()).latin.as_deref(), Some("Champa Battambang"));
    let made = texts_of(&sothea()).latin.unwrap();
    assert!(made.starts_with("Chhnam"), "{made}");
    let latin_title = CoverSpec { title: "Jeas Cyclo".into(), ..sothea() };
    assert_eq!(texts_of(&latin_title).latin, None, "a Latin title needs no romanisation");
    let footer = texts_of(&sothea()).footer.unwrap();
    assert_eq!(footer, "1972 · KHMER REPUBLIC ERA · CAMBODIAN ROCK");
    assert!(matches!(
        typesetter.texts(&CoverSpec { title: " \n".into(), ..champa() }, &typesetter.style(&champa())),
        Err(ArtError::Input(_))
    ));
}

#[tokio::test]
async fn the_provider_returns_both_sizes_with_the_square_as_the_main_image() {
    let Some(typesetter) = typesetter() else { return };
    let artist = LocalArtist::new(Arc::new(typesetter)).unwrap();
    assert_eq!(artist.id().to_string(), "local_artist:typeset");
    let input = ArtInput {
        title: "ចម្ប៉ាបាត់ដំបង".into(),
        title_latin: Some("Champa Battambang".into()),
        artist: "Sinn Sisamouth".into(),
        year: Some(1964),
        genre: Some("romvong".into()),
    };
    assert_eq!(artist.estimate(&input), Usage { unit_kind: "image", units: 2.0 });
    let (output, usage) = artist.call(&input).await.unwrap();
    assert_eq!(usage, Usage { unit_kind: "image", units: 2.0 });
    assert!(!output.placeholder);
    assert_eq!(output.mime, "image/png");
    let shapes: Vec<(&str, u32, u32)> =
        output.images.iter().map(|i| (i.label.as_str(), i.width, i.height)).collect();
    assert_eq!(shapes, vec![("square", 1080, 1080), ("vertical", 1080, 1920)]);
    assert_eq!(output.image_base64, output.images[0].image_base64, "older readers get the square image");
    let bad = ArtInput { title: "🎵".into(), ..input };
    let err = artist.call(&bad).await.unwrap_err();
    assert_eq!(err.class, molt_core::ErrorClass::SchemaData, "{}", err.message);
}
