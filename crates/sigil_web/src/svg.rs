//! Charts drawn by the server as plain HTML lists (no chart library, no script): each bar is a link (or a row)
//! with its label, a track and its value, so the text stays at the page's size on every screen (a scaled SVG
//! shrank it to ~6 px on phones) and links stay ordinary links for assistive technology.
//!
//! Lengths and colours come from the page's CSS through classes (`fill p37`, `fill-lvl-high`): the
//! Content-Security-Policy forbids inline styles. Every label is escaped.

use std::fmt::Write as _;

use crate::highlight::escape;

/// One bar: label, value, optional link and an extra CSS class for the bar (`lvl-high`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bar {
    /// Text beside or under the bar.
    pub label: String,
    /// The value (bar length).
    pub value: usize,
    /// Where clicking the bar leads.
    pub href: Option<String>,
    /// Extra class for the bar.
    pub class: Option<String>,
}

impl Bar {
    /// A bar without link or class.
    pub(crate) fn new(label: impl Into<String>, value: usize) -> Bar {
        Bar { label: label.into(), value, href: None, class: None }
    }

    /// Adds a link.
    pub(crate) fn link(mut self, href: impl Into<String>) -> Bar {
        self.href = Some(href.into());
        self
    }

    /// Adds a CSS class.
    pub(crate) fn class(mut self, class: impl Into<String>) -> Bar {
        self.class = Some(class.into());
        self
    }
}

/// Truncates a label to `max` characters with an ellipsis.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A bar's share of the largest, in whole percent (1 at least for a non-zero value): the class `pN` that the
/// stylesheet sizes (inline styles are forbidden by the Content-Security-Policy).
fn percent(value: usize, max: usize) -> usize {
    if value == 0 { 0 } else { (value * 100 / max.max(1)).clamp(1, 100) }
}

fn open_row(out: &mut String, b: &Bar) {
    match &b.href {
        Some(h) => {
            let _ = write!(out, "<li><a href=\"{}\">", escape(h));
        }
        None => out.push_str("<li><span class=\"row\">"),
    }
}

fn close_row(out: &mut String, b: &Bar) {
    out.push_str(if b.href.is_some() { "</a></li>" } else { "</span></li>" });
}

fn fill_class(b: &Bar) -> String {
    b.class.as_deref().map(|c| format!(" fill-{}", escape(c))).unwrap_or_default()
}

/// A horizontal bar chart: one row per bar, label on the left, value at the end of the bar. HTML, so its text
/// keeps its size on every screen; long labels are cut with an ellipsis, the whole label in `title`.
pub(crate) fn hbar(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let mut out = String::with_capacity(256 + bars.len() * 200);
    let _ = write!(out, "<ul class=\"chart hbar\" aria-label=\"{}\">", escape(title));
    if bars.is_empty() {
        out.push_str("<li class=\"muted\">no data</li>");
    }
    for b in bars {
        open_row(&mut out, b);
        let _ = write!(
            out,
            "<span class=\"lbl\" title=\"{full}\">{label}</span><span class=\"track\" aria-hidden=\"true\">\
             <span class=\"fill p{p}{cls}\"></span></span><span class=\"v\">{v}</span>",
            full = escape(&b.label),
            label = escape(&clip(&b.label, 60)),
            p = percent(b.value, max),
            cls = fill_class(b),
            v = b.value,
        );
        close_row(&mut out, b);
    }
    out.push_str("</ul>");
    out
}

/// A column chart (for series such as rules per year): columns left to right, labels underneath. HTML too;
/// on a narrow screen the columns narrow and every label stays readable (long series label every other one).
pub(crate) fn columns(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let mut out = String::with_capacity(256 + bars.len() * 200);
    let _ = write!(out, "<ul class=\"chart vbar\" aria-label=\"{}\">", escape(title));
    if bars.is_empty() {
        out.push_str("<li class=\"muted\">no data</li>");
    }
    let every = if bars.len() > 16 { 2 } else { 1 };
    for (i, b) in bars.iter().enumerate() {
        open_row(&mut out, b);
        let shown = i % every == 0 || i + 1 == bars.len();
        let _ = write!(
            out,
            "<span class=\"v\">{v}</span><span class=\"track\" aria-hidden=\"true\"><span class=\"fill p{p}{cls}\"></span></span>\
             <span class=\"lbl{hide}\" title=\"{full}\">{label}</span>",
            v = b.value,
            p = percent(b.value, max),
            cls = fill_class(b),
            hide = if shown { "" } else { " alt" },
            full = escape(&b.label),
            label = escape(&clip(&b.label, 10)),
        );
        close_row(&mut out, b);
    }
    out.push_str("</ul>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_escape_and_link() {
        let bars = vec![
            Bar::new("<script>", 10).link("/?tactic=a&b"),
            Bar::new("low", 5).class("lvl-low"),
            Bar::new("none", 0),
            Bar::new("tiny", 0).link("/x"),
        ];
        let html = hbar("Rules per <tactic>", &bars);
        assert!(html.starts_with("<ul class=\"chart hbar\" aria-label=\"Rules per &lt;tactic&gt;\""));
        assert!(html.ends_with("</ul>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("href=\"/?tactic=a&amp;b\""));
        assert!(html.contains("class=\"fill p50 fill-lvl-low\""));
        assert!(html.contains("class=\"fill p100\""), "the largest bar spans the track");
        assert_eq!(html.matches("class=\"fill p0\"").count(), 2);
        assert_eq!(percent(1, 1000), 1, "a small non-zero value stays visible");
        let cols = columns("per year", &[Bar::new("2019", 3), Bar::new("2020", 6)]);
        assert_eq!(cols.matches("class=\"track\"").count(), 2);
        assert!(cols.contains("fill p50") && cols.contains("fill p100"));
        assert!(hbar("empty", &[]).contains("no data"));
        let many: Vec<Bar> = (0..20).map(|i| Bar::new(format!("{}", 2000 + i), i)).collect();
        assert_eq!(columns("years", &many).matches("lbl alt").count(), 9, "long series label every other column");
    }
}
