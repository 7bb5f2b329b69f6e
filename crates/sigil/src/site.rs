//! `sigil site` (being built; see the issue tracker).

use std::process::ExitCode;

/// Not available yet.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'sigil site' is not available in this build yet")
}
