//! The layers the compiler keeps apart, checked so that nobody loosens them by accident:
//! `market-api` has no database crate of its own and never names a table, and the tables
//! of `market-core` are private outside the tests' `test-support` feature.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The names of a manifest's `[dependencies]` (not dev-dependencies).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_section = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[dependencies]";
        } else if in_section && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.']).next().unwrap_or_default().trim();
            names.push(name.to_owned());
        }
    }
    names
}

#[test]
fn the_api_crate_has_no_database_dependency() {
    let manifest = fs::read_to_string(root().join("crates/market-api/Cargo.toml")).unwrap();
    let deps = dependencies(&manifest);
    assert!(deps.contains(&"market-core".to_owned()), "{deps:?}");
    for banned in ["sea-orm", "sea-query", "sqlx", "migration"] {
        assert!(
            !deps.contains(&banned.to_owned()),
            "market-api must reach the database only through market-core, yet depends on {banned}"
        );
    }
}

#[test]
fn the_api_crate_never_names_a_table() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/market-api/src"), &mut files);
    assert!(files.len() > 20, "found only {files:?}");
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for banned in ["entities::", "sea_orm", "Entity::find", "Column::"] {
            assert!(
                !text.contains(banned),
                "{} uses `{banned}`: queries belong in market-core (domain::reads, domain::lists)",
                file.display()
            );
        }
    }
}

#[test]
fn the_tables_are_private_to_the_core_crate() {
    let lib = fs::read_to_string(root().join("crates/market-core/src/lib.rs")).unwrap();
    let private = "#[cfg(not(feature = \"test-support\"))]\nmod entities;";
    assert!(
        lib.contains(private),
        "market-core must declare `mod entities;` private outside the test-support feature"
    );
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let normal = manifest
        .split("[dev-dependencies]")
        .next()
        .unwrap_or_default();
    assert!(
        !normal.contains("test-support"),
        "only the tests may turn on market-core's test-support feature"
    );
}
