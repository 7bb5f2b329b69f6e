//! Sigma's time-part modifiers (`minute`, `hour`, `day`, `week`, `month`, `year`) in SQL, read exactly as
//! `sigil hunt` reads them (`sigil_engine`'s `matcher::time_part`):
//!
//! - text `YYYY-MM-DD` or `YYYY-MM-DD[Tt ]HH:MM...` (after trimming) gives its parts as written, with no time zone
//!   conversion (the specification's warning); month 1–12, day 1–31, hour ≤ 23 and minute ≤ 59, else no value;
//! - any other value that reads as a number (decimal or `0x` hex, as [`Dialect::number`]) is Unix epoch time in UTC:
//!   seconds, or milliseconds, microseconds, nanoseconds and beyond, divided by 1,000 while it is ≥ 1e11 in size;
//! - `week` is the ISO 8601 week of that date (a text date that does not exist, `2024-02-31`, has none).
//!
//! Native date functions cannot do this on every target (ClickHouse's `DateTime64` stops at 1900 and 2299, Spark's
//! timestamps at year 1 and depend on the session time zone), so the calendar is computed with arithmetic on
//! whole numbers held in `DOUBLE` (exact below 2^53): Howard Hinnant's `civil_from_days` / `days_from_civil`,
//! proleptic Gregorian as `jiff` is. Intermediate values are bound once with a one-element array and a lambda
//! ([`Dialect::bind`]), so the SQL stays linear in size.

use sigil_ir::TimePart;

use crate::sql::Dialect;

impl Dialect {
    /// `body` with `var` bound to `value` (evaluated once).
    pub(crate) fn bind(self, var: &str, value: &str, body: &str) -> String {
        match self {
            Dialect::ClickHouse => format!("arrayElement(arrayMap({var} -> {body}, [{value}]), 1)"),
            Dialect::DuckDb => format!("list_extract(list_transform([{value}], lambda {var}: {body}), 1)"),
            Dialect::Spark => format!("element_at(transform(array({value}), {var} -> {body}), 1)"),
        }
    }

    /// Digits as a number; `NULL` otherwise (a branch not taken may still be evaluated on ClickHouse).
    fn to_double(self, x: &str) -> String {
        match self {
            Dialect::ClickHouse => format!("toFloat64OrNull({x})"),
            _ => format!("TRY_CAST({x} AS DOUBLE)"),
        }
    }

    fn substr(self, x: &str, from: usize, len: usize) -> String {
        match self {
            Dialect::ClickHouse => format!("substring({x}, {from}, {len})"),
            _ => format!("substr({x}, {from}, {len})"),
        }
    }
}

/// `floor(a / b)` on whole numbers.
fn div(a: &str, b: &str) -> String {
    format!("floor(({a}) / {b})")
}

/// `a mod b` rounded towards minus infinity (as `rem_euclid`).
fn modulo(a: &str, b: &str) -> String {
    format!("(({a}) - floor(({a}) / {b}) * {b})")
}

/// One part of the civil date of day number `days` (days since 1970-01-01, bound to a variable).
#[derive(Clone, Copy, PartialEq)]
enum Civil {
    Year,
    Month,
    Day,
}

/// `civil_from_days`: the year, month or day of a day number (a variable name).
fn civil_from_days(d: Dialect, days: &str, want: Civil) -> String {
    // z = days + 719468; era = floor(z / 146097); doe = z - era * 146097 (0..146096)
    // yoe = floor((doe - doe/1460 + doe/36524 - doe/146096) / 365); doy = doe - (365 yoe + yoe/4 - yoe/100)
    // mp = floor((5 doy + 2) / 153); day = doy - floor((153 mp + 2) / 5) + 1; month = mp < 10 ? mp + 3 : mp - 9
    // year = yoe + era * 400 + (month <= 2)
    let era = div(&format!("{days} + 719468.0"), "146097.0");
    let doe_val = format!("({days} + 719468.0) - {era} * 146097.0");
    let yoe_val = div(
        &format!("sg_doe - {} + {} - {}", div("sg_doe", "1460.0"), div("sg_doe", "36524.0"), div("sg_doe", "146096.0")),
        "365.0",
    );
    let doy_val = format!("sg_doe - (365.0 * sg_yoe + {} - {})", div("sg_yoe", "4.0"), div("sg_yoe", "100.0"));
    let mp_val = div("5.0 * sg_doy + 2.0", "153.0");
    let month = "(CASE WHEN sg_mp < 10.0 THEN sg_mp + 3.0 ELSE sg_mp - 9.0 END)";
    let body = match want {
        Civil::Day => format!("sg_doy - {} + 1.0", div("153.0 * sg_mp + 2.0", "5.0")),
        Civil::Month => month.to_string(),
        Civil::Year => {
            format!("sg_yoe + {era} * 400.0 + (CASE WHEN {month} <= 2.0 THEN 1.0 ELSE 0.0 END)")
        }
    };
    let with_mp = d.bind("sg_mp", &mp_val, &body);
    let with_doy = d.bind("sg_doy", &doy_val, &with_mp);
    let with_yoe = d.bind("sg_yoe", &yoe_val, &with_doy);
    d.bind("sg_doe", &doe_val, &with_yoe)
}

/// `days_from_civil`: the day number of a date (whole numbers, variables or literals).
fn days_from_civil(y: &str, m: &str, day: &str) -> String {
    let y2 = format!("({y} - (CASE WHEN {m} <= 2.0 THEN 1.0 ELSE 0.0 END))");
    let era = div(&y2, "400.0");
    let yoe = format!("({y2} - {era} * 400.0)");
    let mp = format!("(CASE WHEN {m} > 2.0 THEN {m} - 3.0 ELSE {m} + 9.0 END)");
    let doy = format!("({} + {day} - 1.0)", div(&format!("153.0 * {mp} + 2.0"), "5.0"));
    let doe = format!("({yoe} * 365.0 + {} - {} + {doy})", div(&yoe, "4.0"), div(&yoe, "100.0"));
    format!("({era} * 146097.0 + {doe} - 719468.0)")
}

/// The ISO 8601 week of day number `days` (a variable): the week of its Thursday, counted from the first
/// Thursday of that Thursday's year.
fn iso_week(d: Dialect, days: &str) -> String {
    // Monday = 0 (1970-01-01 was a Thursday).
    let weekday = modulo(&format!("{days} + 3.0"), "7.0");
    let thursday = format!("{days} - {weekday} + 3.0");
    let body = format!(
        "floor((sg_th - {}) / 7.0) + 1.0",
        days_from_civil(&civil_from_days(d, "sg_th", Civil::Year), "1.0", "1.0")
    );
    d.bind("sg_th", &thursday, &body)
}

fn days_in_month(y: &str, m: &str) -> String {
    let leap =
        format!("(({} = 0.0 AND {} <> 0.0) OR {} = 0.0)", modulo(y, "4.0"), modulo(y, "100.0"), modulo(y, "400.0"));
    format!(
        "(CASE WHEN {m} = 2.0 THEN (CASE WHEN {leap} THEN 29.0 ELSE 28.0 END) \
         WHEN {m} IN (4.0, 6.0, 9.0, 11.0) THEN 30.0 ELSE 31.0 END)"
    )
}

/// The time part of the field value `x` as a `DOUBLE`, `NULL` when the value holds no date.
pub(crate) fn time_part(d: Dialect, x: &str, part: TimePart) -> String {
    let trimmed = match d {
        Dialect::ClickHouse => format!("trimBoth({x})"),
        _ => format!("trim({x})"),
    };
    // Text as written.
    let num = |from: usize, len: usize| d.to_double(&d.substr("sg_t", from, len));
    let (y, m, day) = (num(1, 4), num(6, 2), num(9, 2));
    let long = "length(sg_t) > 10";
    let hour = format!("(CASE WHEN {long} THEN {} ELSE 0.0 END)", num(12, 2));
    let minute = format!("(CASE WHEN {long} THEN {} ELSE 0.0 END)", num(15, 2));
    let valid =
        format!("({m} BETWEEN 1.0 AND 12.0 AND {day} BETWEEN 1.0 AND 31.0 AND {hour} <= 23.0 AND {minute} <= 59.0)");
    let text_part = match part {
        TimePart::Year => y.clone(),
        TimePart::Month => m.clone(),
        TimePart::Day => day.clone(),
        TimePart::Hour => hour.clone(),
        TimePart::Minute => minute.clone(),
        TimePart::Week => {
            let exists = format!("{day} <= {}", days_in_month(&y, &m));
            let week = d.bind("sg_days", &days_from_civil(&y, &m, &day), &iso_week(d, "sg_days"));
            format!("(CASE WHEN {exists} THEN {week} END)")
        }
    };
    let from_text = format!("(CASE WHEN {valid} THEN {text_part} END)");
    // Epoch numbers: divided by 1,000 while ≥ 1e11 in size, as the engine's loop does (the same divisions, so the
    // same rounding); past 1e23 (no clock writes that) by the remaining power of 1,000 at once.
    let n = "sg_n";
    let secs = format!(
        "(CASE WHEN abs({n}) < 1e11 THEN {n} WHEN abs({n}) < 1e14 THEN {n} / 1000.0 \
         WHEN abs({n}) < 1e17 THEN {n} / 1000.0 / 1000.0 WHEN abs({n}) < 1e20 THEN {n} / 1000.0 / 1000.0 / 1000.0 \
         WHEN abs({n}) < 1e23 THEN {n} / 1000.0 / 1000.0 / 1000.0 / 1000.0 \
         ELSE {n} / power(1000.0, floor(log10(abs({n}) / 1e11) / 3.0) + 1.0) END)"
    );
    let epoch_body = match part {
        TimePart::Hour => div(&modulo("sg_s", "86400.0"), "3600.0"),
        TimePart::Minute => div(&modulo("sg_s", "3600.0"), "60.0"),
        TimePart::Year => d.bind("sg_dd", &div("sg_s", "86400.0"), &civil_from_days(d, "sg_dd", Civil::Year)),
        TimePart::Month => d.bind("sg_dd", &div("sg_s", "86400.0"), &civil_from_days(d, "sg_dd", Civil::Month)),
        TimePart::Day => d.bind("sg_dd", &div("sg_s", "86400.0"), &civil_from_days(d, "sg_dd", Civil::Day)),
        TimePart::Week => d.bind("sg_dd", &div("sg_s", "86400.0"), &iso_week(d, "sg_dd")),
    };
    let from_epoch = d.bind(n, &d.number("sg_t"), &d.bind("sg_s", &format!("floor({secs})"), &epoch_body));
    let civil_re = "(?s)^[0-9]{4}-[0-9]{2}-[0-9]{2}($|[Tt ][0-9]{2}:[0-9]{2})";
    let body = format!("(CASE WHEN {} THEN {from_text} ELSE {from_epoch} END)", d.regex("sg_t", civil_re));
    d.bind("sg_t", &trimmed, &body)
}
