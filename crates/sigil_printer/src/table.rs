//! The table for people: one row per detection, columns sized to the width given.
//!
//! Columns, most useful first: TIME, LEVEL, RULE, KEY FIELDS (always shown), then COMPUTER, EVENT (id) and
//! CHANNEL, which a narrow width drops in the reverse order (CHANNEL first). Space beyond the minimum goes to
//! RULE (up to [`RULE_MAX`] columns), COMPUTER and CHANNEL (to modest caps), and all the rest to KEY FIELDS, so
//! a wide terminal shows more of what matters. A value too long for its cell is cut in the middle with `…`
//! (both ends of a path or command line stay); within KEY FIELDS each field gets a fair share, short ones
//! whole. With [`crate::PrinterOptions::full`] nothing is cut: values wrap within their column over several
//! lines. Without a width (a pipe or a file) each detection is one line with every value whole.
//!
//! In all cases control characters of values are escaped ([`crate::text::escape_control`]).

use std::fmt::Write as _;

use owo_colors::OwoColorize as _;
use sigil_engine::Detection;
use sigil_rule::Level;

use crate::PrinterOptions;
use crate::text::{elide_end, elide_middle, escape_control, pad, width, wrap};

/// The narrowest width laid out; below it lines are this wide (and the terminal wraps them).
pub const MIN_WIDTH: usize = 64;
/// The widest the RULE column grows.
pub const RULE_MAX: usize = 56;
/// Columns between cells.
const GAP: usize = 2;

/// The time zone of the TIME column.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeZoneChoice {
    /// Coordinated Universal Time (the default).
    Utc,
    /// A time zone: the system's (`local`), a fixed offset (`+02:00`) or an IANA name (`Europe/Berlin`), with
    /// the label shown in the header.
    Zone(jiff::tz::TimeZone, String),
}

/// A `--tz` value that is no time zone sigil knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone '{0}': use UTC, local, an offset such as +02:00, or a name such as Europe/Berlin")]
pub struct UnknownTimeZone(pub String);

impl TimeZoneChoice {
    /// Parses `UTC` (or `Z`), `local`, `±HH:MM` (or `±HH`) or an IANA time zone name.
    ///
    /// # Errors
    /// A message naming what is accepted when `s` is none of these.
    pub fn parse(s: &str) -> Result<TimeZoneChoice, UnknownTimeZone> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t == "+00:00" {
            return Ok(TimeZoneChoice::Utc);
        }
        if t.eq_ignore_ascii_case("local") {
            let tz = jiff::tz::TimeZone::system();
            let label = tz.iana_name().map_or_else(|| "local".to_string(), str::to_string);
            return Ok(TimeZoneChoice::Zone(tz, label));
        }
        if let Some(offset) = parse_offset(t) {
            return Ok(TimeZoneChoice::Zone(jiff::tz::TimeZone::fixed(offset), t.to_string()));
        }
        match jiff::tz::TimeZone::get(t) {
            Ok(tz) => Ok(TimeZoneChoice::Zone(tz, t.to_string())),
            Err(_) => Err(UnknownTimeZone(s.to_string())),
        }
    }

    /// The label of the header: `UTC`, `+02:00`, `Europe/Berlin`.
    pub fn label(&self) -> &str {
        match self {
            TimeZoneChoice::Utc => "UTC",
            TimeZoneChoice::Zone(_, label) => label,
        }
    }

    /// A time as the table shows it (`2024-03-01 10:00:00`, in this zone).
    pub fn format(&self, t: jiff::Timestamp) -> String {
        match self {
            TimeZoneChoice::Utc => t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            TimeZoneChoice::Zone(tz, _) => t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// `±HH:MM`, `±HHMM` or `±HH` as an offset.
fn parse_offset(s: &str) -> Option<jiff::tz::Offset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) || rest.len() > 5 {
        return None;
    }
    let hours: i32 = digits.get(0..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..).filter(|m| !m.is_empty()).map_or(Some(0), |m| m.parse().ok())?;
    if hours > 17 || minutes > 59 {
        return None;
    }
    jiff::tz::Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    Computer,
    Channel,
    Event,
    Level,
    Rule,
    Keys,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Time => "TIME",
            Col::Computer => "COMPUTER",
            Col::Channel => "CHANNEL",
            Col::Event => "EVENT",
            Col::Level => "LEVEL",
            Col::Rule => "RULE",
            Col::Keys => "KEY FIELDS",
        }
    }
}

/// Widths of the columns shown, in display order; the last (KEY FIELDS) takes what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    cols: Vec<(Col, usize)>,
    /// Whether widths bind (a terminal); without, cells are padded to their width but never cut.
    fitted: bool,
}

/// Column widths on a pipe: cells are padded to them, never cut.
const PIPE: [(Col, usize); 7] = [
    (Col::Time, 19),
    (Col::Computer, 16),
    (Col::Channel, 14),
    (Col::Event, 5),
    (Col::Level, 8),
    (Col::Rule, 44),
    (Col::Keys, 0),
];

impl Layout {
    /// The layout for a width in columns (`None`: a pipe).
    pub fn new(width: Option<usize>) -> Layout {
        let Some(total) = width else { return Layout { cols: PIPE.to_vec(), fitted: false } };
        let total = total.max(MIN_WIDTH);
        // Minimum widths; optional columns are added, most useful first, while they fit.
        let (time, level, rule_min, keys_min) = (19, 8, 15, 15);
        let mut used = time + level + rule_min + keys_min + 3 * GAP;
        let mut computer = None;
        let mut event = None;
        let mut channel = None;
        if used + 12 + GAP <= total {
            computer = Some(12);
            used += 12 + GAP;
        }
        if computer.is_some() && used + 5 + GAP <= total {
            event = Some(5);
            used += 5 + GAP;
        }
        if event.is_some() && used + 10 + GAP <= total {
            channel = Some(10);
            used += 10 + GAP;
        }
        // Share what is left: RULE first, then COMPUTER and CHANNEL, the rest to KEY FIELDS.
        let mut extra = total.saturating_sub(used);
        let mut rule = rule_min;
        let grow = |cell: &mut usize, cap: usize, share: usize, extra: &mut usize| {
            let add = share.min(cap.saturating_sub(*cell)).min(*extra);
            *cell += add;
            *extra -= add;
        };
        grow(&mut rule, RULE_MAX, extra / 3, &mut extra);
        if let Some(c) = computer.as_mut() {
            grow(c, 24, extra / 6, &mut extra);
        }
        if let Some(c) = channel.as_mut() {
            grow(c, 14, extra / 10, &mut extra);
        }
        let keys = keys_min + extra;
        let mut cols = vec![(Col::Time, time)];
        cols.extend(computer.map(|w| (Col::Computer, w)));
        cols.extend(channel.map(|w| (Col::Channel, w)));
        cols.extend(event.map(|w| (Col::Event, w)));
        cols.extend([(Col::Level, level), (Col::Rule, rule), (Col::Keys, keys)]);
        Layout { cols, fitted: true }
    }

    /// The total width of a full line.
    pub fn width(&self) -> usize {
        self.cols.iter().map(|(_, w)| w).sum::<usize>() + GAP * self.cols.len().saturating_sub(1)
    }

    /// The names of the columns shown, in order.
    pub fn columns(&self) -> Vec<&'static str> {
        self.cols.iter().map(|(c, _)| c.title()).collect()
    }
}

/// Appends the header line.
pub(crate) fn header(buf: &mut Vec<u8>, layout: &Layout, opts: &PrinterOptions) {
    let time = format!("TIME ({})", opts.timezone.label());
    let cells: Vec<String> = layout
        .cols
        .iter()
        .map(|(c, w)| {
            let title = if *c == Col::Time { time.as_str() } else { c.title() };
            if layout.fitted { elide_end(title, *w) } else { title.to_string() }
        })
        .collect();
    let line = join(layout, &cells, None);
    let line = if opts.color { line.bold().to_string() } else { line };
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
}

/// The level as the table shows it (`informational` is long: `info`).
fn level_cell(level: Option<Level>) -> &'static str {
    match level {
        Some(Level::Informational) => "info",
        l => crate::level_text(l),
    }
}

/// Appends one detection (one line, or several with `full`).
pub(crate) fn row(buf: &mut Vec<u8>, layout: &Layout, opts: &PrinterOptions, d: &Detection<'_>) {
    let ev = d.event;
    let keys = d.key_fields();
    let level = d.rule.info.level;
    let cells: Vec<String> = layout
        .cols
        .iter()
        .map(|(c, _)| match c {
            Col::Time => ev.timestamp().map_or_else(|| "-".to_string(), |t| opts.timezone.format(t)),
            Col::Computer => ev
                .display_host()
                .or_else(|| ev.display_account())
                .map_or_else(|| "-".to_string(), |h| escape_control(&h).into_owned()),
            Col::Channel => {
                ev.display_channel().map_or_else(|| "-".to_string(), |c| escape_control(short_channel(&c)).into_owned())
            }
            Col::Event => ev.event_id().map_or_else(|| "-".into(), |i| i.to_string()),
            Col::Level => level_cell(level).to_string(),
            Col::Rule => escape_control(&d.rule.info.title).into_owned(),
            // Filled below: they are laid out field by field.
            Col::Keys => String::new(),
        })
        .collect();
    let mut keys: Vec<(String, String)> =
        keys.iter().map(|(k, v)| (escape_control(k).into_owned(), escape_control(v).into_owned())).collect();
    if opts.explain
        && let Some(e) = d.explanation()
    {
        keys.insert(0, ("why".to_string(), escape_control(&e.short()).into_owned()));
    }
    let paint = opts.color.then_some(level);
    let mut out = String::new();
    if !layout.fitted {
        let mut cells = cells;
        if let Some(last) = cells.last_mut() {
            *last = keys.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("  ");
        }
        out.push_str(&join(layout, &cells, paint));
    } else if opts.full {
        full_rows(&mut out, layout, &cells, &keys, paint);
    } else {
        let mut cells: Vec<String> = cells
            .iter()
            .zip(&layout.cols)
            .map(|(cell, (col, w))| match col {
                // A host name's first label says the most: cut at the end.
                Col::Computer => elide_end(cell, *w),
                _ => elide_middle(cell, *w).into_owned(),
            })
            .collect();
        if let (Some(last), Some((_, w))) = (cells.last_mut(), layout.cols.last()) {
            *last = fit_keys(&keys, *w);
        }
        out.push_str(&join(layout, &cells, paint));
    }
    out.push('\n');
    buf.extend_from_slice(out.as_bytes());
}

/// Cells joined into one line, each padded to its column (the last not padded), the level coloured.
fn join(layout: &Layout, cells: &[String], paint: Option<Option<Level>>) -> String {
    let mut line = String::new();
    let n = cells.len();
    for (i, (cell, (col, w))) in cells.iter().zip(&layout.cols).enumerate() {
        if i + 1 == n {
            line.push_str(cell);
            break;
        }
        let padded = pad(cell, *w);
        match paint {
            Some(level) if *col == Col::Level => {
                let _ = write!(line, "{}", colored(&padded, level));
            }
            _ => line.push_str(&padded),
        }
        line.push_str("  ");
    }
    line.truncate(line.trim_end().len());
    line
}

fn colored(s: &str, level: Option<Level>) -> String {
    match level {
        Some(Level::Critical) => s.red().bold().to_string(),
        Some(Level::High) => s.red().to_string(),
        Some(Level::Medium) => s.yellow().to_string(),
        Some(Level::Low) => s.green().to_string(),
        _ => s.dimmed().to_string(),
    }
}

/// Key fields in `width` columns: whole when they fit; else each value gets a fair share (short ones whole, the
/// rest cut in the middle), and fields that cannot get even a few columns are left out, counted as `+N`.
fn fit_keys(keys: &[(String, String)], max: usize) -> String {
    let whole = keys.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("  ");
    if width(&whole) <= max {
        return whole;
    }
    // How many fields to show: each needs its name, `=`, at least 6 columns of value, and a gap.
    let mut shown = keys.len();
    while shown > 1 {
        let more = if shown < keys.len() { width(&format!("  +{}", keys.len() - shown)) } else { 0 };
        let need: usize =
            keys.iter().take(shown).map(|(k, _)| width(k) + 1 + 6).sum::<usize>() + GAP * (shown - 1) + more;
        if need <= max {
            break;
        }
        shown -= 1;
    }
    let more = if shown < keys.len() { format!("  +{}", keys.len() - shown) } else { String::new() };
    let fixed: usize = keys.iter().take(shown).map(|(k, _)| width(k) + 1).sum::<usize>()
        + GAP * shown.saturating_sub(1)
        + width(&more);
    let mut room = max.saturating_sub(fixed);
    // Fair shares: shortest values first take what they need, up to an equal part of what is left.
    let mut order: Vec<usize> = (0..shown).collect();
    order.sort_by_key(|i| keys.get(*i).map_or(0, |(_, v)| width(v)));
    let mut allot = vec![0usize; shown];
    for (n, i) in order.iter().enumerate() {
        let share = room / (shown - n);
        let want = keys.get(*i).map_or(0, |(_, v)| width(v));
        let give = want.min(share);
        if let Some(a) = allot.get_mut(*i) {
            *a = give;
        }
        room -= give;
    }
    let parts: Vec<String> =
        keys.iter().take(shown).zip(&allot).map(|((k, v), a)| format!("{k}={}", elide_middle(v, *a))).collect();
    let line = parts.join("  ") + &more;
    // A single field name longer than the column: cut the whole cell.
    elide_middle(&line, max).into_owned()
}

/// A detection over several lines: each cell wrapped within its column; key fields one per line.
fn full_rows(
    out: &mut String,
    layout: &Layout,
    cells: &[String],
    keys: &[(String, String)],
    paint: Option<Option<Level>>,
) {
    let columns: Vec<Vec<String>> = cells
        .iter()
        .zip(&layout.cols)
        .map(|(cell, (col, w))| {
            if *col == Col::Keys {
                if keys.is_empty() {
                    return vec![String::new()];
                }
                keys.iter().flat_map(|(k, v)| wrap(&format!("{k}={v}"), *w)).collect()
            } else {
                wrap(cell, *w)
            }
        })
        .collect();
    let height = columns.iter().map(Vec::len).max().unwrap_or(1);
    for line in 0..height {
        let cells: Vec<String> = columns.iter().map(|c| c.get(line).cloned().unwrap_or_default()).collect();
        if line > 0 {
            out.push('\n');
        }
        out.push_str(&join(layout, &cells, paint.filter(|_| line == 0)));
    }
}

/// `Microsoft-Windows-Sysmon/Operational` → `Sysmon`, `Microsoft-Windows-PowerShell/Operational` → `PowerShell`.
pub fn short_channel(c: &str) -> &str {
    let c = c.strip_prefix("Microsoft-Windows-").unwrap_or(c);
    c.strip_suffix("/Operational").unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_fit_their_width_and_drop_the_least_useful_columns_first() {
        for w in [64, 80, 100, 120, 160, 200, 300] {
            let l = Layout::new(Some(w));
            assert_eq!(l.width(), w, "{w}: {l:?}");
        }
        assert_eq!(Layout::new(Some(64)).columns(), ["TIME", "LEVEL", "RULE", "KEY FIELDS"]);
        assert_eq!(Layout::new(Some(80)).columns(), ["TIME", "COMPUTER", "LEVEL", "RULE", "KEY FIELDS"]);
        assert_eq!(Layout::new(Some(90)).columns(), ["TIME", "COMPUTER", "EVENT", "LEVEL", "RULE", "KEY FIELDS"]);
        assert_eq!(
            Layout::new(Some(120)).columns(),
            ["TIME", "COMPUTER", "CHANNEL", "EVENT", "LEVEL", "RULE", "KEY FIELDS"]
        );
        // Wider terminals give more to the key fields.
        let keys = |w| Layout::new(Some(w)).cols.last().map_or(0, |(_, k)| *k);
        assert!(keys(300) > keys(200) && keys(200) > keys(120), "{} {} {}", keys(300), keys(200), keys(120));
        // Narrower than the minimum: laid out at the minimum.
        assert_eq!(Layout::new(Some(10)).width(), MIN_WIDTH);
    }

    #[test]
    fn key_fields_share_the_column_fairly() {
        let keys = vec![
            ("Image".to_string(), "C:\\Windows\\System32\\cmd.exe".to_string()),
            ("User".to_string(), "SYSTEM".to_string()),
            ("CommandLine".to_string(), "cmd.exe /c whoami /all && net user administrator /domain".to_string()),
        ];
        let whole = fit_keys(&keys, 500);
        assert!(whole.contains("administrator /domain") && !whole.contains('…'), "{whole}");
        for max in [20, 40, 60, 80] {
            let line = fit_keys(&keys, max);
            assert!(width(&line) <= max, "{max}: {line}");
        }
        let line = fit_keys(&keys, 70);
        // The short value stays whole, the long ones keep both ends.
        assert!(line.contains("User=SYSTEM"), "{line}");
        assert!(line.contains("C:\\") && line.contains("/domain"), "{line}");
        // Too narrow for all: the rest are counted.
        let narrow = fit_keys(&keys, 24);
        assert!(narrow.contains("+"), "{narrow}");
    }

    #[test]
    fn time_zones_parse_and_label() {
        assert_eq!(TimeZoneChoice::parse("utc"), Ok(TimeZoneChoice::Utc));
        assert_eq!(TimeZoneChoice::parse("Z"), Ok(TimeZoneChoice::Utc));
        let t: jiff::Timestamp = "2024-03-01T23:30:00Z".parse().unwrap_or_default();
        let plus = TimeZoneChoice::parse("+02:00").unwrap_or(TimeZoneChoice::Utc);
        assert_eq!(plus.label(), "+02:00");
        assert_eq!(plus.format(t), "2024-03-02 01:30:00");
        let minus = TimeZoneChoice::parse("-0530").unwrap_or(TimeZoneChoice::Utc);
        assert_eq!(minus.format(t), "2024-03-01 18:00:00");
        assert_eq!(TimeZoneChoice::Utc.format(t), "2024-03-01 23:30:00");
        for bad in ["+25:00", "+2:0", "nowhere/at-all", "+02:60", ""] {
            assert!(TimeZoneChoice::parse(bad).is_err(), "{bad}");
        }
    }
}
