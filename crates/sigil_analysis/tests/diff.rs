//! `diff`: duplicates after normalisation, shared indicators, techniques the corpus lacks. The small tests use
//! hand-made corpora; the SigmaHQ one needs `../shared` (skipped without it unless `SIGIL_REQUIRE_CORPUS=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use sigil_analysis::diff::{Corpus, RuleFacts, Status, facts};

fn knowledge() -> &'static sigil_knowledge::Knowledge {
    sigil_knowledge::Knowledge::builtin().unwrap()
}

fn facts_of(texts: &[(&str, &str)]) -> Vec<RuleFacts> {
    let set = sigil_rule::load_texts(texts, &Default::default());
    facts(&set, knowledge())
}

const SEVENZIP: &str = r"title: Compress With 7-ZIP
id: 9fbf5927-5261-4284-a71d-f681029ea574
tags: [attack.collection, attack.t1560.001]
logsource: {category: process_creation, product: windows}
detection:
    selection_img:
        - Description|contains: '7-Zip'
        - Image|endswith: ['\7z.exe', '\7zr.exe', '\7za.exe']
        - OriginalFileName: ['7z.exe', '7za.exe', '7zr.exe']
    selection_password:
        CommandLine|contains: ' -p'
    selection_action:
        CommandLine|contains: [' a ', ' u ']
    condition: all of selection_*
";

/// The same logic written differently: other search names and order, values reordered and in other case, a
/// field as 4688 names it, `Image|endswith: x` as `Image: '*x'`, the condition spelled out.
const SEVENZIP_REWRITTEN: &str = r"title: Password protected archive
id: 11111111-2222-4333-8444-555555555555
tags: [attack.t1560.001]
logsource: {category: process_creation, product: windows}
detection:
    act:
        CommandLine|contains: [' U ', ' A ']
    pw:
        CommandLine|contains: ' -P'
    img:
        - OriginalFileName: ['7ZR.exe', '7z.exe', '7za.exe']
        - NewProcessName: ['*\7za.exe', '*\7z.exe', '*\7zr.exe']
        - Description|contains: '7-zip'
    condition: pw and img and act
";

#[test]
fn a_rewritten_copy_is_a_duplicate() {
    let corpus = Corpus::new(facts_of(&[("c/7z.yml", SEVENZIP)]));
    let new = facts_of(&[("new.yml", SEVENZIP_REWRITTEN)]);
    let d = corpus.diff(&new[0]);
    assert_eq!(d.status, Status::New);
    assert_eq!(d.duplicates.len(), 1, "{d:#?}");
    assert_eq!(d.duplicates[0].path, "c/7z.yml");
}

#[test]
fn one_changed_value_shares_indicators_but_is_no_duplicate() {
    let corpus = Corpus::new(facts_of(&[("c/7z.yml", SEVENZIP)]));
    let changed = SEVENZIP_REWRITTEN.replace("' -P'", "' -mhe'");
    let d = corpus.diff(&facts_of(&[("new.yml", &changed)])[0]);
    assert!(d.duplicates.is_empty(), "{d:#?}");
    let shared = d.indicators.iter().filter(|i| i.count == 1).count();
    assert!(shared >= 5, "{d:#?}");
    let mhe = d.indicators.iter().find(|i| i.value.contains("-mhe")).unwrap();
    assert_eq!((mhe.field.as_str(), mhe.kind.as_str(), mhe.count), ("CommandLine", "match", 0));
    assert_eq!(d.overlaps[0].rule.path, "c/7z.yml");
    assert!(d.new_techniques.is_empty());
}

#[test]
fn a_changed_version_of_a_corpus_rule_is_not_its_own_duplicate() {
    let corpus = Corpus::new(facts_of(&[("c/7z.yml", SEVENZIP)]));
    let same = facts_of(&[("c/7z.yml", SEVENZIP)]);
    assert_eq!(corpus.diff(&same[0]).status, Status::Unchanged);
    assert!(corpus.diff(&same[0]).duplicates.is_empty());
    let changed = SEVENZIP.replace("' -p'", "' -mhe'");
    let d = corpus.diff(&facts_of(&[("c/7z.yml", &changed)])[0]);
    assert_eq!(d.status, Status::Changed);
    assert!(d.duplicates.is_empty());
}

#[test]
fn a_technique_and_an_event_the_corpus_lacks() {
    let corpus = Corpus::new(facts_of(&[("c/7z.yml", SEVENZIP)]));
    let new = r"title: Driver loaded from temp
tags: [attack.persistence, attack.t1543.003]
logsource: {category: driver_load, product: windows}
detection:
    sel:
        ImageLoaded|contains: '\Temp\'
    condition: sel
";
    let d = corpus.diff(&facts_of(&[("new.yml", new)])[0]);
    assert_eq!(d.new_techniques, ["T1543.003"]);
    assert_eq!(d.new_events, ["Sysmon 6"]);
    assert!(d.overlaps.is_empty());
    assert_eq!(d.indicators[0].count, 0);
}

#[test]
fn markdown_escapes_rule_text() {
    let corpus = Corpus::new(facts_of(&[("c/7z.yml", SEVENZIP)]));
    let hostile =
        "title: 'a | <script>x</script>'\nlogsource: {product: windows}\ndetection: {s: {F: '|`x'}, condition: s}\n";
    let d = corpus.diff(&facts_of(&[("new.yml", hostile)])[0]);
    let md = sigil_analysis::diff::markdown(&[d], corpus.len());
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("a \\| &lt;script&gt;"), "{md}");
}

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigmahq");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var("SIGIL_REQUIRE_CORPUS").as_deref() != Ok("1"), "SIGIL_REQUIRE_CORPUS=1 but no corpus");
    println!("skipped: {} not found", dir.display());
    None
}

#[test]
fn a_copy_of_a_sigmahq_rule_is_found_in_the_corpus() {
    let Some(root) = shared() else { return };
    let set = sigil_rule::load(&[root.join("rules")], &Default::default());
    let corpus = Corpus::new(facts(&set, knowledge()));
    assert!(corpus.len() > 3000, "{}", corpus.len());
    let original = std::fs::read_to_string(
        root.join("rules/windows/process_creation/proc_creation_win_7zip_password_compression.yml"),
    )
    .unwrap();
    let copy = original.replace("9fbf5927-5261-4284-a71d-f681029ea574", "00000000-0000-4000-8000-000000000777");
    let d = corpus.diff(&facts_of(&[("copy.yml", &copy)])[0]);
    assert_eq!(d.status, Status::New);
    assert_eq!(d.duplicates.len(), 1, "{:?}", d.duplicates);
    assert_eq!(d.duplicates[0].id.as_deref(), Some("9fbf5927-5261-4284-a71d-f681029ea574"));
}
