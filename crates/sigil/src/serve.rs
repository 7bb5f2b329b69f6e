//! `sigil serve`: the rule catalog as a website on this machine.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use sigil_web::App;

use crate::catalog_args::CatalogArgs;

/// Serve the rule catalog in a browser: search, rule pages, ATT&CK heat map, events and statistics.
///
/// Loads the rules (the bundled examples when no --rules is given) and serves, until Ctrl-C:
///
///   /                      search with facets (tactic, technique, severity, status, log source, author, ...)
///   /rules/ID              a rule's page: ATT&CK and event coverage, body, stages, indicators with corpus counts
///   /rules/sigma/STEM      the same page by file name (without .yml)
///   /attack                ATT&CK heat map; /api/attack/navigator.json is an ATT&CK Navigator layer
///   /events                Windows events and the rules that fire on them
///   /indicators, /stats    shared indicators and corpus figures
///   /api/...               the same data as JSON (/api lists the endpoints)
///
/// Pages are rendered by the server and work without JavaScript. The catalog is read-only and, by default,
/// only reachable from this machine; --addr 0.0.0.0:8080 shares it on your network.
///
/// Examples:
///   sigil serve
///   sigil serve --rules sigma=../sigma/rules* --regression-data ../sigma/regression_data
///   sigil serve --rules sigma=../sigma/rules team=private/rules --addr 127.0.0.1:9000
///   sigil serve --rules sigma/rules --logs evidence/     # event pages say "seen in your logs"
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Address and port to listen on: an IP or a host name such as localhost (port 0 picks a free one).
    /// Requests must name this address in their Host header (a protection against DNS rebinding), except
    /// when listening on all interfaces (0.0.0.0).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT", value_parser = parse_addr)]
    addr: Addrs,
    /// Name shown in the top bar and page titles.
    #[arg(long, default_value = "sigil", value_name = "TEXT")]
    name: String,
    /// Your event logs (files or folders, as for `sigil hunt`): event pages then say whether, and how often,
    /// the event is seen in them. Read once at start.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    logs: Vec<std::path::PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let catalog = args.catalog.load()?;
    let rules = catalog.len();
    let sources: Vec<String> = catalog.sources().iter().map(|s| format!("{} ({})", s.name, s.pages)).collect();
    let built = Instant::now();
    let mut app = App::new(catalog).with_site_name(args.name);
    if !args.logs.is_empty() {
        let (profile, summary) = crate::coverage::read_profile(&args.logs);
        tracing::info!("read {} events of your logs", summary.events());
        app = app.with_seen_events(
            profile
                .headers
                .iter()
                .filter_map(|(h, s)| Some((h.provider.clone(), u32::try_from(h.event_id?).ok()?, s.events))),
        );
    }
    let app = Arc::new(app);
    // The search index, statistics and event usage are built on first use; build them now, beside the
    // listener, so that no request waits for them.
    let warm = Arc::clone(&app);
    let _ = std::thread::Builder::new().name("sigil-catalog-prepare".into()).spawn(move || warm.catalog().prepare());
    tracing::info!("web app built in {:.1} ms", built.elapsed().as_secs_f64() * 1000.0);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr.0.as_slice()).await.with_context(|| {
            format!(
                "cannot listen on {}; is another server using it? Try --addr 127.0.0.1:0 for any free port",
                args.addr.0.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or ")
            )
        })?;
        let local = listener.local_addr().context("reading the listening address")?;
        let url = if local.ip().is_unspecified() {
            format!("http://127.0.0.1:{}/ (listening on all interfaces)", local.port())
        } else {
            format!("http://{local}/")
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "sigil: serving {rules} rules from {} at {url}", sources.join(", "))?;
        writeln!(out, "sigil: ready in {} ms; press Ctrl-C to stop", started.elapsed().as_millis())?;
        out.flush()?;
        drop(out);
        sigil_web::server::serve(app, listener, shutdown_signal()).await.context("serving")?;
        eprintln!("sigil: stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// `IP:PORT`, `[IPv6]:PORT` or `NAME:PORT`, resolved to the addresses to try, IPv4 first (`localhost` is
/// 127.0.0.1, then ::1).
fn parse_addr(text: &str) -> Result<Addrs, String> {
    use std::net::ToSocketAddrs as _;
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(Addrs(vec![addr]));
    }
    if !text.contains(':') {
        return Err(format!("'{text}' has no port: give HOST:PORT, e.g. localhost:8080"));
    }
    let mut addrs: Vec<SocketAddr> =
        text.to_socket_addrs().map_err(|e| format!("cannot resolve '{text}': {e}"))?.collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs.dedup();
    if addrs.is_empty() {
        return Err(format!("'{text}' resolves to no address"));
    }
    Ok(Addrs(addrs))
}

/// The addresses `--addr` resolved to.
#[derive(Debug, Clone)]
struct Addrs(Vec<SocketAddr>);

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
