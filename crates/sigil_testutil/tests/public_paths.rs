//! One public path per public item (issue 9): no library crate re-exports at its root what one of its own public
//! modules already exposes (`pub mod x;` beside `pub use x::Item;`), and none re-exports another workspace crate
//! (`pub use sigil_ir as ir;`) — a caller names the item where it is defined. Checked on the crate roots' text,
//! which is where such re-exports live.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// The `pub mod` names and the `pub use` statements (joined to one line each) at the top level of a crate root.
fn roots(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut mods, mut uses) = (Vec::new(), Vec::new());
    let mut open: Option<String> = None;
    for line in text.lines() {
        if let Some(stmt) = open.as_mut() {
            stmt.push(' ');
            stmt.push_str(line.trim());
            if line.contains(';') {
                uses.push(open.take().unwrap());
            }
            continue;
        }
        if let Some(name) = line.strip_prefix("pub mod ").and_then(|r| r.strip_suffix(';')) {
            mods.push(name.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("pub use ") {
            if rest.contains(';') {
                uses.push(rest.to_string());
            } else {
                open = Some(rest.to_string());
            }
        }
    }
    (mods, uses)
}

/// What is wrong with a root's re-exports, one line each.
fn violations(crate_name: &str, text: &str) -> Vec<String> {
    let (mods, uses) = roots(text);
    let mut out = Vec::new();
    for u in uses {
        let path = u.trim_start_matches("crate::").trim_start_matches("self::");
        let head: String = path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if mods.contains(&head) {
            out.push(format!("{crate_name}: `pub use {u}` re-exports from `pub mod {head}` (two paths)"));
        } else if head.starts_with("sigil_") {
            out.push(format!("{crate_name}: `pub use {u}` re-exports the workspace crate {head} (two paths)"));
        }
    }
    out
}

#[test]
fn the_check_sees_both_kinds() {
    let text = "mod a;\npub mod b;\npub use a::X;\npub use b::{\n    Y,\n    Z,\n};\npub use sigil_ir as ir;\n";
    let v = violations("demo", text);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[0].contains("pub mod b") && v[0].contains("Y, Z"), "{v:?}");
    assert!(v[1].contains("sigil_ir"), "{v:?}");
}

#[test]
fn every_public_item_has_one_path() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut all = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let lib = dir.join("src/lib.rs");
        let Ok(text) = std::fs::read_to_string(&lib) else { continue };
        seen += 1;
        all.extend(violations(&dir.file_name().unwrap().to_string_lossy(), &text));
    }
    assert!(seen > 10, "found only {seen} library crates under {}", crates.display());
    all.sort();
    assert!(all.is_empty(), "{}", all.join("\n"));
}
