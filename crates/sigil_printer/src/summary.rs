//! The hunt's summary: what was read, what was found, what was left out — as text for people (stderr) and as
//! one JSON object for tools (`sigil hunt --format json`; the shape is documented in the README).
//!
//! The summary is plain data ([`Summary`]); the caller fills it from the hunt's statistics (see
//! [`Summary::from_hunt`]) and from what it counted itself (computers, first and last event time).

use std::fmt::Write as _;

use owo_colors::OwoColorize as _;
use serde::Serialize;
use sigil_engine::{BuildReport, Engine, HuntStats, SkipReason};

use crate::text::{count, count_s};

/// How many computers, rules and tactics the text shows (JSON lists all rules and tactics, and the same top
/// computers).
pub const TOP: usize = 10;

/// Everything the summary says.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Inputs read (files, or `-`).
    pub files: u64,
    /// Events read.
    pub events: u64,
    /// Detections reported (after filters).
    pub detections: u64,
    /// The earliest event time of the input (RFC 3339, UTC), when any event had one.
    pub first_event: Option<String>,
    /// The latest event time of the input.
    pub last_event: Option<String>,
    /// Events outside `--from`/`--to`, not matched.
    pub out_of_window: u64,
    /// Seconds the hunt took (reading and matching).
    pub seconds: f64,
    /// Events per second.
    pub events_per_second: f64,
    /// Whether rules ran (false with the benchmark's parse-only mode).
    pub matched: bool,
    /// The rules.
    pub rules: Rules,
    /// Detections per level.
    pub by_level: Levels,
    /// Rules that detected something, most detections first.
    pub top_rules: Vec<RuleCount>,
    /// Computers with the most detections (then events), at most [`TOP`].
    pub computers: Vec<ComputerCount>,
    /// Computers seen in all.
    pub computers_seen: u64,
    /// MITRE ATT&CK tactics of the rules that detected something (`attack.<tactic>` tags), most detections first.
    pub tactics: Vec<TacticCount>,
    /// Input that could not be read.
    pub unreadable: Unreadable,
    /// Other remarks (correlations, filters, events no rule could select), one sentence each.
    pub notes: Vec<String>,
}

/// The rules of the hunt.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rules {
    /// Rules compiled and run.
    pub compiled: usize,
    /// Seconds loading and compiling them took.
    pub load_seconds: f64,
    /// Rules below `--min-level`, not run.
    pub below_level: usize,
    /// Rules not run, grouped by reason (most rules first).
    pub skipped: Vec<SkipGroup>,
}

/// Rules left out for one reason.
#[derive(Debug, Clone, Serialize)]
pub struct SkipGroup {
    /// The reason, with rule-specific details left out (`the modifier '…' is not supported`).
    pub reason: String,
    /// How many rules.
    pub count: u64,
    /// Each rule: file, title and the full reason.
    pub rules: Vec<SkippedRule>,
}

/// One rule left out.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedRule {
    /// Its file, as shown to users.
    pub path: String,
    /// Its title.
    pub title: String,
    /// Why, in full.
    pub detail: String,
}

/// Detections per level.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Levels {
    /// `critical`.
    pub critical: u64,
    /// `high`.
    pub high: u64,
    /// `medium`.
    pub medium: u64,
    /// `low`.
    pub low: u64,
    /// `informational` or no level.
    pub informational: u64,
}

/// Detections of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCount {
    /// The rule's title.
    pub title: String,
    /// Its id.
    pub id: Option<String>,
    /// Its level.
    pub level: Option<&'static str>,
    /// Detections.
    pub detections: u64,
}

/// Events and detections of one computer.
#[derive(Debug, Clone, Serialize)]
pub struct ComputerCount {
    /// The computer (host) name.
    pub name: String,
    /// Events it logged.
    pub events: u64,
    /// Detections on its events.
    pub detections: u64,
}

/// Detections under one ATT&CK tactic.
#[derive(Debug, Clone, Serialize)]
pub struct TacticCount {
    /// The tactic as tagged (`execution`, `credential_access`).
    pub tactic: String,
    /// Detections of rules tagged with it.
    pub detections: u64,
}

/// Input that could not be read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Unreadable {
    /// Read errors (a damaged EVTX chunk or record, a malformed line or value, a file that cannot be opened).
    pub errors: u64,
    /// Events those errors lost.
    pub events_lost: u64,
    /// Errors by kind (`evtx chunk`, `json line`, ...), most first.
    pub by_kind: Vec<KindCount>,
    /// Errors printed as warnings beyond the per-input limit (only counted).
    pub not_shown: u64,
}

/// A count of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// How many.
    pub count: u64,
}

/// The kind of a read error, as the summary counts it.
pub fn error_kind(e: &sigil_events::ReadError) -> &'static str {
    use sigil_events::ReadError as E;
    match e {
        E::Io { .. } => "file not readable",
        E::Format { .. } => "unknown format",
        E::EvtxFile { .. } => "damaged EVTX file header",
        E::EvtxChunk { .. } => "damaged EVTX chunk",
        E::EvtxRecord { .. } => "damaged EVTX record",
        E::JsonLine { .. } => "malformed JSON line",
        E::Json { .. } => "malformed JSON value",
        E::TextLine { .. } => "malformed log line",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// A reason with its specifics (quoted names, numbers after `:`) left out, so that rules skipped for the same
/// reason group together.
fn general(reason: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in reason.chars() {
        if c == '\'' {
            if !quoted {
                out.push_str("'…'");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

impl Summary {
    /// The summary of a hunt from its statistics and the engine's build report. The caller adds what the engine
    /// does not count ([`Summary::computers`], [`Summary::first_event`], ...). `unrouted_skipped`: whether rules
    /// of a logsource no reader feeds were left out (rather than run on every event).
    pub fn from_hunt(
        engine: &Engine,
        stats: &HuntStats,
        report: &BuildReport,
        load_seconds: f64,
        unrouted_skipped: bool,
    ) -> Summary {
        let seconds = stats.elapsed.as_secs_f64();
        let [informational, low, medium, high, critical] = stats.by_level;
        let mut top_rules: Vec<RuleCount> = stats
            .by_rule
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .filter_map(|(i, n)| {
                engine.rules().get(i).map(|r| RuleCount {
                    title: r.info.title.clone(),
                    id: r.info.id.clone(),
                    level: r.info.level.map(sigil_rule::Level::as_str),
                    detections: *n,
                })
            })
            .collect();
        top_rules.sort_by(|a, b| b.detections.cmp(&a.detections).then_with(|| a.title.cmp(&b.title)));
        let mut tactics: Vec<TacticCount> = Vec::new();
        for (i, n) in stats.by_rule.iter().enumerate().filter(|(_, n)| **n > 0) {
            let Some(rule) = engine.rules().get(i) else { continue };
            for tactic in rule.info.tags.iter().filter_map(|t| tactic_of(t)) {
                match tactics.iter_mut().find(|t| t.tactic == tactic) {
                    Some(t) => t.detections += n,
                    None => tactics.push(TacticCount { tactic: tactic.to_string(), detections: *n }),
                }
            }
        }
        tactics.sort_by(|a, b| b.detections.cmp(&a.detections).then_with(|| a.tactic.cmp(&b.tactic)));
        let mut skipped: Vec<SkipGroup> = Vec::new();
        let mut skip = |reason: String, detail: String, path: &str, title: &str| {
            let rule = SkippedRule { path: path.to_string(), title: title.to_string(), detail };
            match skipped.iter_mut().find(|g| g.reason == reason) {
                Some(g) => {
                    g.count += 1;
                    g.rules.push(rule);
                }
                None => skipped.push(SkipGroup { reason, count: 1, rules: vec![rule] }),
            }
        };
        for s in &report.skipped {
            match &s.reason {
                SkipReason::FileErrors(first) => {
                    skip("the rule file has errors (see 'sigil check')".into(), first.clone(), &s.path, &s.title);
                }
                SkipReason::Compile(e) => {
                    let detail = e.to_string();
                    skip(general(&detail), detail, &s.path, &s.title);
                }
                SkipReason::Correlation(e) => {
                    let detail = e.to_string();
                    skip(format!("correlation not evaluated: {}", general(&detail)), detail, &s.path, &s.title);
                }
            }
        }
        for u in report.unrouted.iter().filter(|_| unrouted_skipped) {
            let why = u.why.clone().unwrap_or_else(|| "no reader gives events of this logsource".into());
            for (path, title) in &u.rules {
                skip(
                    "no log sigil reads feeds its logsource".into(),
                    format!("logsource {}: {why}", u.logsource),
                    path,
                    title,
                );
            }
        }
        skipped.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        Summary {
            files: stats.read.sources.len() as u64,
            events: stats.events,
            detections: stats.detections,
            seconds,
            events_per_second: if seconds > 0.0 { (stats.events as f64 / seconds).round() } else { 0.0 },
            rules: Rules { compiled: report.compiled, load_seconds, below_level: report.below_level, skipped },
            by_level: Levels { critical, high, medium, low, informational },
            top_rules,
            tactics,
            unreadable: Unreadable {
                errors: stats.read_errors,
                events_lost: stats.records_lost,
                ..Unreadable::default()
            },
            ..Summary::default()
        }
    }

    /// The summary as text for a terminal or a log: a first line with the totals, then one section per topic,
    /// each only when it has something to say. `color` adds ANSI colours (bold titles, levels in their colour);
    /// `verbose` lists every skipped rule.
    pub fn render_text(&self, color: bool, verbose: bool) -> String {
        let mut o = String::new();
        let bold = |s: &str| if color { s.bold().to_string() } else { s.to_string() };
        let _ = writeln!(
            o,
            "{} {}, {}, {} in {:.2}s ({:.0} events/s)",
            bold("hunt:"),
            count_s(self.files, "file"),
            count_s(self.events, "event"),
            count_s(self.detections, "detection"),
            self.seconds,
            self.events_per_second,
        );
        let _ = writeln!(
            o,
            "  rules: {} run (loaded in {:.2}s){}",
            self.rules.compiled,
            self.rules.load_seconds,
            if self.rules.below_level > 0 {
                format!(", {} below --min-level", count_s(self.rules.below_level as u64, "rule"))
            } else {
                String::new()
            },
        );
        if !self.matched {
            let _ = writeln!(o, "  parse only: no rule was run");
        }
        match (&self.first_event, &self.last_event) {
            (Some(first), Some(last)) => {
                let _ = writeln!(o, "  events from {first} to {last}");
            }
            _ if self.events > 0 => {
                let _ = writeln!(o, "  no event had a time");
            }
            _ => {}
        }
        if self.out_of_window > 0 {
            let _ = writeln!(o, "  outside --from/--to (not matched): {}", count_s(self.out_of_window, "event"));
        }
        if self.detections > 0 {
            let l = &self.by_level;
            let levels = [
                ("critical", l.critical, Some(sigil_rule::Level::Critical)),
                ("high", l.high, Some(sigil_rule::Level::High)),
                ("medium", l.medium, Some(sigil_rule::Level::Medium)),
                ("low", l.low, Some(sigil_rule::Level::Low)),
                ("informational", l.informational, None),
            ];
            let parts: Vec<String> = levels
                .iter()
                .filter(|(_, n, _)| *n > 0)
                .map(|(name, n, level)| {
                    let text = format!("{name} {n}");
                    if color { paint(&text, *level) } else { text }
                })
                .collect();
            let _ = writeln!(o, "  by level: {}", parts.join(", "));
        }
        if !self.computers.is_empty() {
            let _ = writeln!(
                o,
                "  detections by computer{}:",
                top_of(self.computers.len().min(TOP), self.computers_seen as usize)
            );
            for c in self.computers.iter().take(TOP) {
                let _ = writeln!(o, "    {:>8}  {} ({})", c.detections, c.name, count_s(c.events, "event"));
            }
        }
        if !self.top_rules.is_empty() {
            let _ =
                writeln!(o, "  rules that detected{}:", top_of(TOP.min(self.top_rules.len()), self.top_rules.len()));
            for r in self.top_rules.iter().take(TOP) {
                let level = r.level.unwrap_or("-");
                let _ = writeln!(o, "    {:>8}  {:<13} {}", r.detections, level, r.title);
            }
            if self.top_rules.len() > TOP {
                let rest: u64 = self.top_rules.iter().skip(TOP).map(|r| r.detections).sum();
                let _ =
                    writeln!(o, "    {rest:>8}  from {} more", count_s((self.top_rules.len() - TOP) as u64, "rule"));
            }
        }
        if !self.tactics.is_empty() {
            let parts: Vec<String> =
                self.tactics.iter().map(|t| format!("{} {}", t.tactic.replace('_', "-"), t.detections)).collect();
            let _ = writeln!(o, "  ATT&CK tactics: {}", parts.join(", "));
        }
        if !self.rules.skipped.is_empty() {
            let total: u64 = self.rules.skipped.iter().map(|g| g.count).sum();
            let _ = writeln!(
                o,
                "  {} not run{}:",
                count_s(total, "rule"),
                if verbose { "" } else { " (--verbose lists them)" }
            );
            for g in &self.rules.skipped {
                let _ = writeln!(o, "    {:>8}  {}", g.count, g.reason);
                if verbose {
                    for r in &g.rules {
                        let _ = writeln!(o, "              {}: '{}': {}", r.path, r.title, r.detail);
                    }
                }
            }
        }
        let u = &self.unreadable;
        if u.errors > 0 {
            let _ = writeln!(
                o,
                "  unreadable input: {}, {} lost{}",
                count(u.errors, "error", "errors"),
                count_s(u.events_lost, "event"),
                if u.not_shown > 0 { format!(" ({} not shown above)", u.not_shown) } else { String::new() }
            );
            for k in &u.by_kind {
                let _ = writeln!(o, "    {:>8}  {}", k.count, k.kind);
            }
        }
        for note in &self.notes {
            let _ = writeln!(o, "  {note}");
        }
        o
    }
}

/// `" (top 10 of 42)"` when some are left out, else nothing.
fn top_of(shown: usize, total: usize) -> String {
    if total > shown { format!(" (top {shown} of {total})") } else { String::new() }
}

fn paint(s: &str, level: Option<sigil_rule::Level>) -> String {
    use sigil_rule::Level;
    match level {
        Some(Level::Critical) => s.red().bold().to_string(),
        Some(Level::High) => s.red().to_string(),
        Some(Level::Medium) => s.yellow().to_string(),
        Some(Level::Low) => s.green().to_string(),
        _ => s.dimmed().to_string(),
    }
}

/// The tactic of an `attack.<tactic>` tag (`attack.execution` → `execution`); `None` for techniques
/// (`attack.t1059`), groups (`attack.g0016`) and software (`attack.s0002`).
fn tactic_of(tag: &str) -> Option<&str> {
    let rest = tag.strip_prefix("attack.")?;
    let is_id = |p: char| {
        rest.len() > 1
            && rest.starts_with(p)
            && rest.get(1..).is_some_and(|d| d.starts_with(|c: char| c.is_ascii_digit()))
    };
    if rest.is_empty() || is_id('t') || is_id('g') || is_id('s') {
        return None;
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactics_are_told_from_techniques() {
        assert_eq!(tactic_of("attack.execution"), Some("execution"));
        assert_eq!(tactic_of("attack.credential_access"), Some("credential_access"));
        assert_eq!(tactic_of("attack.t1059.001"), None);
        assert_eq!(tactic_of("attack.g0016"), None);
        assert_eq!(tactic_of("attack.s0002"), None);
        assert_eq!(tactic_of("cve.2021-44228"), None);
    }

    #[test]
    fn reasons_group_without_their_specifics() {
        assert_eq!(general("the modifier 'foo' is not supported"), "the modifier '…' is not supported");
        assert_eq!(general("no quotes"), "no quotes");
    }

    #[test]
    fn text_summary_pluralises_and_lists_skipped_rules_only_when_verbose() {
        let s = Summary {
            files: 1,
            events: 2,
            detections: 1,
            seconds: 0.5,
            events_per_second: 4.0,
            matched: true,
            first_event: Some("2024-03-01T10:00:00Z".into()),
            last_event: Some("2024-03-01T11:00:00Z".into()),
            by_level: Levels { high: 1, ..Levels::default() },
            top_rules: vec![RuleCount { title: "R".into(), id: None, level: Some("high"), detections: 1 }],
            computers: vec![ComputerCount { name: "pc1".into(), events: 2, detections: 1 }],
            computers_seen: 1,
            tactics: vec![TacticCount { tactic: "credential_access".into(), detections: 1 }],
            rules: Rules {
                compiled: 3,
                load_seconds: 0.25,
                below_level: 0,
                skipped: vec![SkipGroup {
                    reason: "the modifier '…' is not supported".into(),
                    count: 2,
                    rules: vec![
                        SkippedRule { path: "a.yml".into(), title: "A".into(), detail: "the modifier 'x'".into() },
                        SkippedRule { path: "b.yml".into(), title: "B".into(), detail: "the modifier 'y'".into() },
                    ],
                }],
            },
            unreadable: Unreadable {
                errors: 1,
                events_lost: 1,
                by_kind: vec![KindCount { kind: "malformed JSON line".into(), count: 1 }],
                not_shown: 0,
            },
            ..Summary::default()
        };
        let text = s.render_text(false, false);
        insta::assert_snapshot!("summary_text", text);
        assert!(!text.contains("a.yml"));
        let verbose = s.render_text(false, true);
        assert!(verbose.contains("a.yml: 'A': the modifier 'x'") && verbose.contains("b.yml"), "{verbose}");
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["rules"]["skipped"][0]["count"], 2);
        assert_eq!(json["by_level"]["high"], 1);
    }
}
