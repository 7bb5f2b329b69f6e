//! `sigil hunt`: run Sigma rules over event logs and report every detection.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use owo_colors::OwoColorize as _;
use sigil_engine::hunt::{HuntSink, HuntStats};
use sigil_engine::{Detection, Engine, EngineOptions, HuntOptions, SortKey, TimeSorter};
use sigil_events::ReadError;
use sigil_rule::Level;

use crate::term::ColorChoice;

/// Hunt through event logs with Sigma rules.
///
/// Reads Windows event logs (.evtx), JSON (.json: one object, an array, or several objects) and JSON lines
/// (.jsonl, .ndjson, or - for stdin); folders are searched recursively. Every event is matched against the rules
/// its logsource selects: a process_creation rule sees Sysmon 1 and Security 4688 events, and on 4688 its Image
/// reads NewProcessName (see data/logsources/windows.toml; --mapping adds or replaces routes). Events are read
/// and matched in parallel on all cores, with memory bounded whatever the input size.
///
/// Without PATH and without --rules, hunts the sample events bundled with sigil with the bundled example rules
/// (a demonstration; the summary says so). With PATHs but no --rules, uses the bundled example rules. Folders
/// are walked recursively, skipping hidden files and folders (names starting with '.', such as .git or
/// .vscode); name a hidden file directly to hunt it.
///
/// EVTX chunks are checked against their CRC32 checksums: the records of a damaged chunk are not read, and are
/// counted as lost (--ignore-checksums reads them anyway). A record cut off by a truncated file is never read.
/// --output may not be one of the inputs, nor a file a hunt of an input folder would read back.
///
/// Output goes to stdout (or --output): a table by default (coloured on a terminal), or --format jsonl / csv for
/// tools. A summary (files, events, detections by level and by rule, unreadable records, time) goes to stderr.
/// Unreadable input (a corrupt EVTX chunk, a malformed JSON line) is reported with its file and position and
/// skipped; the rest is still read.
///
/// Correlation rules (all eight Sigma types, chains of correlations, temporal condition expressions) are evaluated
/// over the detections of the rules they reference, per group-by group in a sliding timespan window. With one
/// input (a file or stdin) their alerts are emitted as the input streams by and state is dropped as windows pass;
/// with several inputs, after the last event over all inputs in time order. Each alert says why it fired (group,
/// value, window, events). --filters loads Sigma filter rules kept apart from the rules; the summary says how
/// many detections each removed.
///
/// Exit status: 0 when the hunt ran (whether or not anything was detected), 1 with --fail-on-detection when
/// something was detected, 2 on bad usage or when no input could be read.
///
/// Examples:
///   sigil hunt
///   sigil hunt logs/ --rules sigma/rules/windows --min-level high
///   sigil hunt Security.evtx --rules rules/ --format jsonl --output detections.jsonl
///   cat events.jsonl | sigil hunt - --rules rules/ --format csv --sort
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Event files or folders (.evtx, .json, .jsonl, .ndjson, .log, .gz; - for stdin); other formats are
    /// recognised by content (see --input-kind).
    paths: Vec<PathBuf>,
    /// Rule files or folders, each optionally named NAME=PATH; `NAME=dir/rules*` is expanded by sigil. Takes
    /// every path after it: put event paths first. A path that holds no rule is an error. Default: the rules
    /// bundled with sigil.
    #[arg(long, short, num_args = 1.., value_name = "[NAME=]PATH")]
    rules: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write detections to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only run rules of this level or above (rules without a level count as informational).
    #[arg(long, value_enum, value_name = "LEVEL")]
    min_level: Option<LevelArg>,
    /// Order detections by event time (across all inputs) instead of as they are found.
    #[arg(long)]
    sort: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short, value_name = "N")]
    jobs: Option<usize>,
    /// A logsource mapping file (format of data/logsources/windows.toml) that adds routes, or replaces a
    /// logsource's routes with `replace = true`. May be given several times.
    #[arg(long, value_name = "FILE")]
    mapping: Vec<PathBuf>,
    /// Values for %placeholders% of the expand modifier: a YAML map of name to value or list of values.
    #[arg(long, value_name = "FILE")]
    placeholders: Option<PathBuf>,
    /// Run rules whose logsource sigil cannot route against every event (instead of not at all).
    #[arg(long)]
    all_logsources: bool,
    /// Exit with status 1 when anything was detected (for CI).
    #[arg(long)]
    fail_on_detection: bool,
    /// No progress bar and no summary; warnings only.
    #[arg(long, short)]
    quiet: bool,
    /// When to use colours.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// The format of every input, or the kind of their JSON records, instead of what file names and contents say:
    /// evtx, json, jsonl, auditd, syslog, access (Common/Combined Log Format), w3c, zeek, santa; or a record kind
    /// such as cloudtrail (aws.cloudtrail), okta, gcp, m365, github, kubernetes, azure.signinlogs, zeek.dns.
    #[arg(long, value_name = "KIND", value_parser = parse_input_kind)]
    input_kind: Option<sigil_events::InputKind>,
    /// Read the records of EVTX chunks whose CRC32 checksums do not match (damaged), instead of counting them
    /// as lost.
    #[arg(long)]
    ignore_checksums: bool,
    /// Sigma filter rules (files or folders) applied to the rules they name; repeatable. Other documents in these
    /// files are ignored with a warning.
    #[arg(long, value_name = "PATH")]
    filters: Vec<PathBuf>,
    /// Events listed in a correlation alert (the rest are counted).
    #[arg(long, value_name = "N", default_value_t = sigil_engine::hunt::DEFAULT_MAX_CORRELATION_EVENTS)]
    max_correlation_events: usize,
    /// Detections held in correlation windows at most; past it new ones are not counted (with a warning).
    #[arg(long, value_name = "N", default_value_t = sigil_engine::hunt::DEFAULT_MAX_CORRELATION_STATE)]
    max_correlation_state: usize,
    /// Add to each detection why it fired: the selections that matched and, per field, the rule's value after
    /// modifiers that matched and the event's value (JSONL key `explanation`; the table's last column ends with
    /// a short form). Explaining evaluates the detected rule again; it never changes what is detected.
    #[arg(long)]
    explain: bool,
    /// Read and parse the input but run no rule (the benchmark's baseline).
    #[arg(long, hide = true)]
    parse_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Aligned columns: time, computer, channel, event id, level, rule, key fields.
    Table,
    /// One JSON object per detection.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LevelArg {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl From<LevelArg> for Level {
    fn from(l: LevelArg) -> Level {
        match l {
            LevelArg::Informational => Level::Informational,
            LevelArg::Low => Level::Low,
            LevelArg::Medium => Level::Medium,
            LevelArg::High => Level::High,
            LevelArg::Critical => Level::Critical,
        }
    }
}

/// Read errors printed per input before the rest are only counted.
const WARNINGS_PER_INPUT: u64 = 10;
/// Memory for --sort before detections spill to temporary files.
const SORT_BUDGET: usize = 256 << 20;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let err_color = args.color.stderr();
    let warn = |msg: &str| {
        if err_color {
            eprintln!("{} {msg}", "warning:".yellow().bold());
        } else {
            eprintln!("warning: {msg}");
        }
    };

    let knowledge = load_knowledge(&args.mapping)?;
    let placeholders = load_placeholders(args.placeholders.as_deref())?;

    // Rules.
    let rule_paths: Vec<PathBuf> =
        sigil_catalog::SourceSpec::parse_all(&args.rules).into_iter().flat_map(|s| s.paths).collect();
    for w in check_rule_paths(&rule_paths)? {
        warn(&w);
    }
    let demo = args.paths.is_empty() && args.rules.is_empty();
    if args.paths.is_empty() && !demo {
        anyhow::bail!(
            "no events to hunt: name the event files or folders (or - for stdin) before --rules, e.g. \
             'sigil hunt logs/ --rules rules/' (the bundled sample events are only used when neither is given)"
        );
    }
    if let Some(output) = &args.output {
        let mut others: Vec<&Path> = rule_paths.iter().map(PathBuf::as_path).collect();
        others.extend(args.mapping.iter().map(PathBuf::as_path));
        others.extend(args.placeholders.as_deref());
        check_output(output, &args.paths, &others)?;
    }
    let jobs = match args.jobs {
        Some(n) if n > sigil_engine::max_jobs() => {
            let max = sigil_engine::max_jobs();
            warn(&format!("--jobs {n} is more than can help; using {max} threads (4 per core)"));
            max
        }
        Some(n) => n,
        None => 0,
    };
    let mut set = crate::bundled::load_rules(&rule_paths);
    for d in sigil_check::drop_duplicates(&mut set) {
        warn(&d.to_string());
    }
    if !args.filters.is_empty() {
        for problem in sigil_check::add_filters(&mut set, &args.filters) {
            warn(&problem);
        }
    }
    let opts = EngineOptions {
        min_level: args.min_level.map(Level::from),
        all_logsources: args.all_logsources,
        placeholders,
        no_prefilter: false,
    };
    let (engine, report) = Engine::build(&set, &knowledge, &opts);
    let loaded = started.elapsed();
    for s in &report.skipped {
        match &s.reason {
            sigil_engine::SkipReason::FileErrors(first) => {
                warn(&format!("{}: skipped, the file has errors ({first}; run 'sigil check' for all)", s.path));
            }
            sigil_engine::SkipReason::Compile(e) => warn(&format!("{}: rule '{}' skipped: {e}", s.path, s.title)),
            sigil_engine::SkipReason::Correlation(e) => {
                warn(&format!("{}: correlation '{}' not evaluated: {e}", s.path, s.title));
            }
        }
    }
    for (path, title, reference) in &report.filter_unknown_rules {
        warn(&format!("{path}: filter '{title}' names rule '{reference}', which is not loaded"));
    }
    if !report.unrouted.is_empty() {
        let n: usize = report.unrouted.iter().map(|u| u.rules.len()).sum();
        let what = if args.all_logsources { "run against every event" } else { "not run" };
        let mut shown: Vec<String> = report
            .unrouted
            .iter()
            .take(8)
            .map(|u| {
                let why = u.why.as_deref().unwrap_or("no reader gives events of this logsource");
                format!("{} ({}): {why}", u.logsource, u.rules.len())
            })
            .collect();
        if report.unrouted.len() > 8 {
            let more: usize = report.unrouted.iter().skip(8).map(|u| u.rules.len()).sum();
            let names: Vec<&str> = report.unrouted.iter().skip(8).map(|u| u.logsource.as_str()).collect();
            shown.push(format!("{more} more rules of {}", names.join(", ")));
        }
        let hint =
            if args.all_logsources { "" } else { "; --all-logsources runs them on every event, --mapping routes them" };
        warn(&format!(
            "{n} rule(s) have a logsource no log sigil reads can feed, {what}{hint}:\n  {}",
            shown.join("\n  ")
        ));
        if n <= 5 {
            for u in &report.unrouted {
                for (path, title) in &u.rules {
                    warn(&format!("  {path}: '{title}' (logsource {})", u.logsource));
                }
            }
        }
    }
    if engine.rules().is_empty() && !args.parse_only {
        anyhow::bail!("no rules to hunt with ({} files loaded, {} skipped)", set.files.len(), report.skipped.len());
    }
    // The compiled rules are all the hunt needs; the parsed files (sources, models) can go.
    drop(set);

    // Output.
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.output {
        Some(_) => args.color == ColorChoice::Always,
        None => args.color.stdout(),
    };
    let out: Box<dyn Write + Send> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let width = if to_terminal { terminal_width() } else { None };
    let progress = if args.quiet { indicatif::ProgressBar::hidden() } else { crate::term::progress_spinner("hunting") };
    let source_index: HashMap<PathBuf, u32> =
        args.paths.iter().enumerate().map(|(i, p)| (p.clone(), i as u32)).collect();
    let sink = Sink {
        format: args.format,
        color,
        width,
        explain: args.explain,
        out: Mutex::new(Output { w: out, header_done: false, error: None }),
        sorter: args.sort.then(|| Mutex::new(TimeSorter::new(SORT_BUDGET))),
        warnings: Mutex::new(HashMap::new()),
        warn_color: err_color,
        progress: progress.clone(),
        source_index,
        input_count: args.paths.len() as u32,
    };

    let mut hunt_opts = HuntOptions {
        jobs,
        parse_only: args.parse_only,
        max_correlation_events: args.max_correlation_events,
        max_correlation_state: args.max_correlation_state.max(1),
        ..HuntOptions::default()
    };
    hunt_opts.read.validate_checksums = !args.ignore_checksums;
    hunt_opts.read = hunt_opts.read.clone().with_input_kind(args.input_kind);
    let stats = if demo {
        let (name, text) = crate::bundled::SAMPLE_EVENTS;
        let batches = sigil_engine::jsonl_batches(Path::new(name), text, &hunt_opts.read);
        sigil_engine::hunt_batches(&engine, batches, &hunt_opts, &sink)
    } else {
        sigil_engine::hunt(&engine, &args.paths, &hunt_opts, &sink)
    }
    .map_err(|e| anyhow::anyhow!("cannot start worker threads: {e}"))?;
    progress.finish_and_clear();

    if let Some(sorter) = sink.sorter {
        let sorter = sorter.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut o = sink.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let written = if stats.detections > 0 { write_header(&mut o, args.format, color, width) } else { Ok(()) };
        if let Err(e) = written.and_then(|()| sorter.finish(|_, line| o.w.write_all(line))) {
            o.error.get_or_insert(e);
        }
    }
    {
        let mut o = sink.out.lock().map_err(|_| anyhow::anyhow!("output poisoned"))?;
        let flushed = o.w.flush();
        match o.error.take().map_or(flushed, Err) {
            // The reader went away (`sigil hunt | head`): nothing more to say.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(e).context("writing detections"),
            Ok(()) => {}
        }
    }

    let suppressed: u64 =
        sink.warnings.lock().map(|w| w.values().map(|n| n.saturating_sub(WARNINGS_PER_INPUT)).sum()).unwrap_or(0);
    for s in &stats.read.skipped {
        if let sigil_events::SkipReason::Unreadable(why) = &s.reason {
            warn(&format!("{}: cannot read: {why}", s.path.display()));
        }
    }
    if stats.correlation_dropped > 0 {
        warn(&format!(
            "correlation state reached --max-correlation-state ({}): {} detection(s) were not counted by \
             correlations; raise the cap or hunt fewer groups at once",
            args.max_correlation_state, stats.correlation_dropped
        ));
    }
    if stats.correlation_late > 0 {
        warn(&format!(
            "{} detection(s) reached a correlation more than its timespan out of time order; windows they belong \
             to may have been judged already (sort the input by time, or hunt it with --sort among other inputs)",
            stats.correlation_late
        ));
    }
    if !args.quiet {
        print_summary(&engine, &stats, &report, loaded, suppressed, args.parse_only, err_color);
        if demo {
            eprintln!(
                "  this was a demonstration: the bundled example rules on the bundled sample events (no event path \
                 and no --rules given); try 'sigil hunt logs/ --rules rules/'"
            );
        }
    }
    if !args.paths.is_empty() && stats.inputs_read() == 0 {
        eprintln!("sigil: error: no input could be read");
        return Ok(ExitCode::from(2));
    }
    if args.fail_on_detection && stats.detections > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Every `--rules` path must exist and hold at least one rule file: a folder of events given after `--rules`
/// by mistake must not be taken for an empty rule folder.
/// The builtin routing tables with the `--mapping` files applied in order.
pub(crate) fn load_knowledge(mapping: &[PathBuf]) -> anyhow::Result<sigil_knowledge::Knowledge> {
    let mut knowledge = sigil_knowledge::Knowledge::builtin().map_err(|e| anyhow::anyhow!("{e}"))?.clone();
    for m in mapping {
        knowledge = knowledge.with_mapping_file(m).map_err(|e| anyhow::anyhow!("--mapping: {e}"))?;
    }
    Ok(knowledge)
}

/// The `--placeholders` file's values, or none.
pub(crate) fn load_placeholders(path: Option<&Path>) -> anyhow::Result<sigil_engine::Placeholders> {
    match path {
        Some(p) => sigil_engine::load_placeholders(p).map_err(|e| anyhow::anyhow!("--placeholders: {e}")),
        None => Ok(sigil_engine::Placeholders::new()),
    }
}

/// Every `--rules` path must exist; a folder that holds no rule file is an error when it holds event files (an
/// evidence folder taken as rules: `--rules` takes every path after it) or when no `--rules` path holds a rule at
/// all, and otherwise a warning returned to the caller (SigmaHQ's `rules*` includes `rules-dfir`, which holds
/// only a README).
pub(crate) fn check_rule_paths(paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut empty = Vec::new();
    for path in paths {
        if !path.exists() {
            anyhow::bail!("--rules {}: no such file or folder", path.display());
        }
        if path.is_dir() && !sigil_check::discover(std::slice::from_ref(path)).iter().any(|(_, r)| r.is_ok()) {
            let (events, _) = sigil_events::discover(std::slice::from_ref(path));
            if !events.is_empty() {
                anyhow::bail!(
                    "--rules {}: no Sigma rule file (.yml, .yaml) in this folder; it holds event files: --rules takes \
                     every path after it, so put event paths first ('sigil hunt {} --rules RULES')",
                    path.display(),
                    path.display()
                );
            }
            empty.push(path);
        }
    }
    if let Some(first) = empty.first()
        && empty.len() == paths.len()
    {
        anyhow::bail!("--rules {}: no Sigma rule file (.yml, .yaml) in this folder", first.display());
    }
    Ok(empty
        .iter()
        .map(|p| format!("--rules {}: no Sigma rule file (.yml, .yaml) in this folder", p.display()))
        .collect())
}

/// A path made absolute without requiring it to exist: its existing parent resolved, its name kept.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(parent).ok()?.join(name))
}

/// Refuses an output that would overwrite something the user gave (an input, a rule, a mapping), or that a
/// hunt of an input folder would read back as events (this run, as it is created first, or the next).
fn check_output(output: &Path, inputs: &[PathBuf], others: &[&Path]) -> anyhow::Result<()> {
    let Some(out) = resolved(output) else { return Ok(()) };
    for input in inputs.iter().filter(|p| p.as_os_str() != "-") {
        let Ok(input_abs) = std::fs::canonicalize(input) else { continue };
        if input_abs == out {
            anyhow::bail!(
                "--output {} is one of the inputs: refusing to overwrite the evidence; write the detections elsewhere",
                output.display()
            );
        }
        if input_abs.is_dir()
            && let Ok(inside) = out.strip_prefix(&input_abs)
        {
            let hidden = inside.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            if !hidden && sigil_events::SourceKind::from_path(&out).is_some() {
                anyhow::bail!(
                    "--output {} is inside the input folder {}, so the hunt would read the detections back as \
                     events; write them outside it",
                    output.display(),
                    input.display()
                );
            }
        }
    }
    for other in others {
        if std::fs::canonicalize(other).is_ok_and(|p| p == out) {
            anyhow::bail!(
                "--output {} is a file given as rules or options: refusing to overwrite it",
                output.display()
            );
        }
    }
    Ok(())
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).or(Some(160))
}

struct Output {
    w: Box<dyn Write + Send>,
    header_done: bool,
    error: Option<std::io::Error>,
}

struct Sink {
    format: Format,
    color: bool,
    width: Option<usize>,
    explain: bool,
    out: Mutex<Output>,
    sorter: Option<Mutex<TimeSorter>>,
    warnings: Mutex<HashMap<PathBuf, u64>>,
    warn_color: bool,
    progress: indicatif::ProgressBar,
    source_index: HashMap<PathBuf, u32>,
    input_count: u32,
}

impl HuntSink for Sink {
    fn detections(&self, detections: &[Detection<'_>]) {
        if let Some(sorter) = &self.sorter {
            let mut lines = Vec::with_capacity(detections.len());
            for (i, d) in detections.iter().enumerate() {
                let mut line = Vec::new();
                render(&mut line, d, self.format, self.color, self.width, self.explain);
                let source = self.source_of(d.source);
                let key =
                    SortKey::new(d.event.timestamp(), source, d.position.0, (u64::from(d.position.1) << 16) | i as u64);
                lines.push((key, line));
            }
            // A poisoned lock still holds every detection pushed so far: keep using it, never drop detections.
            let mut s = sorter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (k, l) in lines {
                if let Err(e) = s.push(k, l) {
                    self.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner).error.get_or_insert(e);
                }
            }
            return;
        }
        let mut buf = Vec::with_capacity(detections.len() * 256);
        for d in detections {
            render(&mut buf, d, self.format, self.color, self.width, self.explain);
        }
        self.progress.suspend(|| {
            if let Ok(mut o) = self.out.lock() {
                if o.error.is_some() {
                    return;
                }
                let r = write_header(&mut o, self.format, self.color, self.width).and_then(|()| o.w.write_all(&buf));
                if self.width.is_some() {
                    let _ = o.w.flush();
                }
                if let Err(e) = r {
                    o.error = Some(e);
                }
            }
        });
    }

    fn read_error(&self, error: &ReadError) {
        let n = match self.warnings.lock() {
            Ok(mut w) => {
                let n = w.entry(error.path().to_path_buf()).or_insert(0);
                *n += 1;
                *n
            }
            Err(_) => 1,
        };
        if n <= WARNINGS_PER_INPUT {
            self.progress.suspend(|| {
                // EVTX errors say in words what was read and what was lost; the others lose their line or value.
                let skipped = match error {
                    ReadError::EvtxFile { .. } | ReadError::EvtxChunk { .. } | ReadError::EvtxRecord { .. } => "",
                    _ => " (skipped)",
                };
                if self.warn_color {
                    eprintln!("{} {error}{skipped}", "warning:".yellow().bold());
                } else {
                    eprintln!("warning: {error}{skipped}");
                }
                if n == WARNINGS_PER_INPUT {
                    eprintln!("warning: {}: further read errors are only counted", error.path().display());
                }
            });
        }
    }

    fn progress(&self, events: u64, detections: u64) {
        self.progress.set_message(format!("{events} events, {detections} detections"));
        self.progress.tick();
    }
}

impl Sink {
    /// The index of the command-line input a file came from, so --sort keeps inputs in the order given for equal
    /// times. Files found inside a folder share the folder's index and are told apart by path order.
    fn source_of(&self, path: &Path) -> u32 {
        if let Some(i) = self.source_index.get(path) {
            return *i;
        }
        self.source_index
            .iter()
            .filter(|(root, _)| path.starts_with(root))
            .map(|(_, i)| *i)
            .min()
            .unwrap_or(self.input_count)
    }
}

fn write_header(o: &mut Output, format: Format, color: bool, width: Option<usize>) -> std::io::Result<()> {
    if o.header_done {
        return Ok(());
    }
    o.header_done = true;
    match format {
        Format::Jsonl => Ok(()),
        Format::Csv => writeln!(
            o.w,
            "timestamp,computer,channel,event_id,record_id,level,rule_id,rule_title,tags,source,key_fields,event,\
             correlation_group,correlation_value"
        ),
        Format::Table => {
            let line = table_row(["TIME", "COMPUTER", "CHANNEL", "EVENT", "LEVEL", "RULE", "KEY FIELDS"], width);
            if color { writeln!(o.w, "{}", line.bold()) } else { writeln!(o.w, "{line}") }
        }
    }
}

fn parse_input_kind(s: &str) -> Result<sigil_events::InputKind, String> {
    sigil_events::InputKind::parse(s)
}

fn level_text(level: Option<Level>) -> &'static str {
    level.map_or("-", Level::as_str)
}

fn timestamp_text(d: &Detection<'_>) -> String {
    d.event.timestamp().map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_default()
}

fn render(buf: &mut Vec<u8>, d: &Detection<'_>, format: Format, color: bool, width: Option<usize>, explain: bool) {
    let ev = d.event;
    let explanation = if explain { d.explanation() } else { None };
    match format {
        Format::Jsonl => {
            let line = JsonDetection {
                rule_id: d.rule.info.id.as_deref(),
                rule_title: &d.rule.info.title,
                level: d.rule.info.level.map(Level::as_str),
                tags: &d.rule.info.tags,
                timestamp: ev.timestamp().map(|t| t.to_string()),
                computer: ev.display_host(),
                channel: ev.display_channel(),
                event_id: ev.event_id(),
                record_id: ev.record_id(),
                kind: ev.kind().map(|k| k.name),
                account: ev.display_account(),
                source: d.source.to_string_lossy(),
                event: JsonEvent(ev),
                correlation: d.correlation.map(JsonCorrelation),
                explanation: explanation.map(|e| e.selections),
            };
            let _ = serde_json::to_writer(&mut *buf, &line);
            buf.push(b'\n');
        }
        Format::Csv => {
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
            let keys = d.key_fields().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            let row = [
                timestamp_text(d),
                ev.display_host().unwrap_or_default().into_owned(),
                ev.display_channel().unwrap_or_default().into_owned(),
                ev.event_id().map(|i| i.to_string()).unwrap_or_default(),
                ev.record_id().map(|i| i.to_string()).unwrap_or_default(),
                level_text(d.rule.info.level).to_string(),
                d.rule.info.id.clone().unwrap_or_default(),
                d.rule.info.title.clone(),
                d.rule.info.tags.join(";"),
                d.source.display().to_string(),
                keys,
                ev.to_json().to_string(),
                d.correlation
                    .map(|c| c.group.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default(),
                d.correlation.map(|c| sigil_engine::number_text(c.value)).unwrap_or_default(),
            ];
            if w.write_record(&row).is_ok()
                && let Ok(bytes) = w.into_inner()
            {
                buf.extend_from_slice(&bytes);
            }
        }
        Format::Table => {
            let mut keys =
                d.key_fields().iter().map(|(k, v)| format!("{k}={}", one_line(v))).collect::<Vec<_>>().join("  ");
            if let Some(e) = &explanation {
                keys = format!("{}  {keys}", one_line(&e.short()));
            }
            let ts = ev.timestamp().map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| "-".into());
            let level = level_text(d.rule.info.level);
            let cells = [
                ts,
                ev.display_host()
                    .or_else(|| ev.display_account())
                    .unwrap_or(std::borrow::Cow::Borrowed("-"))
                    .into_owned(),
                short_channel(&ev.display_channel().unwrap_or(std::borrow::Cow::Borrowed("-"))),
                ev.event_id().map_or_else(|| "-".into(), |i| i.to_string()),
                level.to_string(),
                d.rule.info.title.clone(),
                keys,
            ];
            let line = table_row(cells.each_ref().map(String::as_str), width);
            if color {
                let painted = match d.rule.info.level {
                    Some(Level::Critical) => {
                        line.replacen(&pad(level, COLS[4]), &pad(level, COLS[4]).red().bold().to_string(), 1)
                    }
                    Some(Level::High) => line.replacen(&pad(level, COLS[4]), &pad(level, COLS[4]).red().to_string(), 1),
                    Some(Level::Medium) => {
                        line.replacen(&pad(level, COLS[4]), &pad(level, COLS[4]).yellow().to_string(), 1)
                    }
                    Some(Level::Low) => {
                        line.replacen(&pad(level, COLS[4]), &pad(level, COLS[4]).green().to_string(), 1)
                    }
                    _ => line.replacen(&pad(level, COLS[4]), &pad(level, COLS[4]).dimmed().to_string(), 1),
                };
                let _ = writeln!(buf, "{painted}");
            } else {
                let _ = writeln!(buf, "{line}");
            }
        }
    }
}

/// One line of `--format jsonl`, serialized without building a JSON tree.
#[derive(serde::Serialize)]
struct JsonDetection<'a> {
    rule_id: Option<&'a str>,
    rule_title: &'a str,
    level: Option<&'static str>,
    tags: &'a [String],
    timestamp: Option<String>,
    computer: Option<std::borrow::Cow<'a, str>>,
    channel: Option<std::borrow::Cow<'a, str>>,
    event_id: Option<u64>,
    record_id: Option<u64>,
    /// The record kind of a non-Windows event (`aws.cloudtrail`, `linux.auditd`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// The account of a non-Windows event, when its kind names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<std::borrow::Cow<'a, str>>,
    source: std::borrow::Cow<'a, str>,
    event: JsonEvent<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation: Option<JsonCorrelation<'a>>,
    /// With `--explain`: the selections that matched, each with its items (see `sigil_engine::Explanation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<Vec<sigil_engine::SelectionExplanation>>,
}

/// The `correlation` object of a correlation alert in `--format jsonl`.
struct JsonCorrelation<'a>(&'a sigil_engine::CorrelationDetail);

impl serde::Serialize for JsonCorrelation<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let c = self.0;
        let mut map = s.serialize_map(Some(11))?;
        map.serialize_entry("type", c.kind)?;
        let group: serde_json::Map<String, serde_json::Value> =
            c.group.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect();
        map.serialize_entry("group", &group)?;
        // Counts as integers, sums and averages as they are.
        if c.value.fract() == 0.0 && c.value.abs() < 9.0e15 {
            map.serialize_entry("value", &(c.value as i64))?;
        } else if c.value.is_finite() {
            map.serialize_entry("value", &c.value)?;
        } else {
            map.serialize_entry("value", &())?;
        }
        map.serialize_entry("condition", &c.condition)?;
        map.serialize_entry("timespan", &c.timespan)?;
        map.serialize_entry("first", &c.first.to_string())?;
        map.serialize_entry("last", &c.last.to_string())?;
        map.serialize_entry("rules", &c.rules)?;
        let events: Vec<serde_json::Value> = c
            .events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "rule_id": e.rule_id,
                    "timestamp": e.timestamp.to_string(),
                    "source": e.source.to_string_lossy(),
                    "record_id": e.record_id,
                })
            })
            .collect();
        map.serialize_entry("events", &events)?;
        map.serialize_entry("events_left_out", &c.events_left_out)?;
        map.end()
    }
}

/// An event as the JSON object `Event::to_json` gives (fields in order; a repeated name once, at its first
/// position, with its last value), written straight to the output.
struct JsonEvent<'a>(&'a sigil_events::Event);

impl serde::Serialize for JsonEvent<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let ev = self.0;
        let mut map = s.serialize_map(Some(ev.len()))?;
        for (i, (name, _)) in ev.fields().enumerate() {
            if ev.fields().take(i).any(|(n, _)| n.len() == name.len() && n == name) {
                continue;
            }
            if let Some(value) = ev.get(name) {
                map.serialize_entry(name, &JsonValue(value))?;
            }
        }
        map.end()
    }
}

struct JsonValue<'a>(&'a sigil_events::Value);

impl serde::Serialize for JsonValue<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use sigil_events::Value;
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(_) => s.serialize_unit(),
            Value::Str(x) => s.serialize_str(x),
            Value::List(items) => s.collect_seq(items.iter().map(JsonValue)),
        }
    }
}

/// Widths of the table's fixed columns (the last, key fields, takes the rest).
const COLS: [usize; 6] = [19, 16, 14, 5, 13, 44];

fn pad(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n > w {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    } else {
        format!("{s}{}", " ".repeat(w - n))
    }
}

fn table_row(cells: [&str; 7], width: Option<usize>) -> String {
    let mut line = String::new();
    for (i, w) in COLS.iter().enumerate() {
        line.push_str(&pad(cells.get(i).copied().unwrap_or(""), *w));
        line.push_str("  ");
    }
    let last = cells.get(6).copied().unwrap_or("");
    match width {
        Some(total) => {
            let used: usize = COLS.iter().map(|w| w + 2).sum();
            let room = total.saturating_sub(used).max(20);
            line.push_str(pad(last, room).trim_end());
        }
        None => line.push_str(last),
    }
    line.trim_end().to_string()
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n', '\t'], " ")
}

/// `Microsoft-Windows-Sysmon/Operational` → `Sysmon`, `Microsoft-Windows-PowerShell/Operational` → `PowerShell`.
fn short_channel(c: &str) -> String {
    let c = c.strip_prefix("Microsoft-Windows-").unwrap_or(c);
    c.strip_suffix("/Operational").unwrap_or(c).to_string()
}

fn print_summary(
    engine: &Engine,
    stats: &HuntStats,
    report: &sigil_engine::BuildReport,
    loaded: Duration,
    suppressed: u64,
    parse_only: bool,
    color: bool,
) {
    let secs = stats.elapsed.as_secs_f64();
    let rate = if secs > 0.0 { stats.events as f64 / secs } else { 0.0 };
    let files = stats.read.sources.len();
    let title = |s: &str| if color { s.bold().to_string() } else { s.to_string() };
    eprintln!();
    eprintln!(
        "{} {} files, {} events, {} detections in {:.2}s ({:.0} events/s); rules: {} compiled in {:.2}s{}",
        title("hunt:"),
        files,
        stats.events,
        stats.detections,
        secs,
        rate,
        report.compiled,
        loaded.as_secs_f64(),
        if parse_only { " (parse only: no rule was run)" } else { "" }
    );
    if stats.untimed_for_correlation > 0 {
        eprintln!("  detections without a timestamp, left out of correlations: {}", stats.untimed_for_correlation);
    }
    if !parse_only && engine.rules().iter().any(sigil_engine::CompiledRule::is_correlation) {
        let how = if stats.correlation_streamed {
            "as the input streamed by"
        } else {
            "after the last event (several inputs)"
        };
        eprintln!(
            "  correlations: evaluated {how}; at most {} detection(s) held in their windows",
            stats.correlation_peak_state
        );
    }
    for (f, removed) in engine.filters().iter().zip(&stats.filter_removed) {
        eprintln!("  filter '{}' ({}): removed {removed} detection(s) of {} rule(s)", f.title, f.path, f.rules);
    }
    if stats.read_errors > 0 {
        let more = if suppressed > 0 { format!(", {suppressed} not shown above") } else { String::new() };
        eprintln!(
            "  events lost to unreadable input (damaged or cut records, malformed lines): {} ({} warning(s){more})",
            stats.records_lost, stats.read_errors
        );
    }
    if stats.unselected_without_header > 0 {
        eprintln!(
            "  events with no Channel and no Provider_Name, which no rule's logsource can select: {} (is the log in \
             a shape sigil reads? --all-logsources runs unroutable rules on every event)",
            stats.unselected_without_header
        );
    }
    if stats.regex_failures > 0 {
        eprintln!(
            "  warning: {} regular expression(s) could not be built; events they were tested on could not match them",
            stats.regex_failures
        );
    }
    if stats.detections == 0 {
        return;
    }
    let levels = ["informational", "low", "medium", "high", "critical"];
    let by_level: Vec<String> = levels
        .iter()
        .zip(stats.by_level.iter())
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    eprintln!("  by level: {}", by_level.join(", "));
    let mut by_rule: Vec<(usize, u64)> = stats.by_rule.iter().copied().enumerate().filter(|(_, n)| *n > 0).collect();
    by_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    eprintln!("  by rule:");
    const SHOWN: usize = 20;
    for (i, n) in by_rule.iter().take(SHOWN) {
        if let Some(r) = engine.rules().get(*i) {
            eprintln!("    {n:>8}  {:<13} {}", level_text(r.info.level), r.info.title);
        }
    }
    if by_rule.len() > SHOWN {
        let rest: u64 = by_rule.iter().skip(SHOWN).map(|(_, n)| n).sum();
        eprintln!("    {rest:>8}  from {} more rules", by_rule.len() - SHOWN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_events::{Event, Value};

    #[test]
    fn json_event_is_to_json_without_the_tree() {
        let ev = Event::from_fields([
            ("Version", Value::Int(3)),
            ("Image", Value::from("C:\\a \"b\".exe")),
            ("List", Value::List(vec![Value::Int(1), Value::Null, Value::Bool(true)])),
            ("F", Value::Float(1.5)),
            ("Version", Value::from("15.0")),
        ]);
        let direct = serde_json::to_value(JsonEvent(&ev)).unwrap();
        assert_eq!(direct, ev.to_json());
        assert_eq!(serde_json::to_string(&JsonEvent(&ev)).unwrap(), ev.to_json().to_string());
    }

    #[test]
    fn table_cells_are_padded_and_cut() {
        assert_eq!(pad("abc", 5), "abc  ");
        assert_eq!(pad("abcdef", 4), "abc…");
        assert_eq!(short_channel("Microsoft-Windows-Sysmon/Operational"), "Sysmon");
        assert_eq!(short_channel("Security"), "Security");
        let row = table_row(["t", "c", "ch", "1", "high", "rule", "k=v"], None);
        assert!(row.ends_with("k=v"), "{row}");
    }
}
