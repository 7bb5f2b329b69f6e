//! Parsed share of a family and the most common reasons a query is not read:
//! `cargo run -p sigil_families --example family_stats -- splunk PATH`.

use std::collections::BTreeMap;
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(family), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: family_stats FAMILY PATH");
        std::process::exit(2);
    };
    let Some(family) = sigil_families::Family::from_name(family) else {
        eprintln!("unknown family {family}");
        std::process::exit(2);
    };
    let loaded = sigil_families::load(family, &[PathBuf::from(path)]);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in &loaded.rules {
        if let sigil_families::Extraction::NotExtracted { reason } = &r.extraction {
            let short: String = reason.chars().take(60).collect();
            *reasons.entry(short).or_default() += 1;
        }
    }
    let parsed = loaded.rules.iter().filter(|r| r.extraction.is_parsed()).count();
    println!("{family}: {parsed} of {} parsed, {} errors", loaded.rules.len(), loaded.errors.len());
    let mut v: Vec<_> = reasons.into_iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    for (r, n) in v.iter().take(25) {
        println!("{n:5}  {r}");
    }
}
