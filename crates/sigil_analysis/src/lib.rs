//! Rules judged against other rules and against logs, for the questions detection engineers ask of a new rule and
//! of their logs:
//!
//! - [`diff`]: does this new or changed rule add anything to a corpus? Duplicates (same detection logic after
//!   normalisation), shared indicators with their counts, ATT&CK techniques and events it adds, closest rules.
//! - [`coverage`]: which rules can these logs feed? What channels, event ids and fields the logs hold, and per rule
//!   whether it can fire or why not (logsource absent, event id never seen, a needed field never populated).
//!
//! Both work on rules loaded by `sigil_rule`, the routing tables and event schemas of `sigil_knowledge` and the
//! catalog's indicator keys (`sigil_catalog::IndicatorKey`, used read-only); neither matches events (that is
//! `sigil_engine`'s job, and `sigil explain` explains one match).

#![warn(missing_docs, unreachable_pub)]

pub mod coverage;
pub mod diff;
