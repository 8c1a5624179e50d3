//! Bundles `config/` (kindling.toml and templates/) into the binary: each function package ships
//! the nurture program it was built with, loaded once at cold start.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let config = manifest
        .join("../../config")
        .canonicalize()
        .unwrap_or_else(|e| panic!("config/ not found: {e}"));
    let templates = config.join("templates");
    println!("cargo:rerun-if-changed={}", config.display());
    println!("cargo:rerun-if-changed={}", templates.display());
    let toml = config.join("kindling.toml");
    println!("cargo:rerun-if-changed={}", toml.display());

    let mut names: Vec<PathBuf> = std::fs::read_dir(&templates)
        .unwrap_or_else(|e| panic!("{}: {e}", templates.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/// `config/kindling.toml`.\npub const KINDLING_TOML: &str = include_str!({:?});",
        toml.display().to_string()
    );
    let _ = writeln!(
        out,
        "/// `config/templates/*`: (file name, source).\npub const TEMPLATES: &[(&str, &str)] = &["
    );
    for p in &names {
        println!("cargo:rerun-if-changed={}", p.display());
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            p.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("bundled_config.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}
