//! One hand-written fixture per diagnostic code: `resources/test/invalid/sgNNN_*.yml`, or a folder
//! `sgNNN_*/` whose files are checked together (for checks across files). Each file states what it expects in
//! its first lines:
//!
//! ```text
//! # expect: SG301 error 10:15        one `CODE severity line:column` per diagnostic, in order
//! # span: endwith                    the spanned source text of each, ` | `-separated (`(none)`: no span)
//! # fix: endswith                    the replacement of each one's fix (`(none)`: none); omitted: no fixes
//! ```
//!
//! The checker must report exactly those; each fix, applied, must make its diagnostic go away and change
//! nothing else. A code in the registry without a fixture fails [`every_registered_code_has_a_fixture`].

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on bad fixtures

use std::path::{Path, PathBuf};

use sigil_check::load;
use sigil_check::registry::{REGISTRY, Run};
use sigil_diagnostics::{Diagnostic, apply_fixes};
use sigil_rule::LoadOptions;

fn resources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/test")
}

/// Codes whose fixture cannot be a committed file, and the test that covers them instead.
const ELSEWHERE: &[(&str, &str)] = &[
    ("SG101", "missing_paths_are_reported_not_dropped"),
    ("SG102", "hostile_files_get_diagnostics_and_the_walk_goes_on (a 5 MiB file)"),
];

struct Expected {
    diagnostics: Vec<String>,
    spans: Option<Vec<Option<String>>>,
    fixes: Vec<Option<String>>,
}

fn header_line<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().take(4).find_map(|l| l.strip_prefix(key)).map(str::trim)
}

fn cells(line: &str) -> Vec<Option<String>> {
    line.split(" | ").map(|c| if c.trim() == "(none)" { None } else { Some(c.trim().to_string()) }).collect()
}

fn expected(path: &Path) -> Expected {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let Some(header) = header_line(&text, "# expect:") else {
        return Expected { diagnostics: vec![], spans: Some(vec![]), fixes: vec![] };
    };
    let words: Vec<&str> = header.split_whitespace().collect();
    let diagnostics: Vec<String> = words.chunks(3).map(|c| c.join(" ")).collect();
    let spans = header_line(&text, "# span:").map(cells);
    let fixes = header_line(&text, "# fix:").map_or_else(|| vec![None; diagnostics.len()], cells);
    Expected { diagnostics, spans, fixes }
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(resources().join("invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn code_of(fixture: &Path) -> String {
    fixture.file_name().unwrap().to_str().unwrap().get(..5).unwrap().to_uppercase()
}

fn fix_replacement(d: &Diagnostic) -> Option<String> {
    d.fix.as_ref().map(|f| f.edits.iter().map(|e| e.replacement.as_str()).collect::<Vec<_>>().join("+"))
}

#[test]
fn every_fixture_reports_exactly_its_diagnostics_spans_and_fixes() {
    let all = fixtures();
    assert!(all.len() >= 45, "fixtures missing: {}", all.len());
    for fixture in all {
        let set = load(std::slice::from_ref(&fixture), &LoadOptions::default());
        let code = code_of(&fixture);
        let mut seen_code = false;
        for file in &set.files {
            let name = file.path.display().to_string();
            let want = expected(&file.path);
            let mut ds: Vec<&Diagnostic> = file.diagnostics().collect();
            ds.sort_by_key(|d| d.position);
            let got: Vec<String> = ds
                .iter()
                .map(|d| format!("{} {} {}:{}", d.code, d.severity, d.position.line, d.position.column))
                .collect();
            assert_eq!(got, want.diagnostics, "{name}");
            seen_code |= got.iter().any(|g| g.starts_with(&code));

            let spans = want.spans.unwrap_or_else(|| panic!("{name}: '# span:' line missing"));
            let got_spans: Vec<Option<String>> =
                ds.iter().map(|d| d.span.and_then(|s| s.slice(&file.source)).map(str::to_string)).collect();
            assert_eq!(got_spans, spans, "{name}: spans");

            let got_fixes: Vec<Option<String>> = ds.iter().map(|d| fix_replacement(d)).collect();
            assert_eq!(got_fixes, want.fixes, "{name}: fixes");
            for d in ds.iter().filter(|d| d.fix.is_some()) {
                let (fixed, applied) = apply_fixes(&file.source, d.fix.as_ref());
                assert_eq!(applied, vec![0], "{name}: fix applies");
                let before = sigil_check::check_text(&name, &file.source).iter().filter(|x| x.code == d.code).count();
                let after = sigil_check::check_text(&name, &fixed).iter().filter(|x| x.code == d.code).count();
                assert_eq!(after + 1, before, "{name}: the fix of {} removes it\n{fixed}", d.code);
                // Only the edited bytes change.
                let edit = &d.fix.as_ref().unwrap().edits[0];
                assert_eq!(fixed.get(..edit.span.start), file.source.get(..edit.span.start), "{name}");
                assert_eq!(
                    fixed.get(edit.span.start + edit.replacement.len()..),
                    file.source.get(edit.span.end..),
                    "{name}"
                );
            }
        }
        assert!(seen_code, "{}: file name code {code} not reported", fixture.display());
    }
}

#[test]
fn every_registered_code_has_a_fixture() {
    let covered: Vec<String> = fixtures().iter().map(|f| code_of(f)).collect();
    for check in REGISTRY {
        let code = check.code.0;
        assert!(
            covered.iter().any(|c| c == code) || ELSEWHERE.iter().any(|(c, _)| *c == code),
            "{code} ({}) has no fixture in resources/test/invalid",
            check.name
        );
    }
    // Every check with a fix has a fixture whose expectations include that fix.
    for check in REGISTRY.iter().filter(|c| c.fix) {
        let with_fix = fixtures().iter().filter(|f| code_of(f) == check.code.0).any(|f| {
            let files = if f.is_dir() {
                std::fs::read_dir(f).unwrap().map(|e| e.unwrap().path()).collect()
            } else {
                vec![f.clone()]
            };
            files.iter().any(|p| {
                let e = expected(p);
                e.diagnostics.iter().zip(&e.fixes).any(|(d, fx)| d.starts_with(check.code.0) && fx.is_some())
            })
        });
        assert!(with_fix, "{} has a fix but no fixture asserts it", check.code);
    }
}

#[test]
fn missing_paths_are_reported_not_dropped() {
    let set = load(&[PathBuf::from("/definitely/not/here")], &LoadOptions::default());
    let d = set.diagnostics();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code.0, "SG101");
    assert!(d[0].message.contains("no such file"), "{}", d[0].message);
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
    w("i_comments.yml", b"# nothing here yet\n\n");
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
    assert!(codes.contains(&("h_empty.yml".into(), "SG107")), "{codes:?}");
    assert!(codes.contains(&("i_comments.yml".into(), "SG107")), "{codes:?}");
    assert_eq!(set.files.len(), 9, "every file is accounted for");
    let good = set.files.iter().find(|f| f.path.ends_with("g_good.yml")).unwrap();
    assert_eq!(good.parsed.documents.len(), 1);
    assert!(!good.has_errors());
    let hostile = set.files.iter().find(|f| f.path.ends_with("f_hostile_text.yml")).unwrap();
    assert_eq!(hostile.parsed.documents[0].meta().title, "<script>alert(1)</script>\u{1b}[31m");
}

#[test]
fn loading_without_the_linter_keeps_only_parser_diagnostics() {
    let text = "title: t\nstatus: nope\nlogsource: {product: windows}\ndetection:\n    sel: {a|endwith: 1}\n    condition: sel\n";
    let plain = sigil_rule::load_texts(&[("r.yml", text)], &LoadOptions::default());
    let codes: Vec<&str> = plain.diagnostics().iter().map(|d| d.code.0).collect();
    assert_eq!(codes, ["SG301"]);
    let linted = sigil_check::load_texts(&[("r.yml", text)]);
    let codes: Vec<&str> = linted.diagnostics().iter().map(|d| d.code.0).collect();
    assert_eq!(codes, ["SG204", "SG301"]);
    assert!(linted.files[0].parsed.nodes.is_empty(), "nodes are dropped after linting");
}

/// `load_to_run` (what `sigil hunt` loads with) finds, for every fixture, exactly the errors of the full linter,
/// in the same order (the first one is what hunt reports for a skipped file), and none of its warnings or set
/// findings.
#[test]
fn loading_to_run_finds_the_same_errors_as_checking() {
    let mut with_errors = 0;
    for fixture in fixtures() {
        let checked = load(std::slice::from_ref(&fixture), &LoadOptions::default());
        let to_run = sigil_check::load_to_run(std::slice::from_ref(&fixture));
        assert_eq!(checked.files.len(), to_run.files.len(), "{}", fixture.display());
        for (full, run) in checked.files.iter().zip(&to_run.files) {
            let errors: Vec<&Diagnostic> = full.parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
            let found: Vec<&Diagnostic> = run.parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
            assert_eq!(found, errors, "{}", full.display_path);
            // Warnings left are the parser's own (it does not know which command loads).
            for d in run.parsed.diagnostics.iter().filter(|d| !d.is_error()) {
                let check = REGISTRY.iter().find(|c| c.code == d.code).unwrap();
                assert!(matches!(check.run, Run::Parser), "{}: {d:?}", run.display_path);
            }
            assert!(run.set_diagnostics.is_empty(), "{}: {:?}", run.display_path, run.set_diagnostics);
            assert_eq!(full.parsed.has_errors(), run.parsed.has_errors());
            with_errors += usize::from(run.parsed.has_errors());
        }
    }
    assert!(with_errors > 30, "the fixtures should exercise many error checks, found {with_errors}");
}
