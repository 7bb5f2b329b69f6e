//! Times both YAML readers over every rule file under the given folders (one core, best of 5):
//! `cargo run --release -p sigil_rule --example yaml_time -- ../shared/corpus/sigmahq`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a measuring tool: bad input is a crash with the reason

use std::time::Instant;

use sigil_rule::yaml::{Limits, parse_documents, parse_documents_reference};

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let texts: Vec<String> =
        sigil_rule::discover(&paths).into_iter().filter_map(|(p, _)| std::fs::read_to_string(p).ok()).collect();
    let limits = Limits::default();
    let time = |f: &dyn Fn(&str, &Limits) -> bool| {
        (0..5)
            .map(|_| {
                let start = Instant::now();
                let ok = texts.iter().filter(|t| f(t, &limits)).count();
                (start.elapsed().as_secs_f64(), ok)
            })
            .fold((f64::MAX, 0), |(best, _), (t, ok)| (best.min(t), ok))
    };
    let (events, ok_events) = time(&|t, l| parse_documents(t, l).is_ok());
    let (reference, ok_reference) = time(&|t, l| parse_documents_reference(t, l).is_ok());
    println!(
        "{} files: event reader {events:.3} s ({ok_events} parsed), serde-saphyr {reference:.3} s ({ok_reference} parsed), ratio {:.2}",
        texts.len(),
        events / reference
    );
}
