//! `sigil site`: the rule catalog as a static website.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use sigil_web::{App, ExportOptions};

use crate::catalog_args::CatalogArgs;

/// Write the rule catalog as a static website, for any static host or to open from disk.
///
/// Writes the pages `sigil serve` serves (rule list, rule pages, ATT&CK heat map and technique pages, events,
/// statistics) as .html files with relative links, the ATT&CK Navigator layer, and a search index split into
/// small files loaded on demand: search, facets and shared indicators work in the browser, ranked as the
/// server ranks. A whole SigmaHQ checkout stays within the file limits of free static hosts. Publish OUT_DIR
/// as it is (GitHub Pages, Cloudflare Pages, S3, nginx, an intranet share).
///
/// OUT_DIR is created if needed. A non-empty folder that is not a previous sigil site is refused unless
/// --force is given; files of a previous export are overwritten.
///
/// Examples:
///   sigil site public/
///   sigil site public/ --rules sigma=../sigma/rules* team=private/rules
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Folder to write the site into.
    out_dir: PathBuf,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Name shown in the top bar and page titles.
    #[arg(long, default_value = "sigil", value_name = "TEXT")]
    name: String,
    /// Also write the JSON files (api/rules/*.json, one per rule; api/stats.json; api/attack.json).
    #[arg(long)]
    json: bool,
    /// Skip the JSON files (the default now; accepted for older scripts).
    #[arg(long, hide = true, conflicts_with = "json")]
    no_json: bool,
    /// Write into a non-empty folder that does not hold a previous sigil site.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let out = &args.out_dir;
    if out.is_file() {
        anyhow::bail!("{} is a file; give a folder to write the site into", out.display());
    }
    if out.is_dir() && !args.force {
        let mut entries = std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))?;
        let previous = out.join("search/meta.js").is_file() || out.join("search-index.js").is_file();
        if entries.next().is_some() && !previous {
            anyhow::bail!(
                "{} is not empty and does not hold a sigil site; pick an empty folder or pass --force",
                out.display()
            );
        }
    }
    let catalog = args.catalog.load()?;
    let app = App::new(catalog).with_site_name(args.name);
    let summary = sigil_web::write_site(
        &app,
        out,
        &ExportOptions { json: args.json && !args.no_json, ..ExportOptions::default() },
    )
    .with_context(|| format!("writing the site to {}", out.display()))?;
    crate::catalog_args::done_with(app);
    println!(
        "sigil: wrote {} files ({:.1} MB, {} rule pages) to {} in {:.2}s; open {} or publish the folder",
        summary.files,
        summary.bytes as f64 / 1_000_000.0,
        summary.rule_pages,
        out.display(),
        started.elapsed().as_secs_f64(),
        out.join("index.html").display()
    );
    Ok(ExitCode::SUCCESS)
}
