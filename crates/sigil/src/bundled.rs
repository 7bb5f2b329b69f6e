//! The example rules and events built into the binary, so every subcommand works with no arguments.
//! The files live in `examples/` at the repository root (written for sigil, licensed with it).

macro_rules! bundle {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../examples/rules/", $name)))),*]
    };
}

/// `(file name, YAML text)` of every bundled rule.
pub const RULES: &[(&str, &str)] = bundle![
    "net_connection_win_rdp_to_public.yml",
    "proc_creation_win_meshagent_child_shell.yml",
    "proc_creation_win_powershell_encoded_command.yml",
    "proc_creation_win_whoami_system.yml",
    "ps_script_win_download_cradle.yml",
    "registry_set_win_run_key_temp.yml",
    "win_security_admin_share_access.yml",
    "win_security_failed_logons_burst.yml",
];

/// The bundled sample events (JSONL), named as they are shown in output.
pub const SAMPLE_EVENTS: (&str, &str) = ("bundled:sample.jsonl", include_str!("../../../examples/events/sample.jsonl"));

/// `(display name, YAML text)` of every bundled rule, named `bundled:<file>` as in other output.
pub fn rule_texts() -> Vec<(String, &'static str)> {
    RULES.iter().map(|(n, t)| (format!("bundled:{n}"), *t)).collect()
}

/// Loads the given rule paths, or the bundled rules when none are given.
pub fn load_rules(paths: &[std::path::PathBuf]) -> sigil_rule::RuleSet {
    if paths.is_empty() {
        let named: Vec<(String, &str)> = RULES.iter().map(|(n, t)| (format!("bundled:{n}"), *t)).collect();
        let refs: Vec<(&str, &str)> = named.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        sigil_check::load_texts(&refs)
    } else {
        sigil_check::load(paths, &sigil_rule::LoadOptions::default())
    }
}

/// Like [`load_rules`], for commands that run the rules (`sigil hunt`): a file's errors are found the same way,
/// the checks that can only warn are not run (see [`sigil_check::RUN_LINTER`]).
pub fn load_rules_to_run(paths: &[std::path::PathBuf]) -> sigil_rule::RuleSet {
    if paths.is_empty() { load_rules(paths) } else { sigil_check::load_to_run(paths) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_rules_are_clean_and_listed_completely() {
        let set = super::load_rules(&[]);
        assert_eq!(set.report().errors + set.report().warnings, 0, "{:?}", set.diagnostics());
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rules")).unwrap().count();
        assert_eq!(on_disk, super::RULES.len(), "every file in examples/rules must be bundled");
    }
}
