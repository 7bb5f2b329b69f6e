//! `cidr` for the SQL targets: the exact texts the hunting engine reads as an address, and networks as ranges.
//!
//! None of the SQL targets shares one IP type (DuckDB's `inet` is an extension that must be downloaded, Spark has
//! none), and log fields hold text anyway. A value's address is read the way the engine reads it out of a log
//! value ([`ADDRESS_TEXT`]: surrounding spaces and `[` `]`, an IPv6 zone `%..`), checked against regular
//! expressions accepting exactly the texts Rust's `IpAddr` parser accepts ([`v4_syntax`]: four decimal octets
//! without leading zeros; [`v6_syntax`]: eight groups of one to four hex digits, one `::` standing for at least
//! one group, an optional dotted IPv4 tail), and made canonical in the query; each network is a range of
//! canonical texts ([`network_range`]; an IPv4 network also holds the IPv4-mapped IPv6 forms, `::ffff:10.0.0.1`,
//! as the engine does). The grammars are the same for every network, so a rule with 160 networks costs one
//! reading of the address and 160 comparisons.

use std::fmt::Write as _;

use ipnet::IpNet;

/// The address part of a log value as the engine reads it (`parse_ip`: surrounding white space and `[` `]`
/// dropped, an IPv6 zone `%..` cut off), as capture group 1; no match when the value cannot hold an address.
pub(crate) const ADDRESS_TEXT: &str = r"(?s)^[ \t\n\r\f\v]*\[*([0-9a-fA-F:.]+)(?:%.*|\]*[ \t\n\r\f\v]*)$";

/// An anchored regex for exactly the IPv4 texts Rust's parser accepts (four decimal octets, no leading zeros).
pub(crate) fn v4_syntax() -> String {
    format!("^{}$", v4_forms(&[(0, 255); 4]))
}

/// An anchored regex for exactly the IPv6 texts Rust's parser accepts (every address: `::/0`).
pub(crate) fn v6_syntax() -> String {
    format!("^(?:{})$", v6_forms(0, 0))
}

/// The addresses of a network as an inclusive range of 32-digit lower-case hex texts of their IPv6 form (an
/// IPv4 network as its IPv4-mapped addresses, `::ffff:a.b.c.d`), and whether it is an IPv4 network: the SQL
/// targets compare the canonical text of a value's address with these bounds ([`crate::sql`]).
pub(crate) fn network_range(net: &IpNet) -> (bool, String, String) {
    let (v4, lo, prefix) = match net {
        IpNet::V4(n) => {
            (true, u128::from(u32::from(n.network())) | (0xffff_u128 << 32), 96 + u32::from(n.prefix_len()))
        }
        IpNet::V6(n) => (false, u128::from(n.network()), u32::from(n.prefix_len())),
    };
    let host = if prefix >= 128 { 0 } else { u128::MAX >> prefix };
    (v4, format!("{lo:032x}"), format!("{:032x}", lo | host))
}

/// A decimal octet in `lo..=hi`, as Rust's parser accepts it (no leading zeros).
fn octet_regex((lo, hi): (u8, u8)) -> String {
    if lo == 0 && hi == 255 {
        return "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])".into();
    }
    if lo == hi {
        return lo.to_string();
    }
    let alts: Vec<String> = (lo..=hi).map(|v| v.to_string()).collect();
    format!("(?:{})", alts.join("|"))
}

fn v4_forms(octets: &[(u8, u8); 4]) -> String {
    octets.iter().map(|o| octet_regex(*o)).collect::<Vec<_>>().join(r"\.")
}

/// Per 16-bit group, the hex digits the network allows in its zero-padded 4-digit form: `(lo, hi)` per digit.
fn group_digits(addr: u128, prefix: u8, group: usize) -> [(u8, u8); 4] {
    let mut out = [(0u8, 15u8); 4];
    for (d, o) in out.iter_mut().enumerate() {
        let bit = group * 16 + d * 4; // first bit of this digit
        let shift = 124 - bit as u32;
        let value = ((addr >> shift) & 0xf) as u8;
        let fixed_bits = (i32::from(prefix) - bit as i32).clamp(0, 4) as u32;
        let free = 4 - fixed_bits;
        let mask: u8 = if free == 4 { 0 } else { (0xf_u8 << free) & 0xf };
        let lo = value & mask;
        *o = (lo, lo | (!mask & 0xf));
    }
    out
}

fn hex_class((lo, hi): (u8, u8)) -> String {
    if lo == 0 && hi == 15 {
        return "[0-9a-fA-F]".into();
    }
    if lo == hi && lo < 10 {
        return lo.to_string();
    }
    let mut s = String::from("[");
    for v in lo..=hi {
        let c = char::from_digit(u32::from(v), 16).unwrap_or('0');
        s.push(c);
        if c.is_ascii_alphabetic() {
            s.push(c.to_ascii_uppercase());
        }
    }
    s.push(']');
    s
}

/// One group as written: one to four hex digits whose zero-padded form fits the digit ranges.
fn group_regex(digits: &[(u8, u8); 4]) -> Option<String> {
    if digits.iter().all(|d| *d == (0, 0)) {
        return Some("0{1,4}".into());
    }
    if digits.iter().all(|d| *d == (0, 15)) {
        return Some("[0-9a-fA-F]{1,4}".into());
    }
    let mut alts = Vec::new();
    for len in (1..=4usize).rev() {
        let dropped = 4 - len;
        // The dropped leading digits are zeros, so their ranges must allow 0.
        if digits.iter().take(dropped).all(|(lo, _)| *lo == 0) {
            let body: String = digits.iter().skip(dropped).map(|d| hex_class(*d)).collect();
            alts.push(body);
        }
    }
    if alts.is_empty() { None } else { Some(format!("(?:{})", alts.join("|"))) }
}

/// Whether a group may be zero (so a `::` may stand for it).
fn group_may_be_zero(digits: &[(u8, u8); 4]) -> bool {
    digits.iter().all(|(lo, _)| *lo == 0)
}

/// Every textual IPv6 form (with or without `::`, with or without a dotted IPv4 tail) of the addresses in
/// `addr/prefix`, as one alternation.
fn v6_forms(addr: u128, prefix: u8) -> String {
    let groups: Vec<[(u8, u8); 4]> = (0..8).map(|g| group_digits(addr, prefix, g)).collect();
    let g: Vec<Option<String>> = groups.iter().map(group_regex).collect();
    let zero: Vec<bool> = groups.iter().map(group_may_be_zero).collect();
    // The last 32 bits as dotted IPv4.
    let tail_octets: [(u8, u8); 4] = {
        let mut o = [(0u8, 255u8); 4];
        for (i, x) in o.iter_mut().enumerate() {
            let group = &groups[6 + i / 2];
            let (d0, d1) = if i % 2 == 0 { (group[0], group[1]) } else { (group[2], group[3]) };
            // Prefix-aligned ranges: the high digit's range and the low digit's full freedom combine.
            *x = (d0.0 * 16 + d1.0, d0.1 * 16 + d1.1);
        }
        o
    };
    let v4_tail = v4_forms(&tail_octets);
    let mut alts: Vec<String> = Vec::new();
    // `n` groups written in hex (the last two may be replaced by the IPv4 tail).
    for with_v4 in [false, true] {
        let hex_groups = if with_v4 { 6 } else { 8 };
        let tail = |s: &mut String| {
            if with_v4 {
                s.push_str(&v4_tail);
            }
        };
        // Without compression.
        if let Some(parts) = (0..hex_groups).map(|i| g[i].clone()).collect::<Option<Vec<_>>>() {
            let mut s = parts.join(":");
            if with_v4 {
                s.push(':');
            }
            tail(&mut s);
            alts.push(s);
        }
        // `::` standing for groups head..hex_groups-tail_len (at least one group), all of which may be zero.
        for head in 0..hex_groups {
            for tail_len in 0..(hex_groups - head) {
                let gap = hex_groups - head - tail_len;
                if gap == 0 || !(head..head + gap).all(|i| zero[i]) {
                    continue;
                }
                let Some(hp) = (0..head).map(|i| g[i].clone()).collect::<Option<Vec<_>>>() else { continue };
                let Some(tp) = (head + gap..hex_groups).map(|i| g[i].clone()).collect::<Option<Vec<_>>>() else {
                    continue;
                };
                let mut s = hp.join(":");
                s.push_str("::");
                s.push_str(&tp.join(":"));
                if with_v4 {
                    if !tp.is_empty() {
                        s.push(':');
                    }
                    tail(&mut s);
                }
                alts.push(s);
            }
        }
    }
    let mut out = String::new();
    for (i, a) in alts.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        let _ = write!(out, "(?:{a})");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_reads(net: &IpNet, text: &str) -> bool {
        // The engine's parse_ip and net_contains.
        let s = text.trim().trim_start_matches('[').trim_end_matches(']');
        let s = s.split_once('%').map_or(s, |(a, _)| a);
        let Ok(ip) = s.parse::<std::net::IpAddr>() else { return false };
        match (net, ip) {
            (IpNet::V4(n), std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().is_some_and(|v4| n.contains(&v4)),
            _ => net.contains(&ip),
        }
    }

    /// What the SQL targets compute: the address text, its syntax checked by the two regexes, its canonical
    /// 32-digit hex form (an IPv4 text as its IPv4-mapped form) compared with the network's range; an IPv6
    /// network never holds an IPv4 text.
    fn sql_reads(net: &IpNet, text: &str) -> bool {
        let Some(a) = regex::Regex::new(ADDRESS_TEXT).unwrap().captures(text).map(|c| c[1].to_string()) else {
            return false;
        };
        let is4 = regex::Regex::new(&v4_syntax()).unwrap().is_match(&a);
        let is6 = regex::Regex::new(&v6_syntax()).unwrap().is_match(&a);
        let canon = if is4 {
            let v4: std::net::Ipv4Addr = a.parse().unwrap();
            u128::from(v4.to_ipv6_mapped())
        } else if is6 {
            u128::from(a.parse::<std::net::Ipv6Addr>().unwrap())
        } else {
            return false;
        };
        let (v4_net, lo, hi) = network_range(net);
        let c = format!("{canon:032x}");
        (v4_net || !is4) && lo <= c && c <= hi
    }

    #[test]
    fn ranges_agree_with_the_engine() {
        let nets = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.1.128/25",
            "0.0.0.0/0",
            "127.0.0.1/32",
            "::1/128",
            "fe80::/10",
            "fc00::/7",
            "2001:db8::/32",
            "::ffff:0:0/96",
            "::/0",
            "2001:db8:1:2:3:4:5:0/112",
        ];
        let texts = [
            "10.1.2.3",
            " 10.1.2.3 ",
            "[10.1.2.3]",
            "010.1.2.3",
            "10.1.2",
            "10.1.2.3.4",
            "11.0.0.1",
            "172.15.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "172.32.0.0",
            "192.168.1.127",
            "192.168.1.128",
            "192.168.1.255",
            "127.0.0.1",
            "127.0.0.2",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "::1",
            "0::1",
            "0:0:0:0:0:0:0:1",
            "::0001",
            "::01:1",
            "fe80::1",
            "FE80::1%12",
            "[fe80::abcd]",
            "febf:ffff::",
            "fec0::1",
            "fc00::",
            "fdff:1::",
            "fe00::",
            "2001:db8::1",
            "2001:DB8:0:0:1::",
            "2001:db9::",
            "::ffff:10.1.2.3",
            "::ffff:a01:203",
            "0:0:0:0:0:ffff:10.1.2.3",
            "::ffff:11.1.2.3",
            "::10.1.2.3",
            "1::2::3",
            "::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "12345::",
            "2001:db8:1:2:3:4:5:ffff",
            "2001:db8:1:2:3:4:6:0",
            "2001:db8:1:2:3:4:0.5.1.2",
            "x10.1.2.3",
            "10.1.2.3x",
            "10.1.2.3 ]",
            "fe80::1%",
            "fe80::1%a\nb",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::2:3:4:5:6:7:8",
            "::ffff:1.02.3.4",
            "::ffff:0:0",
            "0:0:0:0:0:ffff::",
            "",
            " ",
        ];
        for n in nets {
            let net: IpNet = n.parse().unwrap();
            for t in texts {
                assert_eq!(sql_reads(&net, t), engine_reads(&net, t), "range form: {n} {t:?}");
            }
        }
    }
}
