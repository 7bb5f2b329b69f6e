//! Helpers shared by the workspace's tests; a dev-dependency only, never part of a built binary.
//!
//! Tests that need something outside the repository (the shared corpus, Python with engines, a browser) skip
//! when it is absent, unless the matching `SIGIL_REQUIRE_*` variable is `1`, where its absence fails the test
//! (CI sets them all). [`skip`] is that rule; [`corpus`] and [`python`] find the two things most tests need, and
//! [`LineDriver`] is the one helper process per test binary that speaks one JSON object per line.

#![warn(missing_docs, unreachable_pub)]
// Test support: a failure to talk to the helper process is a failed test, reported by a panic with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value as Json;

/// The workspace root (this crate is `crates/sigil_testutil`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `var` (`SIGIL_REQUIRE_CORPUS`, `SIGIL_REQUIRE_ENGINES`, ...) is `1`: what it guards must be present.
pub fn require(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// Records that a test is skipped because `why`; fails it instead when `var` is `1` (see the crate docs).
///
/// # Panics
/// When `var` is `1`.
pub fn skip(var: &str, why: &str) {
    assert!(!require(var), "{var}=1 but {why}");
    println!("skipped: {why} (set {var}=1 to make this an error)");
}

/// The shared corpus folder (`../shared/corpus` beside the workspace), canonical, when it holds every one of
/// `parts` (subfolders such as `sigmahq-regression`); else `None` after [`skip`] with `SIGIL_REQUIRE_CORPUS`.
///
/// # Panics
/// When a part is missing and `SIGIL_REQUIRE_CORPUS=1`.
pub fn corpus(parts: &[&str]) -> Option<PathBuf> {
    let dir = workspace_root().join("../shared/corpus");
    if let Some(missing) = parts.iter().find(|p| !dir.join(p).is_dir()) {
        skip("SIGIL_REQUIRE_CORPUS", &format!("no corpus at {}", dir.join(missing).display()));
        return None;
    }
    Some(dir.canonicalize().unwrap_or(dir))
}

/// The Python to run: `$SIGIL_PYTHON`, else the workspace's `.venv/bin/python` (which `.ci/run` creates), else
/// `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SIGIL_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() { venv } else { PathBuf::from("python3") }
}

/// A helper process (a Python script run by [`python`]) that answers each JSON request line with one JSON line;
/// an answer with an `error` member fails the test. Tests keep one per test binary, so engines start once.
#[derive(Debug)]
pub struct LineDriver {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl LineDriver {
    /// Starts `script` with [`python`]; its stderr goes to the test's.
    ///
    /// # Errors
    /// Why Python cannot run, as a sentence for [`skip`].
    pub fn spawn(script: &Path) -> Result<LineDriver, String> {
        let python = python();
        let mut child = Command::new(&python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("python ({}) cannot run: {e}", python.display()))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(LineDriver { _child: child, stdin, stdout })
    }

    /// Sends one request and reads its answer.
    ///
    /// # Panics
    /// When the process has exited, answers with something that is not JSON, or answers with an `error`.
    pub fn ask(&mut self, req: &Json) -> Json {
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the Python driver exited (see stderr)");
        let v: Json = serde_json::from_str(&line).unwrap();
        if let Some(e) = v.get("error") {
            panic!("python driver: {e}");
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_reads_exactly_one() {
        // A variable no test sets: absent is not required, so skipping is allowed and only prints.
        assert!(!require("SIGIL_REQUIRE_NOTHING_AT_ALL"));
        skip("SIGIL_REQUIRE_NOTHING_AT_ALL", "nothing is needed");
    }

    #[test]
    fn a_missing_corpus_part_is_none() {
        if require("SIGIL_REQUIRE_CORPUS") {
            return;
        }
        assert_eq!(corpus(&["sigmahq", "no-such-part-of-the-corpus"]), None);
    }

    #[test]
    fn the_driver_round_trips_and_reports_a_missing_interpreter() {
        let script = std::env::temp_dir().join(format!("sigil_testutil_echo_{}.py", std::process::id()));
        std::fs::write(
            &script,
            "import sys, json\nfor l in sys.stdin:\n    print(json.dumps({'echo': json.loads(l)}), flush=True)\n",
        )
        .unwrap();
        match LineDriver::spawn(&script) {
            Ok(mut d) => {
                let a = d.ask(&serde_json::json!({"op": "probe", "n": 1}));
                assert_eq!(a, serde_json::json!({"echo": {"op": "probe", "n": 1}}));
            }
            Err(why) => assert!(why.contains("cannot run"), "{why}"),
        }
        let _ = std::fs::remove_file(&script);
    }
}
