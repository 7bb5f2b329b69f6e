//! Measures catalog load and search times: `cargo run --release -p sigil_catalog --example load_time -- PATH...`
//! (each argument `[NAME=]PATH`, as `--rules`). Prints each of five loads and the best, then the best of 100
//! searches per query. `SPLIT=1` first times `sigil_rule::load` and the catalog's own work separately;
//! `NOSEARCH=1` skips the searches.

use std::time::{Duration, Instant};

use sigil_catalog::{Catalog, CatalogOptions, Facet, SearchQuery, SourceSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sources = SourceSpec::parse_all(&args);
    if std::env::var_os("SPLIT").is_some() {
        for _ in 0..3 {
            split_timing(&sources);
        }
    }
    let opts = CatalogOptions::default();
    let mut best = Duration::MAX;
    let mut catalog = None;
    for _ in 0..5 {
        let c = Catalog::load(&sources, &opts)?;
        eprintln!("load {:.3}s", c.load_time().as_secs_f64());
        best = best.min(c.load_time());
        catalog = Some(c);
    }
    let catalog = catalog.ok_or("no load")?;
    println!(
        "{} pages from {} sources ({} failed files), {} distinct indicators: best load {:.3}s",
        catalog.len(),
        catalog.sources().len(),
        catalog.failed_files().len(),
        catalog.stats().distinct_indicators,
        best.as_secs_f64()
    );
    let queries = [
        SearchQuery::new("powershell"),
        SearchQuery::new("a"),
        SearchQuery::new("remote access tool").filter(Facet::Tactic, "command-and-control"),
        SearchQuery::parse("level:high status:test"),
        SearchQuery::default(),
    ];
    for q in queries.iter().filter(|_| std::env::var_os("NOSEARCH").is_none()) {
        let mut best = Duration::MAX;
        let mut total = 0;
        for _ in 0..100 {
            let t = Instant::now();
            total = catalog.search(q).total;
            best = best.min(t.elapsed());
        }
        println!("search {:?} {:?}: {} hits, best {:.2} ms", q.text, q.filters, total, best.as_secs_f64() * 1000.0);
    }
    Ok(())
}

fn split_timing(sources: &[SourceSpec]) {
    let paths: Vec<std::path::PathBuf> = sources.iter().flat_map(|s| s.paths.clone()).collect();
    let t = Instant::now();
    let set = sigil_rule::load(&paths, &sigil_rule::LoadOptions::default());
    let load = t.elapsed();
    let t = Instant::now();
    let c = Catalog::from_rule_set(&set, sources, &CatalogOptions::default());
    println!(
        "check::load {:.3}s, from_rule_set {:.3}s ({})",
        load.as_secs_f64(),
        t.elapsed().as_secs_f64(),
        c.map(|c| c.len()).unwrap_or(0)
    );
}
