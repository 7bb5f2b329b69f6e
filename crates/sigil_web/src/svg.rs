//! Charts as inline SVG, drawn by the server (no chart library, no script).
//!
//! Colours come from the page's CSS through classes (`bar`, `bar lvl-high`), so charts follow the site's theme
//! and need no inline styles (the Content-Security-Policy forbids them). Every label is escaped.

use std::fmt::Write as _;

use crate::highlight::escape;

/// One bar: label, value, optional link and an extra CSS class for the bar (`lvl-high`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
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
    pub fn new(label: impl Into<String>, value: usize) -> Bar {
        Bar { label: label.into(), value, href: None, class: None }
    }

    /// Adds a link.
    pub fn link(mut self, href: impl Into<String>) -> Bar {
        self.href = Some(href.into());
        self
    }

    /// Adds a CSS class.
    pub fn class(mut self, class: impl Into<String>) -> Bar {
        self.class = Some(class.into());
        self
    }
}

const WIDTH: usize = 640;
const ROW: usize = 24;
const LABEL: usize = 220;

/// Truncates a label to `max` characters with an ellipsis.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn open_link(out: &mut String, href: Option<&String>, title: &str) {
    match href {
        Some(h) => {
            let _ = write!(out, "<a href=\"{}\"><title>{}</title>", escape(h), escape(title));
        }
        None => {
            let _ = write!(out, "<g><title>{}</title>", escape(title));
        }
    }
}

fn close_link(out: &mut String, href: Option<&String>) {
    out.push_str(if href.is_some() { "</a>" } else { "</g>" });
}

/// A horizontal bar chart: one row per bar, label on the left, value at the end of the bar.
pub fn hbar(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = bars.len().max(1) * ROW + 8;
    let span = WIDTH - LABEL - 56;
    let mut out = String::with_capacity(256 + bars.len() * 300);
    let _ = write!(
        out,
        "<svg class=\"chart hbar\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{}\" \
         preserveAspectRatio=\"xMinYMin meet\">",
        escape(title)
    );
    if bars.is_empty() {
        out.push_str("<text x=\"0\" y=\"18\" class=\"muted\">no data</text>");
    }
    for (i, b) in bars.iter().enumerate() {
        let y = 4 + i * ROW;
        let w = if b.value == 0 { 0 } else { (b.value * span / max).max(2) };
        open_link(&mut out, b.href.as_ref(), &format!("{}: {}", b.label, b.value));
        let _ = write!(
            out,
            "<rect class=\"track\" x=\"{LABEL}\" y=\"{y}\" width=\"{span}\" height=\"{h}\" rx=\"3\"/>\
             <rect class=\"bar{cls}\" x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"3\"/>\
             <text class=\"label\" x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <text class=\"value\" x=\"{vx}\" y=\"{ty}\">{v}</text>",
            h = ROW - 6,
            cls = b.class.as_deref().map(|c| format!(" {}", escape(c))).unwrap_or_default(),
            lx = LABEL - 8,
            ty = y + ROW / 2 + 1,
            label = escape(&clip(&b.label, 32)),
            vx = LABEL + w + 6,
            v = b.value,
        );
        close_link(&mut out, b.href.as_ref());
    }
    out.push_str("</svg>");
    out
}

/// A column chart (for series such as rules per year): columns left to right, labels underneath.
pub fn columns(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = 220usize;
    let plot = height - 40;
    let n = bars.len().max(1);
    let step = (WIDTH - 20) / n;
    let bw = (step * 7 / 10).max(2);
    let mut out = String::with_capacity(256 + bars.len() * 300);
    let _ = write!(
        out,
        "<svg class=\"chart columns\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{}\" \
         preserveAspectRatio=\"xMinYMin meet\"><line class=\"axis\" x1=\"10\" y1=\"{base}\" x2=\"{x2}\" \
         y2=\"{base}\"/>",
        escape(title),
        base = plot + 12,
        x2 = WIDTH - 10,
    );
    if bars.is_empty() {
        out.push_str("<text x=\"10\" y=\"20\" class=\"muted\">no data</text>");
    }
    // Long series label every other column so labels do not collide.
    let every = if n > 16 { 2 } else { 1 };
    for (i, b) in bars.iter().enumerate() {
        let x = 10 + i * step + (step - bw) / 2;
        let h = if b.value == 0 { 0 } else { (b.value * (plot - 16) / max).max(2) };
        let y = plot + 12 - h;
        open_link(&mut out, b.href.as_ref(), &format!("{}: {}", b.label, b.value));
        let _ = write!(
            out,
            "<rect class=\"bar{cls}\" x=\"{x}\" y=\"{y}\" width=\"{bw}\" height=\"{h}\" rx=\"2\"/>\
             <text class=\"value\" x=\"{cx}\" y=\"{vy}\" text-anchor=\"middle\">{v}</text>",
            cls = b.class.as_deref().map(|c| format!(" {}", escape(c))).unwrap_or_default(),
            cx = x + bw / 2,
            vy = y.saturating_sub(4),
            v = b.value,
        );
        if i % every == 0 || i + 1 == n {
            let _ = write!(
                out,
                "<text class=\"label\" x=\"{cx}\" y=\"{ly}\" text-anchor=\"middle\">{label}</text>",
                cx = x + bw / 2,
                ly = plot + 28,
                label = escape(&clip(&b.label, 10)),
            );
        }
        close_link(&mut out, b.href.as_ref());
    }
    out.push_str("</svg>");
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
        ];
        let svg = hbar("Rules per <tactic>", &bars);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("href=\"/?tactic=a&amp;b\""));
        assert!(svg.contains("class=\"bar lvl-low\""));
        assert!(svg.contains(&format!("width=\"{}\"", WIDTH - LABEL - 56)), "the largest bar spans the track");
        let cols = columns("per year", &[Bar::new("2019", 3), Bar::new("2020", 6)]);
        assert_eq!(cols.matches("<rect").count(), 2);
        assert!(hbar("empty", &[]).contains("no data"));
    }
}
