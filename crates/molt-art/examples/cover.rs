//! Renders a cover to look at:
//! `cargo run -p molt-art --example cover -- OUT_PREFIX TITLE ARTIST [YEAR] [GENRE] [TITLE_LATIN]`
//! writes `OUT_PREFIX-square.png` and `OUT_PREFIX-vertical.png` (and the SVGs).

use molt_art::{CoverSpec, FontLibrary, Format, Typesetter};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [prefix, title, artist, rest @ ..] = args.as_slice() else {
        return Err("usage: cover OUT_PREFIX TITLE ARTIST [YEAR] [GENRE] [TITLE_LATIN]".into());
    };
    let arg = |i: usize| rest.get(i).filter(|s| !s.is_empty() && *s != "-").cloned();
    let spec = CoverSpec {
        title: title.clone(),
        artist: artist.clone(),
        year: arg(0).map(|y| y.parse()).transpose()?,
        genre: arg(1),
        title_latin: arg(2),
    };
    let fonts = FontLibrary::load(&[molt_art::DEFAULT_FONT_DIR.into()]);
    let typesetter = Typesetter::new(fonts, Arc::new(molt_khmer::Segmenter::with_names(None)));
    let style = typesetter.style(&spec);
    println!("{:?} {:?} {} {:?}", style.era, style.genre, style.palette.name, style.motif);
    for format in Format::ALL {
        let started = std::time::Instant::now();
        let cover = typesetter.render(&spec, format)?;
        let path = format!("{prefix}-{}.png", format.label());
        std::fs::write(&path, &cover.png)?;
        std::fs::write(format!("{prefix}-{}.svg", format.label()), typesetter.svg(&spec, format)?)?;
        println!("{path}: {} bytes in {:?}", cover.png.len(), started.elapsed());
    }
    Ok(())
}
