//! The event reader (`yaml::parse_documents`) against serde-saphyr (`yaml::parse_documents_reference`): the same
//! nodes (values, key order, positions, byte spans) or the same error (message and position) for every YAML
//! file of the shared corpus (SigmaHQ, its regression samples, the specification's examples and tests, other
//! rule families), for damaged copies of them, and for generated YAML-like text.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on bad fixtures

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sigil_rule::yaml::{Limits, parse_documents, parse_documents_reference, read_by_events};

fn yaml_files(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && sigil_rule::is_rule_file(e.path()))
        .map(walkdir::DirEntry::into_path)
        .collect();
    out.sort();
    out
}

/// Both readers give the same result for `text`; returns whether it parsed.
fn same(text: &str, what: &dyn std::fmt::Display) -> bool {
    let limits = Limits::default();
    let fast = parse_documents(text, &limits);
    let reference = parse_documents_reference(text, &limits);
    assert_eq!(fast, reference, "{what}");
    fast.is_ok()
}

/// Damaged copies of a file: cut short, a line repeated (a repeated key), a tab, an anchor and an alias, a
/// tag, a quote left open, a key made a number.
fn damaged(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mid = lines.len() / 2;
    let with_line = |i: usize, f: &dyn Fn(&str) -> String| {
        let mut l: Vec<String> = lines.iter().map(|s| (*s).to_string()).collect();
        if let Some(line) = l.get_mut(i) {
            *line = f(line);
        }
        l.join("\n") + "\n"
    };
    let mut cut = text.len() / 3;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    vec![
        text[..cut].to_string(),
        with_line(mid, &|l| format!("{l}\n{l}")),
        with_line(mid, &|l| format!("\t{l}")),
        with_line(1, &|l| l.replacen(": ", ": &anchor ", 1)) + "extra: *anchor\n",
        with_line(mid, &|l| l.replacen(": ", ": !!str ", 1)),
        with_line(mid, &|l| l.replacen(": ", ": '", 1)),
        with_line(mid, &|l| l.replacen(|c: char| c.is_alphabetic(), "1", 1)),
    ]
}

#[test]
fn both_readers_agree_on_every_corpus_file_and_damaged_copies() {
    let Some(corpus) = sigil_testutil::corpus(&["sigmahq", "sigma-specification"]) else { return };
    let (mut files, mut parsed, mut damaged_files) = (0, 0, 0);
    let (mut sigmahq, mut sigmahq_by_events) = (0, 0);
    for (i, path) in yaml_files(&corpus).iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        files += 1;
        parsed += usize::from(same(text, &path.display()));
        if path.starts_with(corpus.join("sigmahq")) {
            sigmahq += 1;
            sigmahq_by_events += usize::from(read_by_events(text, &Limits::default()));
        }
        // Every 16th file damaged seven ways keeps the test at a few seconds.
        if i % 16 == 0 {
            for (j, d) in damaged(text).iter().enumerate() {
                same(d, &format_args!("{} damaged #{j}", path.display()));
                damaged_files += 1;
            }
        }
    }
    println!("{files} files ({parsed} parsed), {damaged_files} damaged copies: same nodes and errors");
    println!("{sigmahq_by_events} of {sigmahq} SigmaHQ files read by the event reader alone");
    assert!(files > 4000, "only {files} corpus files");
    // The event reader is the fast path: SigmaHQ rules are plain YAML, so (nearly) none should need serde-saphyr.
    assert!(sigmahq_by_events * 100 >= sigmahq * 99, "{sigmahq_by_events} of {sigmahq} read by the event reader");
}

/// YAML-like fragments: every scalar style, number spellings, flow and block collections, anchors, tags,
/// merge keys, directives, repeated keys, documents.
fn yaml_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a: 1\n"),
        Just("a: '1'\n"),
        Just("b: [x, 'y', \"z\\t\", 0x1F, -0o17, 1_0, 0127, -0127, 1e3, .5, .inf, -.NaN, 1e999, inf]\n"),
        Just("c: {k: v, n: ~, e: , t: True, f: no}\n"),
        Just("d:\n  - one\n  - two: 2\n    three: 18446744073709551616\n"),
        Just("e: |\n  literal\n  text\n"),
        Just("f: >-\n  folded\n  text\n"),
        Just("g: plain\n  continued\n"),
        Just("? complex\n: key\n"),
        Just("1: numeric key\n"),
        Just("<<: {m: 1}\n"),
        Just("h: &h [1]\ni: *h\n"),
        Just("j: !!str 5\n"),
        Just("%YAML 1.2\n---\n"),
        Just("---\n"),
        Just("...\n"),
        Just("# comment\n"),
        Just("  indented: x\n"),
        Just("- item\n"),
        Just("k: \"unterminated\n"),
        Just("\t"),
        Just("l: -9223372036854775808\n"),
        Just("m: 9223372036854775808\n"),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn both_readers_agree_on_generated_yaml(text in yaml_like()) {
        same(&text, &text);
    }

    #[test]
    fn both_readers_agree_on_arbitrary_printable_text(text in "[ -~\n\t]{0,120}") {
        same(&text, &text);
    }
}
