//! `sigil`: one binary for Sigma rules — a catalog of rule pages, a hunting engine over Windows event logs, and
//! a rule checker. This crate only defines flags and wires the library crates together.

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

/// jemalloc instead of the system allocator: a hunt allocates and frees small values for every event on every core,
/// for which it measured ~10 % less CPU and ~12 MiB less peak memory than glibc's malloc (`bench/evtx_bench.py`).
/// Its arenas are one per CPU (`percpu_arena`, set in `.cargo/config.toml`): memory freed by the threads that load
/// the rules is reused by the threads that hunt.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod bundled;
mod catalog_args;
mod check;
mod convert;
mod coverage;
mod diff;
mod events;
mod explain;
mod export;
mod help;
mod hunt;
mod rule_inputs;
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
///
/// 'sigil help COMMAND' (or 'sigil COMMAND --help') explains a command, with examples.
///
/// Examples:
///   sigil hunt                                   the bundled rules on the bundled sample events
///   sigil hunt logs/ --rules sigma/rules*        hunt a folder of logs with SigmaHQ's rules
///   sigil check rules/                           lint a rule repository
///   sigil completions bash > ~/.local/share/bash-completion/completions/sigil
#[derive(Debug, Parser)]
#[command(
    name = "sigil",
    version,
    about,
    long_about,
    verbatim_doc_comment,
    propagate_version = true,
    arg_required_else_help = true
)]
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
    Completions(CompletionsArgs),
    Man(ManArgs),
}

/// Print a shell completion script (for bash, zsh, fish, elvish or PowerShell) to stdout.
///
/// Generated from the same definitions as --help, so it completes every subcommand and option.
///
/// Examples:
///   sigil completions bash > ~/.local/share/bash-completion/completions/sigil
///   sigil completions zsh > "${fpath[1]}/_sigil"
///   sigil completions fish > ~/.config/fish/completions/sigil.fish
///   sigil completions powershell >> $PROFILE
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Print a man page (roff) to stdout: sigil(1), or sigil-COMMAND(1) for a subcommand.
///
/// Generated from the same definitions as --help.
///
/// Examples:
///   sigil man | man -l -
///   sigil man hunt > /usr/local/share/man/man1/sigil-hunt.1
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct ManArgs {
    /// A subcommand (default: the page of sigil itself).
    #[arg(value_name = "COMMAND")]
    command: Option<String>,
}

/// Run a Language Server for Sigma rule files over stdin/stdout (for editors).
///
/// Publishes `sigil check`'s diagnostics as a rule file is edited, offers their safe fixes as quick fixes, and
/// shows on hover what a modifier does, what an ATT&CK tag names, and what a diagnostic code means. Configure
/// your editor to start `sigil lsp` for YAML files of your rule repository.
///
/// Examples:
///   sigil lsp                  (started by the editor, talking over stdin/stdout)
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct LspArgs {}

fn main() -> ExitCode {
    let cli = match command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
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
        Command::Completions(a) => completions(&a),
        Command::Man(a) => man(&a),
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

/// The command line's definition, with its help polished ([`help::polish`]).
fn command() -> clap::Command {
    help::polish(Cli::command())
}

fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "sigil", &mut out);
    std::io::Write::flush(&mut out)?;
    Ok(ExitCode::SUCCESS)
}

fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = command();
    let page = match &args.command {
        None => clap_mangen::Man::new(cmd),
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name) else {
                let names: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
                anyhow::bail!("no subcommand '{name}' (one of: {})", names.join(", "));
            };
            clap_mangen::Man::new(sub.clone()).title(format!("sigil-{name}"))
        }
    };
    let mut out = std::io::stdout().lock();
    page.render(&mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(ExitCode::SUCCESS)
}

/// Whether an error comes from writing to a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
