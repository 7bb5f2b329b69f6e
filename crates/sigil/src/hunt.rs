//! `sigil hunt`: run Sigma rules over event logs and report every detection.
//!
//! This module parses flags, feeds the engine and wires its sink to [`sigil_printer`] (how detections and the
//! summary look) and to the progress line (how the hunt is going).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context as _;
use owo_colors::OwoColorize as _;
use sigil_engine::{Detection, Engine, EngineOptions, HuntOptions, SortKey, TimeSorter, TimeWindow};
use sigil_engine::{HuntSink, HuntStats};
use sigil_events::{Event, ReadError};
use sigil_printer::summary::{ComputerCount, KindCount, Summary};
use sigil_printer::table::TimeZoneChoice;
use sigil_printer::text::{count, count_s};
use sigil_printer::{Printer, PrinterOptions};
use sigil_rule::Level;

use crate::term::ColorChoice;

const ABOUT: &str = "Hunt through event logs with Sigma rules.";

const LONG_ABOUT: &str = "Hunt through event logs with Sigma rules.

Reads Windows event logs (.evtx), JSON (.json: one object, an array, or several objects) and JSON lines (.jsonl, \
.ndjson, or - for stdin), and text logs recognised by their content (see --input-kind); folders are searched \
recursively, skipping hidden files and folders (names starting with '.'; name a hidden file directly to hunt it). \
Every event is matched against the rules its logsource selects: a process_creation rule sees Sysmon 1 and Security \
4688 events, and on 4688 its Image reads NewProcessName (see data/logsources/windows.toml; --mapping adds or \
replaces routes). Events are read and matched in parallel on all cores, with memory bounded whatever the input size.

Without PATH and without --rules, hunts the sample events bundled with sigil with the bundled example rules (a \
demonstration; the summary says so). With PATHs but no --rules, uses the bundled example rules.

Output:
  - detections go to stdout (or --output): a table by default, sized to the terminal (--width to choose, --full \
to see every value whole), one detection per line on a pipe; --format jsonl or csv for tools;
  - a summary goes to stderr: what was read (files, events, first and last event time, events and detections per \
computer), what was found (by level, by rule, ATT&CK tactics), what was left out (rules not run, grouped by reason; \
unreadable input by kind) and how long it took; --summary-only prints only the summary, --format json prints it as \
one JSON object;
  - on a terminal, a progress line on stderr shows files, events, detections, the rate and the time left.

Unreadable input (a corrupt EVTX chunk, a malformed JSON line) is reported with its file and position and skipped; \
the rest is still read. EVTX chunks are checked against their CRC32 checksums: the records of a damaged chunk are \
counted as lost (--ignore-checksums reads them anyway). --output may not be one of the inputs, nor a file a hunt of \
an input folder would read back.

Correlation rules (all eight Sigma types, chains of correlations, temporal condition expressions) are evaluated \
over the detections of the rules they reference, per group-by group in a sliding timespan window. With one input \
their alerts are emitted as the input streams by; with several, after the last event over all inputs in time \
order. --from/--to leave events outside the window out before matching, so they feed no correlation either. \
--filters loads Sigma filter rules kept apart from the rules; the summary says how many detections each removed.

Exit status: 0 when the hunt ran (whether or not anything was detected), 1 with --fail-on-detection when \
something was detected, 2 on bad usage or when no input could be read.";

const EXAMPLES: &str = "Examples:
  sigil hunt                                              the bundled sample events and rules (a demonstration)
  sigil hunt logs/ --rules sigma/rules/windows --min-level high
  sigil hunt Security.evtx --rules rules/ --format jsonl --output detections.jsonl
  sigil hunt logs/ --rules rules/ --from 2024-03-01 --to 2024-03-02T12:00:00Z --timezone local
  sigil hunt logs/ --rules rules/ --summary-only --verbose
  sigil hunt logs/ --rules rules/ --format json | jq .by_level
  cat events.jsonl | sigil hunt - --rules rules/ --format csv --sort";

#[derive(Debug, clap::Args)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Args {
    /// Event files or folders (.evtx, .json, .jsonl, .ndjson, .log, .gz; - for stdin); other formats are
    /// recognised by content (see --input-kind).
    paths: Vec<PathBuf>,
    /// Rule files or folders, each optionally named NAME=PATH; `NAME=dir/rules*` is expanded by sigil. Takes
    /// every path after it: put event paths first. A path that holds no rule is an error. Default: the rules
    /// bundled with sigil. Sigma rules only: inputs recognised as another family (`splunk=PATH`, an Elastic
    /// checkout) are skipped with one line counting them, and an error (exit 2) when no Sigma rule is left.
    #[arg(long, short, num_args = 1.., value_name = "[NAME=]PATH")]
    rules: Vec<String>,
    /// Output format: the detections (table, jsonl, csv) or the summary as one JSON object (json).
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write detections to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only run rules of this level or above (rules without a level count as informational).
    #[arg(long, value_enum, value_name = "LEVEL")]
    min_level: Option<LevelArg>,
    /// Only match events from this time on: an RFC 3339 time (2024-03-01T10:00:00Z, 2024-03-01T12:00:00+02:00) or
    /// a date (2024-03-01, midnight UTC). Events without a time are left out too.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    from: Option<jiff::Timestamp>,
    /// Only match events before this time (same forms as --from; a date means its midnight, so --to 2024-03-02
    /// keeps all of March 1).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    to: Option<jiff::Timestamp>,
    /// The time zone of the table's TIME column: UTC, local, an offset such as +02:00, or a name such as
    /// Europe/Berlin. JSON lines and CSV are always in UTC.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = TimeZoneChoice::parse)]
    timezone: TimeZoneChoice,
    /// Lay the table out for N columns (default: the terminal's width; on a pipe, one detection per line).
    #[arg(long, value_name = "N")]
    width: Option<usize>,
    /// Show every value of the table whole, wrapped within its column over several lines.
    #[arg(long, visible_alias = "wrap")]
    full: bool,
    /// Print only the summary (to stdout), no detections.
    #[arg(long)]
    summary_only: bool,
    /// List every rule not run in the summary, and every reason as a warning.
    #[arg(long, short)]
    verbose: bool,
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
    /// No progress line and no summary; warnings only.
    #[arg(long, short)]
    quiet: bool,
    /// No progress line (the summary is still printed).
    #[arg(long)]
    no_progress: bool,
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
    #[arg(long, value_name = "N", default_value_t = sigil_engine::DEFAULT_MAX_CORRELATION_EVENTS)]
    max_correlation_events: usize,
    /// Detections held in correlation windows at most; past it new ones are not counted (with a warning).
    #[arg(long, value_name = "N", default_value_t = sigil_engine::DEFAULT_MAX_CORRELATION_STATE)]
    max_correlation_state: usize,
    /// Add to each detection why it fired: the selections that matched and, per field, the rule's value after
    /// modifiers that matched and the event's value (JSONL key `explanation`; in the table, `why=` first among
    /// the key fields). Explaining evaluates the detected rule again; it never changes what is detected.
    #[arg(long)]
    explain: bool,
    /// Read and parse the input but run no rule (the benchmark's baseline).
    #[arg(long, hide = true)]
    parse_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Aligned columns sized to the terminal: time, computer, channel, event id, level, rule, key fields.
    Table,
    /// One JSON object per detection.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// The summary as one JSON object (no detections).
    Json,
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

/// An RFC 3339 time, or a date (its midnight, UTC).
fn parse_time(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    match s.parse::<jiff::civil::Date>() {
        Ok(d) => d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|e| format!("'{s}': {e}")),
        Err(_) => Err(format!(
            "'{s}' is not a time: use RFC 3339 (2024-03-01T10:00:00Z, 2024-03-01T12:00:00+02:00) or a date (2024-03-01)"
        )),
    }
}

/// Read errors printed per input before the rest are only counted.
const WARNINGS_PER_INPUT: u64 = 10;
/// Memory for --sort before detections spill to temporary files.
const SORT_BUDGET: usize = 256 << 20;
/// The size of an EVTX chunk (one batch): with the file sizes, it tells how much of an EVTX input is left.
const EVTX_CHUNK: u64 = 64 << 10;

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
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from >= to
    {
        anyhow::bail!("--from {from} is not before --to {to}: no event could be in the window");
    }

    let knowledge = load_knowledge(&args.mapping)?;
    let placeholders = load_placeholders(args.placeholders.as_deref())?;

    // Rules.
    // Rules of other families are set apart with one line; with none of Sigma there is nothing to hunt with.
    let inputs = crate::rule_inputs::RuleInputs::split(&args.rules);
    inputs.require_sigma("hunt")?;
    if let Some(line) = inputs.skipped_line("hunt") {
        warn(&line);
    }
    let rule_paths = inputs.sigma;
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
    let mut set = crate::bundled::load_rules_to_run(&rule_paths);
    for d in sigil_check::drop_duplicates(&mut set) {
        warn(&d.to_string());
    }
    if !args.filters.is_empty() {
        for problem in sigil_check::add_filters(&mut set, &args.filters) {
            warn(&problem);
        }
    }
    // The rule files' text was needed to find duplicates and place diagnostics; compiling reads only the parsed
    // rules, and freeing the text first lets the compiler reuse its memory (a lower peak).
    for file in &mut set.files {
        file.source = "".into();
    }
    let opts = EngineOptions {
        min_level: args.min_level.map(Level::from),
        all_logsources: args.all_logsources,
        placeholders,
        no_prefilter: false,
        // The lowered searches are only read to explain a detection.
        lean: !args.explain,
    };
    let (engine, report) = Engine::build(&set, &knowledge, &opts);
    let loaded = started.elapsed();
    report_skipped(&report, &args, &warn);
    if engine.rules().is_empty() && !args.parse_only {
        anyhow::bail!("no rules to hunt with ({} files loaded, {} skipped)", set.files.len(), report.skipped.len());
    }
    // The compiled rules are all the hunt needs; the parsed files (sources, models) can go, before the hunt
    // starts (so they add nothing to its peak memory).
    set.free();

    // Output.
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.output {
        Some(_) => args.color == ColorChoice::Always,
        None => args.color.stdout(),
    };
    let prints_detections = !args.summary_only && args.format != Format::Json;
    let out: Box<dyn Write + Send> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let width = args.width.or_else(|| if to_terminal { crate::term::terminal_width() } else { None });
    let printer = Printer::new(PrinterOptions {
        format: match args.format {
            Format::Table | Format::Json => sigil_printer::Format::Table,
            Format::Jsonl => sigil_printer::Format::Jsonl,
            Format::Csv => sigil_printer::Format::Csv,
        },
        color,
        width,
        full: args.full,
        timezone: args.timezone.clone(),
        explain: args.explain,
    });
    let (files, _) = if demo {
        (vec![PathBuf::from(crate::bundled::SAMPLE_EVENTS.0)], Vec::new())
    } else {
        sigil_events::discover(&args.paths)
    };
    let progress = if args.quiet || args.no_progress {
        crate::term::Progress::hidden()
    } else {
        crate::term::Progress::new(files.len() as u64, evtx_chunks(&files))
    };
    let source_index: HashMap<PathBuf, u32> =
        args.paths.iter().enumerate().map(|(i, p)| (p.clone(), i as u32)).collect();
    let mut sink = Sink {
        printer,
        prints_detections,
        out: Mutex::new(Output { w: out, header_done: false, error: None }),
        sorter: (args.sort && prints_detections).then(|| Mutex::new(TimeSorter::new(SORT_BUDGET))),
        warnings: Mutex::new(HashMap::new()),
        error_kinds: Mutex::new(HashMap::new()),
        seen: Mutex::new(Seen::default()),
        warn_color: err_color,
        progress: &progress,
        flush_rows: to_terminal,
        source_index,
        input_count: args.paths.len() as u32,
    };

    let mut hunt_opts = HuntOptions {
        jobs,
        parse_only: args.parse_only,
        max_correlation_events: args.max_correlation_events,
        max_correlation_state: args.max_correlation_state.max(1),
        window: TimeWindow { from: args.from, to: args.to },
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
    progress.finish();

    if let Some(sorter) = sink.sorter.take() {
        let sorter = sorter.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut o = sink.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if stats.detections > 0 {
            write_header(&mut o, &sink.printer);
        }
        if let Err(e) = sorter.finish(|_, line| o.w.write_all(line)) {
            o.error.get_or_insert(e);
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
            "correlation state reached --max-correlation-state ({}): {} were not counted by correlations; raise \
             the cap or hunt fewer groups at once",
            args.max_correlation_state,
            count_s(stats.correlation_dropped, "detection")
        ));
    }
    if stats.correlation_late > 0 {
        warn(&format!(
            "{} reached a correlation more than its timespan out of time order; windows they belong to may have \
             been judged already (sort the input by time, or hunt it with --sort among other inputs)",
            count_s(stats.correlation_late, "detection")
        ));
    }

    let summary = build_summary(&engine, &stats, &report, &sink, loaded, suppressed, &args, demo);
    // The process ends right after: freeing the compiled rules would only delay that.
    crate::catalog_args::done_with(engine);
    {
        let mut o = sink.out.lock().map_err(|_| anyhow::anyhow!("output poisoned"))?;
        if args.format == Format::Json {
            let written = serde_json::to_writer_pretty(&mut o.w, &summary)
                .map_err(std::io::Error::other)
                .and_then(|()| writeln!(o.w));
            if let Err(e) = written {
                o.error.get_or_insert(e);
            }
        } else if args.summary_only && !args.quiet {
            let text = summary.render_text(color, args.verbose);
            if let Err(e) = o.w.write_all(text.as_bytes()) {
                o.error.get_or_insert(e);
            }
        }
        let flushed = o.w.flush();
        match o.error.take().map_or(flushed, Err) {
            // The reader went away (`sigil hunt | head`): nothing more to say.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(e).context("writing detections"),
            Ok(()) => {}
        }
    }
    if !args.quiet && prints_detections {
        eprintln!();
        eprint!("{}", summary.render_text(err_color, args.verbose));
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

/// The number of EVTX chunks of the inputs, when every input is an EVTX file of known size (then the progress
/// line can tell the time left); `None` otherwise.
fn evtx_chunks(files: &[PathBuf]) -> Option<u64> {
    let mut chunks = 0;
    for f in files {
        if sigil_events::SourceKind::from_path(f) != Some(sigil_events::SourceKind::Evtx) {
            return None;
        }
        // A 4 KiB file header, then chunks of 64 KiB.
        let len = std::fs::metadata(f).ok()?.len();
        chunks += len.saturating_sub(4096).div_ceil(EVTX_CHUNK).max(1);
    }
    (chunks > 0).then_some(chunks)
}

/// Warnings about rules not run: one line with the totals (the summary groups them by reason), or each with
/// --verbose.
fn report_skipped(report: &sigil_engine::BuildReport, args: &Args, warn: &dyn Fn(&str)) {
    for (path, title, reference) in &report.filter_unknown_rules {
        warn(&format!("{path}: filter '{title}' names rule '{reference}', which is not loaded"));
    }
    // A few are told one by one; more only as a total (the summary groups them by reason).
    if args.verbose || report.skipped.len() <= 3 {
        for s in &report.skipped {
            match &s.reason {
                sigil_engine::SkipReason::FileErrors(first) => {
                    warn(&format!("{}: skipped, the file has errors ({first}; run 'sigil check' for all)", s.path));
                }
                sigil_engine::SkipReason::Compile(e) => {
                    warn(&format!("{}: rule '{}' skipped: {e}", s.path, s.title));
                }
                sigil_engine::SkipReason::Correlation(e) => {
                    warn(&format!("{}: correlation '{}' not evaluated: {e}", s.path, s.title));
                }
            }
        }
    } else if !report.skipped.is_empty() {
        let files =
            report.skipped.iter().filter(|s| matches!(s.reason, sigil_engine::SkipReason::FileErrors(_))).count();
        let first = report.skipped.first().map(|s| s.path.as_str()).unwrap_or_default();
        warn(&format!(
            "{} skipped ({} with errors in their file, e.g. {first}: run 'sigil check'); the summary groups them by \
             reason, --verbose lists each",
            count_s(report.skipped.len() as u64, "rule"),
            files
        ));
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
            shown.push(format!("{} of {}", count_s(more as u64, "more rule"), names.join(", ")));
        }
        let hint =
            if args.all_logsources { "" } else { "; --all-logsources runs them on every event, --mapping routes them" };
        let have = if n == 1 { "1 rule has" } else { &format!("{n} rules have") };
        warn(&format!("{have} a logsource no log sigil reads can feed, {what}{hint}:\n  {}", shown.join("\n  ")));
        if n <= 5 || args.verbose {
            for u in &report.unrouted {
                for (path, title) in &u.rules {
                    warn(&format!("  {path}: '{title}' (logsource {})", u.logsource));
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_summary(
    engine: &Engine,
    stats: &HuntStats,
    report: &sigil_engine::BuildReport,
    sink: &Sink<'_>,
    loaded: std::time::Duration,
    suppressed: u64,
    args: &Args,
    demo: bool,
) -> Summary {
    let mut s = Summary::from_hunt(engine, stats, report, loaded.as_secs_f64(), !args.all_logsources);
    s.matched = !args.parse_only;
    s.out_of_window = stats.out_of_window;
    let seen = sink.seen.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
    s.first_event = seen.first.map(|t| t.to_string());
    s.last_event = seen.last.map(|t| t.to_string());
    s.computers_seen = seen.computers.len() as u64;
    let mut computers: Vec<ComputerCount> = seen
        .computers
        .into_iter()
        .map(|(name, (events, detections))| ComputerCount { name, events, detections })
        .collect();
    computers.sort_by(|a, b| {
        b.detections.cmp(&a.detections).then(b.events.cmp(&a.events)).then_with(|| a.name.cmp(&b.name))
    });
    computers.truncate(sigil_printer::summary::TOP);
    s.computers = computers;
    let mut kinds: Vec<KindCount> = sink
        .error_kinds
        .lock()
        .map(|k| k.iter().map(|(kind, count)| KindCount { kind: (*kind).to_string(), count: *count }).collect())
        .unwrap_or_default();
    kinds.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)));
    s.unreadable.by_kind = kinds;
    s.unreadable.not_shown = suppressed;
    if stats.untimed_for_correlation > 0 {
        s.notes.push(format!(
            "{} without a timestamp, left out of correlations",
            count_s(stats.untimed_for_correlation, "detection")
        ));
    }
    if !args.parse_only && engine.rules().iter().any(sigil_engine::CompiledRule::is_correlation) {
        let how = if stats.correlation_streamed {
            "as the input streamed by"
        } else {
            "after the last event (several inputs)"
        };
        s.notes.push(format!(
            "correlations: evaluated {how}; at most {} held in their windows",
            count_s(stats.correlation_peak_state as u64, "detection")
        ));
    }
    for (f, removed) in engine.filters().iter().zip(&stats.filter_removed) {
        s.notes.push(format!(
            "filter '{}' ({}): removed {} of {}",
            f.title,
            f.path,
            count_s(*removed, "detection"),
            count_s(f.rules as u64, "rule")
        ));
    }
    if stats.unselected_without_header > 0 {
        s.notes.push(format!(
            "events with no Channel and no Provider_Name, which no rule's logsource can select: {} (is the log in a \
             shape sigil reads? --all-logsources runs unroutable rules on every event)",
            stats.unselected_without_header
        ));
    }
    if stats.regex_failures > 0 {
        s.notes.push(format!(
            "warning: {} could not be built; events they were tested on could not match them",
            count(stats.regex_failures, "regular expression", "regular expressions")
        ));
    }
    if demo {
        s.notes.push(
            "this was a demonstration: the bundled example rules on the bundled sample events (no event path and \
             no --rules given); try 'sigil hunt logs/ --rules rules/'"
                .into(),
        );
    }
    s
}

fn parse_input_kind(s: &str) -> Result<sigil_events::InputKind, sigil_events::UnknownInputKind> {
    sigil_events::InputKind::parse(s)
}
/// Every `--rules` path must exist and hold at least one rule file: a folder of events given after `--rules`
/// by mistake must not be taken for an empty rule folder.
/// The builtin routing tables with the `--mapping` files applied in order.
/// The built-in knowledge, borrowed (not copied) unless `--mapping` files extend it.
pub(crate) fn load_knowledge(mapping: &[PathBuf]) -> anyhow::Result<Cow<'static, sigil_knowledge::Knowledge>> {
    let mut knowledge = Cow::Borrowed(sigil_knowledge::Knowledge::builtin().map_err(|e| anyhow::anyhow!("{e}"))?);
    for m in mapping {
        knowledge =
            Cow::Owned(knowledge.into_owned().with_mapping_file(m).map_err(|e| anyhow::anyhow!("--mapping: {e}"))?);
    }
    Ok(knowledge)
}

/// The `--placeholders` file's values, or none.
pub(crate) fn load_placeholders(path: Option<&Path>) -> anyhow::Result<sigil_ir::Placeholders> {
    match path {
        Some(p) => sigil_engine::load_placeholders(p).map_err(|e| anyhow::anyhow!("--placeholders: {e}")),
        None => Ok(sigil_ir::Placeholders::new()),
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
        if path.is_dir() && !sigil_rule::holds_rule_file(path) {
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

struct Output {
    w: Box<dyn Write + Send>,
    header_done: bool,
    error: Option<std::io::Error>,
}

/// What the sink counts of every event: the time range, and events and detections per computer.
#[derive(Default)]
struct Seen {
    first: Option<jiff::Timestamp>,
    last: Option<jiff::Timestamp>,
    /// Computer → (events, detections).
    computers: HashMap<String, (u64, u64)>,
}

struct Sink<'p> {
    printer: Printer,
    /// False with --summary-only and --format json: detections are counted, not printed.
    prints_detections: bool,
    out: Mutex<Output>,
    sorter: Option<Mutex<TimeSorter>>,
    warnings: Mutex<HashMap<PathBuf, u64>>,
    error_kinds: Mutex<HashMap<&'static str, u64>>,
    seen: Mutex<Seen>,
    warn_color: bool,
    progress: &'p crate::term::Progress,
    /// Flush after each batch of rows (a terminal: rows appear as they are found).
    flush_rows: bool,
    source_index: HashMap<PathBuf, u32>,
    input_count: u32,
}

impl HuntSink for Sink<'_> {
    fn events(&self, source: &Path, events: &[Event]) {
        self.progress.batch(source);
        // Counted per batch, then merged under the lock once.
        let mut first: Option<jiff::Timestamp> = None;
        let mut last: Option<jiff::Timestamp> = None;
        let mut computers: HashMap<&str, u64> = HashMap::new();
        // Logs come in runs of one computer: counted per run, one map entry touched per run.
        let mut run: Option<(&str, u64)> = None;
        for e in events {
            if let Some(t) = e.timestamp() {
                first = Some(first.map_or(t, |f| f.min(t)));
                last = Some(last.map_or(t, |l| l.max(t)));
            }
            if let Some(c) = e.computer() {
                match &mut run {
                    Some((current, n)) if *current == c => *n += 1,
                    _ => {
                        if let Some((done, n)) = run.replace((c, 1)) {
                            *computers.entry(done).or_insert(0) += n;
                        }
                    }
                }
            }
        }
        if let Some((done, n)) = run {
            *computers.entry(done).or_insert(0) += n;
        }
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(f) = first {
            seen.first = Some(seen.first.map_or(f, |s| s.min(f)));
        }
        if let Some(l) = last {
            seen.last = Some(seen.last.map_or(l, |s| s.max(l)));
        }
        for (c, n) in computers {
            match seen.computers.get_mut(c) {
                Some(e) => e.0 += n,
                None => {
                    seen.computers.insert(c.to_string(), (n, 0));
                }
            }
        }
    }

    fn detections(&self, detections: &[Detection<'_>]) {
        {
            let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for d in detections {
                if let Some(c) = d.event.computer() {
                    match seen.computers.get_mut(c) {
                        Some(e) => e.1 += 1,
                        None => {
                            seen.computers.insert(c.to_string(), (0, 1));
                        }
                    }
                }
            }
        }
        if !self.prints_detections {
            return;
        }
        if let Some(sorter) = &self.sorter {
            let mut lines = Vec::with_capacity(detections.len());
            for (i, d) in detections.iter().enumerate() {
                let mut line = Vec::new();
                self.printer.detection(&mut line, d);
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
        self.printer.detections(&mut buf, detections);
        self.progress.suspend(|| {
            if let Ok(mut o) = self.out.lock() {
                if o.error.is_some() {
                    return;
                }
                write_header(&mut o, &self.printer);
                let mut r = o.w.write_all(&buf);
                if self.flush_rows {
                    r = r.and_then(|()| o.w.flush());
                }
                if let Err(e) = r {
                    o.error = Some(e);
                }
            }
        });
    }

    fn read_error(&self, error: &ReadError) {
        if let Ok(mut k) = self.error_kinds.lock() {
            *k.entry(sigil_printer::summary::error_kind(error)).or_insert(0) += 1;
        }
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
        self.progress.update(events, detections);
    }
}

impl Sink<'_> {
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

/// Writes the header once, before the first detection.
fn write_header(o: &mut Output, printer: &Printer) {
    if o.header_done {
        return;
    }
    o.header_done = true;
    let mut buf = Vec::new();
    printer.header(&mut buf);
    if let Err(e) = o.w.write_all(&buf) {
        o.error.get_or_insert(e);
    }
}
