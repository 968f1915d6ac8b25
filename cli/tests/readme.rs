//! The README's parameter tables are what `snnergy describe --markdown` generates from the
//! configuration types. A block
//!
//! ```text
//! <!-- parameters: classical spatial -->
//! …
//! <!-- /parameters -->
//! ```
//!
//! holds the tables of the components it names; `SNNERGY_BLESS=1` rewrites the blocks.

use std::path::Path;
use std::process::Command;

const OPEN: &str = "<!-- parameters: ";
const CLOSE: &str = "<!-- /parameters -->";

fn generated(names: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_snnergy"))
        .args(["describe", "--markdown"])
        .args(names)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_readme_parameter_tables_are_generated_from_the_configuration_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rebuilt = String::new();
    let mut rest = text.as_str();
    let mut blocks = 0;
    while let Some(i) = rest.find(OPEN) {
        let header_end = i + rest[i..].find("-->").unwrap() + 3;
        let names: Vec<&str> = rest[i + OPEN.len()..header_end - 3]
            .split_whitespace()
            .collect();
        let close = header_end + rest[header_end..].find(CLOSE).unwrap();
        let want = format!("\n{}", generated(&names));
        let have = &rest[header_end..close];
        if std::env::var_os("SNNERGY_BLESS").is_none() {
            assert_eq!(
                have, want,
                "README block for {names:?} is stale (SNNERGY_BLESS=1 rewrites it)"
            );
        }
        rebuilt.push_str(&rest[..header_end]);
        rebuilt.push_str(&want);
        rest = &rest[close..];
        blocks += 1;
    }
    rebuilt.push_str(rest);
    assert!(blocks > 0, "the README has no generated parameter tables");
    if std::env::var_os("SNNERGY_BLESS").is_some() {
        std::fs::write(&path, rebuilt).unwrap();
    }
}
