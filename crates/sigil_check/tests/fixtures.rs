//! One hand-written invalid rule per validation. The first line of each fixture states the exact diagnostics
//! expected (`# expect: CODE severity line:column ...`); the checker must report exactly those.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on bad fixtures

use std::path::{Path, PathBuf};

use sigil_check::{LoadOptions, load};

fn resources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/test")
}

fn reported(paths: &[PathBuf]) -> Vec<String> {
    let set = load(paths, &LoadOptions::default());
    set.diagnostics().iter().map(|d| format!("{} {} {}:{}", d.code, d.severity, d.line, d.column)).collect()
}

fn expected(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let header = text.lines().next().unwrap().strip_prefix("# expect:").expect("fixture must start with '# expect:'");
    let words: Vec<&str> = header.split_whitespace().collect();
    words.chunks(3).map(|c| c.join(" ")).collect()
}

#[test]
fn every_invalid_fixture_reports_exactly_its_diagnostic() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(resources().join("invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "fixtures missing: {}", files.len());
    for f in files {
        let want = expected(&f);
        assert!(!want.is_empty(), "{} expects nothing", f.display());
        let code = f.file_name().unwrap().to_str().unwrap().get(..5).unwrap().to_uppercase();
        assert!(want.iter().any(|w| w.starts_with(&code)), "{}: file name code {code} not expected", f.display());
        assert_eq!(reported(std::slice::from_ref(&f)), want, "{}", f.display());
    }
}

#[test]
fn duplicate_ids_across_files() {
    let dir = resources().join("duplicate_ids");
    let want = expected(&dir.join("b.yml"));
    assert_eq!(reported(&[dir]), want);
}

#[test]
fn missing_paths_are_reported_not_dropped() {
    let set = load(&[PathBuf::from("/definitely/not/here")], &LoadOptions::default());
    let d = set.diagnostics();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code.0, "SG101");
}

#[test]
fn hostile_files_get_diagnostics_and_the_walk_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    w("a_binary.yml", &[0u8, 159, 146, 150, 0, 1, 2, 3]);
    w("b_latin1.yml", b"title: caf\xe9\n");
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (prev, c) in ('a'..='j').zip('b'..='k') {
        bomb.push_str(&format!(
            "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    w("c_alias_bomb.yml", bomb.as_bytes());
    w("d_deep.yml", format!("title: {}1{}\n", "[".repeat(5000), "]".repeat(5000)).as_bytes());
    w("e_huge.yml", &vec![b'#'; 5 << 20]);
    w("f_hostile_text.yml", "title: \"<script>alert(1)</script>\\e[31m\"\nlogsource: {product: windows}\ndetection: {sel: {a: 1}, condition: sel}\n".as_bytes());
    w("g_good.yml", b"title: fine\nlogsource: {product: windows}\ndetection: {sel: {Image: x}, condition: sel}\n");
    w("h_empty.yml", b"");
    let set = load(&[dir.path().to_path_buf()], &LoadOptions::default());
    let codes: Vec<(String, &str)> = set
        .diagnostics()
        .iter()
        .map(|d| (Path::new(&d.file).file_name().unwrap().to_string_lossy().into_owned(), d.code.0))
        .collect();
    assert!(codes.contains(&("a_binary.yml".into(), "SG103")), "{codes:?}");
    assert!(codes.contains(&("b_latin1.yml".into(), "SG103")), "{codes:?}");
    assert!(codes.contains(&("c_alias_bomb.yml".into(), "SG104")), "{codes:?}");
    assert!(codes.contains(&("d_deep.yml".into(), "SG104")), "{codes:?}");
    assert!(codes.contains(&("e_huge.yml".into(), "SG102")), "{codes:?}");
    assert_eq!(set.files.len(), 8, "every file is accounted for");
    let good = set.files.iter().find(|f| f.path.ends_with("g_good.yml")).unwrap();
    assert_eq!(good.parsed.documents.len(), 1);
    assert!(!good.has_errors());
    let hostile = set.files.iter().find(|f| f.path.ends_with("f_hostile_text.yml")).unwrap();
    assert_eq!(hostile.parsed.documents[0].meta().title, "<script>alert(1)</script>\u{1b}[31m");
}
