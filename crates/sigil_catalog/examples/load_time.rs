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
    // The full-text index on its own (built inside every load above, in parallel with other work).
    let mut index_best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let index = sigil_catalog::TextIndex::build(catalog.pages());
        index_best = index_best.min(t.elapsed());
        std::hint::black_box(index.len());
    }
    println!(
        "text index: {} terms, built alone in {:.3}s ({:.0} % of the best load)",
        catalog.text_index().len(),
        index_best.as_secs_f64(),
        100.0 * index_best.as_secs_f64() / best.as_secs_f64()
    );
    let queries = [
        SearchQuery::new("powershell").page(0, 25),
        SearchQuery::new("a").page(0, 25),
        SearchQuery::new("remote access tool").filter(Facet::Tactic, "command-and-control").page(0, 25),
        SearchQuery::parse("level:high status:test").page(0, 25),
        SearchQuery::new("mimkatz").page(0, 25),
        SearchQuery::default().page(0, 25),
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
