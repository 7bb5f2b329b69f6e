//! `sigil`: one binary for Sigma rules — a catalog of rule pages, a hunting engine over Windows event logs, and
//! a rule checker. This crate only defines flags and wires the library crates together.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bundled;
mod catalog_args;
mod check;
mod convert;
mod coverage;
mod diff;
mod events;
mod explain;
mod export;
mod hunt;
mod serve;
mod show;
mod site;
mod stats;
mod term;

/// Sigma rules: catalog, hunt, check.
///
/// sigil loads Sigma rules (a SigmaHQ checkout, your team's rules, or the examples built into the binary) and
///
///   * checks them like a compiler:            sigil check rules/
///   * hunts with them over Windows event logs: sigil hunt logs/ --rules rules/
///   * shows them as catalog pages:            sigil show 74a2b202-73e0-4693-9a3a-9d36146d0775 --rules rules/
///   * serves the catalog in a browser:        sigil serve --rules rules/
///   * serves diagnostics to editors:          sigil lsp
///   * exports events as a table for SQL:       sigil export logs/ --to events.parquet
///   * converts rules to ClickHouse/Spark/DuckDB: sigil convert --target clickhouse --rules rules/
///   * explains why a rule fires on an event:   sigil explain rule.yml event.json
///   * tells what a new rule adds to a corpus:  sigil diff new.yml --rules rules/
///   * tells which rules your logs can feed:    sigil coverage logs/ --rules rules/
///
/// Without --rules, the rules and sample events bundled with sigil are used, so every command can be tried at
/// once. Exit status: 0 success, 1 findings (check errors; hunt detections with --fail-on-detection), 2 usage
/// or input errors.
#[derive(Debug, Parser)]
#[command(name = "sigil", version, about, long_about, propagate_version = true, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(check::Args),
    Hunt(hunt::Args),
    Show(show::Args),
    Events(events::Args),
    Stats(stats::Args),
    Serve(serve::Args),
    Site(site::Args),
    Lsp(LspArgs),
    Export(export::Args),
    Convert(convert::Args),
    Explain(explain::Args),
    Diff(diff::Args),
    Coverage(coverage::Args),
}

/// Run a Language Server for Sigma rule files over stdin/stdout (for editors).
///
/// Publishes `sigil check`'s diagnostics as a rule file is edited, offers their safe fixes as quick fixes, and
/// shows on hover what a modifier does, what an ATT&CK tag names, and what a diagnostic code means. Configure
/// your editor to start `sigil lsp` for YAML files of your rule repository.
#[derive(Debug, clap::Args)]
struct LspArgs {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 0 for --help/--version and 2 for usage errors, which is what scripts expect.
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    term::init_logging();
    let result = match cli.command {
        Command::Check(a) => check::run(a),
        Command::Hunt(a) => hunt::run(a),
        Command::Show(a) => show::run(a),
        Command::Events(a) => events::run(a),
        Command::Stats(a) => stats::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Site(a) => site::run(a),
        Command::Lsp(LspArgs {}) => sigil_lsp::run_stdio().map(|()| ExitCode::SUCCESS).map_err(anyhow::Error::from),
        Command::Export(a) => export::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Coverage(a) => coverage::run(a),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`sigil stats | head`): there is no one left to tell, and nothing went wrong.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sigil: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether an error comes from writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
