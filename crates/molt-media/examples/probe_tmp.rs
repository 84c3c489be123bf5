fn main() {
    for p in std::env::args().skip(1) {
        let r = molt_media::probe_file(std::path::Path::new(&p), &molt_media::AudioLimits::default());
        match r {
            Ok(i) => println!("{p}: OK {i:?}"),
            Err(e) => println!("{p}: ERR {} — {e}", e.code()),
        }
    }
}
