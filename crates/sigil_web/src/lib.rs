//! The web catalog: `sigil serve` and `sigil site`.
//!
//! This crate turns a [`sigil_catalog::Catalog`] into a website: server-rendered HTML pages that work without
//! JavaScript (search with facets, rule pages, an ATT&CK heat map, the events side, statistics with inline SVG
//! charts), a JSON API under `/api/` that mirrors them, and a static export of the same pages. It owns
//! presentation only: loading rules, search, indexes and counts belong to `sigil_catalog`.
//!
//! - [`App`] holds the catalog and what the web layer derives from it once (the heat map).
//! - [`server::router`] builds the axum router; [`server::serve`] runs it until a shutdown signal.
//! - [`export::write_site`] writes the static site.
//! - [`pages`] renders each page for both (askama templates in `templates/`, one CSS file in `assets/`).
//!
//! Safety properties, each covered by tests: every string from rule files is escaped by the templates (views
//! never carry markup, except the YAML highlighter's and the SVG charts' output, which escape their input);
//! references become links only when they are `http(s)` URLs, always with `rel="noopener noreferrer"`; query
//! strings and paths are bounded ([`query`]); a panicking handler is answered with 500 and logged; the server
//! only answers `GET`/`HEAD`; responses carry a strict Content-Security-Policy.
//!
//! ```no_run
//! use std::sync::Arc;
//! use sigil_catalog::{Catalog, CatalogOptions};
//! use sigil_web::App;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let catalog = Catalog::from_texts("examples", &[("r.yml", "title: x\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}")], &CatalogOptions::default())?;
//! let app = Arc::new(App::new(catalog));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! sigil_web::server::serve(app, listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs, unreachable_pub)]

pub mod api;
mod app;
mod assets;
pub mod explain;
mod export;
mod family_view;
mod highlight;
pub mod links;
pub mod pages;
pub mod query;
pub mod search;
pub mod server;
pub mod static_index;
mod svg;
mod view;

pub use app::{App, Cell, Column, Matrix, heat_class};

pub use export::{ExportError, ExportOptions, ExportSummary, STATIC_LIST_PAGE, write_site};
pub use highlight::escape;
