//! EVTX files damaged at many offsets — truncated, file header overwritten, chunk headers overwritten, record
//! bytes overwritten — must never panic, never hand out a partial or damaged record, count every record lost,
//! and still read every intact record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

use sigil_events::{ReadError, ReadOptions, SourceKind, from_reader};

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// Single-chunk logs of the corpus with the most records (7 + 6 + 6 + 5), from different rules.
const SAMPLES: [&str; 4] = [
    "rules/windows/file/file_event/file_event_win_hktl_netexec_file_indicators/efc21479-9e83-41da-8cf1-122e06ba8db3.evtx",
    "rules/windows/file/file_event/file_event_win_cred_dump_tools_dropped_files/8fbf3271-1ef6-4e94-8210-03c2317947f6.evtx",
    "rules-emerging-threats/2025/Malware/Shai-Hulud/proc_creation_win_mal_shai_hulud_malicious_node_bun_execution/5299fadf-f228-4526-8274-251db1960be9.evtx",
    "rules/windows/file/file_event/file_event_win_anydesk_artefact/0b9ad457-2554-44c1-82c2-d56a99c42377.evtx",
];

/// What reading gave: each event as JSON text (with how often), errors, and records the errors count as lost.
struct Outcome {
    events: HashMap<String, usize>,
    count: usize,
    errors: Vec<ReadError>,
    lost: u64,
}

fn read(bytes: &[u8]) -> Outcome {
    let mut out = Outcome { events: HashMap::new(), count: 0, errors: Vec::new(), lost: 0 };
    let source = match from_reader(
        Path::new("damaged.evtx"),
        SourceKind::Evtx,
        Cursor::new(bytes.to_vec()),
        &ReadOptions::default(),
    ) {
        Ok(source) => source,
        Err(err) => {
            out.errors.push(err);
            return out;
        }
    };
    for item in source {
        match item {
            Ok(event) => {
                *out.events.entry(event.to_json().to_string()).or_default() += 1;
                out.count += 1;
            }
            Err(err) => {
                out.lost += err.records_lost();
                out.errors.push(err);
            }
        }
    }
    out
}

/// Events as JSON text, with how often each occurs.
type Events = HashMap<String, usize>;

/// The test log (file header of the first sample, then each sample's chunk) and the events of each chunk.
fn build() -> Option<(Vec<u8>, Vec<Events>)> {
    let corpus = common::regression_corpus()?;
    let mut log = Vec::new();
    let mut per_chunk = Vec::new();
    for rel in SAMPLES {
        let data = std::fs::read(common::regression_file(&corpus, rel)).unwrap();
        assert_eq!(data.len(), HEADER + CHUNK, "{rel}");
        if log.is_empty() {
            log.extend_from_slice(&data[..HEADER]);
        }
        log.extend_from_slice(&data[HEADER..]);
        let alone = read(&data);
        assert!(alone.errors.is_empty(), "{rel}: {:?}", alone.errors);
        per_chunk.push(alone.events);
    }
    Some((log, per_chunk))
}

fn total(events: &HashMap<String, usize>) -> usize {
    events.values().sum()
}

/// Every event read is one of the originals, no more often than there: nothing partial or damaged.
fn assert_subset(got: &HashMap<String, usize>, all: &HashMap<String, usize>, what: &str) {
    for (event, n) in got {
        let have = all.get(event).copied().unwrap_or(0);
        assert!(*n <= have, "{what}: an event that is not one of the originals (or read twice): {event}");
    }
}

/// The events of the chunks in `intact` are all read.
fn assert_intact(got: &HashMap<String, usize>, per_chunk: &[HashMap<String, usize>], intact: &[usize], what: &str) {
    for &c in intact {
        for (event, n) in &per_chunk[c] {
            assert!(got.get(event).copied().unwrap_or(0) >= *n, "{what}: intact chunk {c} lost an event: {event}");
        }
    }
}

#[test]
fn damage_at_many_offsets() {
    let Some((log, per_chunk)) = build() else { return };
    let mut all: HashMap<String, usize> = HashMap::new();
    for chunk in &per_chunk {
        for (e, n) in chunk {
            *all.entry(e.clone()).or_default() += n;
        }
    }
    let n = total(&all);
    let whole = read(&log);
    assert!(whole.errors.is_empty(), "{:?}", whole.errors);
    assert_eq!(whole.events, all);
    assert_eq!(n, 24);
    let chunks = per_chunk.len();
    let mut cases = 0;

    // Truncation: anywhere in any chunk. The chunks before the cut are whole; of the cut chunk, the records
    // before the cut are read and the others counted (unless the cut leaves too little of its header to say
    // how many it had).
    let mut cuts: Vec<usize> = (0..chunks)
        .flat_map(|c| {
            [0, 10, 24, 300, 512, 700, 1500, 3000, 6000, 9000, 20_000, 40_000, CHUNK - 1]
                .map(move |o| HEADER + c * CHUNK + o)
        })
        .collect();
    cuts.extend((HEADER..log.len()).step_by(4099));
    for cut in cuts {
        let got = read(&log[..cut]);
        let what = format!("cut at {cut}");
        assert_subset(&got.events, &all, &what);
        let in_chunk = (cut - HEADER) / CHUNK;
        assert_intact(&got.events, &per_chunk, &(0..in_chunk).collect::<Vec<_>>(), &what);
        let offset = (cut - HEADER) % CHUNK;
        if offset == 0 || offset >= 24 {
            // Chunks wholly past the cut are not in the file at all (a shorter log), so not lost.
            let absent = if offset == 0 { in_chunk } else { in_chunk + 1 };
            let lost_expected = n - got.count - (absent..chunks).map(|c| total(&per_chunk[c])).sum::<usize>();
            assert_eq!(got.lost as usize, lost_expected, "{what}: {:?}", got.errors);
        }
        if offset > 0 {
            let err = got.errors.first().map(ToString::to_string).unwrap_or_default();
            assert!(err.contains("truncated") && err.contains(&format!("chunk {in_chunk}")), "{what}: {err}");
        }
        cases += 1;
    }

    // The file header: whatever is overwritten, every chunk is still read (found where the header would put
    // it, or by scanning for chunk signatures), with a warning when the damage shows.
    for at in (0..128).step_by(4).chain([200, 1000, HEADER - 8]) {
        let mut bad = log.clone();
        bad[at..at + 8].fill(0xA5);
        let got = read(&bad);
        assert_eq!(got.events, all, "file header overwritten at {at}: {:?}", got.errors);
        assert_eq!(got.lost, 0);
        // (Bytes 120.. hold the flags, one of which says "no checksum", then the checksum itself.)
        if at + 8 <= 120 {
            assert!(!got.errors.is_empty(), "file header overwritten at {at}: no warning");
        }
        cases += 1;
    }
    // No file header at all, and chunks moved off their places: recovered by the signature scan.
    let mut moved = vec![0x33u8; 1000];
    moved.extend_from_slice(&log[HEADER..]);
    let got = read(&moved);
    assert_eq!(got.events, all, "{:?}", got.errors);
    assert!(got.errors[0].to_string().contains("recovered 4 chunk(s)"), "{}", got.errors[0]);

    // Chunk headers and records: a chunk whose header or records were damaged loses its records (counted);
    // the others are read whole.
    for c in 0..chunks {
        let start = HEADER + c * CHUNK;
        let free = u32::from_le_bytes(log[start + 48..start + 52].try_into().unwrap()) as usize;
        let header_offsets = (0..512).step_by(8);
        let body_offsets = (512..free).step_by(97).chain([free - 4, free + 100, CHUNK - 8]);
        for at in header_offsets.chain(body_offsets) {
            let mut bad = log.clone();
            let len = 8.min(CHUNK - at);
            for b in &mut bad[start + at..start + at + len] {
                *b ^= 0x5A;
            }
            let got = read(&bad);
            let what = format!("chunk {c} overwritten at {at}");
            assert_subset(&got.events, &all, &what);
            let others: Vec<usize> = (0..chunks).filter(|o| *o != c).collect();
            assert_intact(&got.events, &per_chunk, &others, &what);
            assert_eq!(got.count + got.lost as usize, n, "{what}: {:?}", got.errors);
            if at >= free {
                assert_eq!(got.events, all, "{what}: slack space is not part of any record");
            }
            cases += 1;
        }
    }
    assert!(cases > 300, "{cases}");
}
