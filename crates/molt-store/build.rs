//! Embeds `migrations/sqlite/*.sql` into the binary, so a deployed `molt`
//! carries the exact schema it was built with.

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("../../migrations/sqlite");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut ups: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("migrations/sqlite exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .collect();
    ups.sort();
    let mut out = String::from("pub(crate) static EMBEDDED: &[(&str, &str, &str)] = &[\n");
    for up in ups {
        let file = up.file_name().unwrap().to_string_lossy().to_string();
        let stem = file.trim_end_matches(".up.sql").to_string();
        let down = up.with_file_name(format!("{stem}.down.sql"));
        assert!(down.exists(), "migration {stem} has no .down.sql");
        println!("cargo:rerun-if-changed={}", up.display());
        println!("cargo:rerun-if-changed={}", down.display());
        out.push_str(&format!(
            "    ({stem:?}, include_str!({:?}), include_str!({:?})),\n",
            up.canonicalize().unwrap(),
            down.canonicalize().unwrap()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_migrations.rs");
    fs::write(dest, out).expect("write embedded_migrations.rs");
}
