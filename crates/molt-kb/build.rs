//! Embeds the starter knowledge base (`kb/starter/*.md`) into the binary, so a
//! fresh data directory can be seeded without the source tree.

use std::fs;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("../../kb/starter");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("kb/starter exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    let mut out = String::from("pub(crate) static STARTER: &[(&str, &[u8])] = &[\n");
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        out.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", file.canonicalize().unwrap()));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("starter.rs");
    fs::write(dest, out).expect("write starter.rs");
}
