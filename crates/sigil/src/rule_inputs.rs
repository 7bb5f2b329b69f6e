//! `--rules` of the commands that run Sigma only (`hunt`, `convert`): rule inputs of other families
//! (`--rules splunk=PATH`, or a folder recognised as Elastic, Sentinel, ...) are set apart and counted, so the
//! user reads one line saying what was skipped instead of a parse error per file.

use std::path::PathBuf;

use sigil_families::Family;

/// The `--rules` inputs split by family.
#[derive(Debug, Default)]
pub(crate) struct RuleInputs {
    /// Paths of Sigma rules (named `sigma=PATH`, any other name, or none).
    pub(crate) sigma: Vec<PathBuf>,
    /// Inputs of other families: (family, rule files), in the order given, one entry per family.
    pub(crate) skipped: Vec<(Family, usize)>,
}

impl RuleInputs {
    /// Reads `[NAME=]PATH` arguments; each path's family is recognised from its files
    /// ([`sigil_families::input_family`]).
    pub(crate) fn split(args: &[String]) -> RuleInputs {
        let mut out = RuleInputs::default();
        for spec in sigil_catalog::SourceSpec::parse_all(args) {
            // `SourceSpec` names an unnamed input after its folder; only an explicit `NAME=` is a hint.
            let named = args.iter().any(|a| a.split_once('=').is_some_and(|(n, _)| n == spec.name));
            for path in spec.paths {
                // A path that does not exist stays with the Sigma inputs, whose loader names it as missing:
                // `splunk=/typo` must not read as "0 Splunk rules not run".
                if !path.exists() {
                    out.sigma.push(path);
                    continue;
                }
                match sigil_families::input_family(named.then_some(spec.name.as_str()), &path) {
                    Family::Sigma => out.sigma.push(path),
                    family => {
                        let files = sigil_families::count_rule_files(&path, family);
                        match out.skipped.iter_mut().find(|(f, _)| *f == family) {
                            Some((_, n)) => *n += files,
                            None => out.skipped.push((family, files)),
                        }
                    }
                }
            }
        }
        out
    }

    /// One line saying what was skipped (`1613 Splunk rules and 348 Chronicle rules not run: sigil hunt runs
    /// Sigma rules only`), or `None`.
    pub(crate) fn skipped_line(&self, command: &str) -> Option<String> {
        if self.skipped.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .skipped
            .iter()
            .map(|(f, n)| format!("{n} {} rule{}", f.label(), if *n == 1 { "" } else { "s" }))
            .collect();
        let verb = if command == "convert" { "not converted" } else { "not run" };
        Some(format!(
            "--rules: {} {verb}: sigil {command} reads Sigma rules only (`sigil show`, `stats` and `serve` read the \
             other families)",
            parts.join(", ")
        ))
    }

    /// Fails when the user gave `--rules` and none of them is Sigma: there is nothing to run.
    pub(crate) fn require_sigma(&self, command: &str) -> anyhow::Result<()> {
        if self.sigma.is_empty()
            && let Some(line) = self.skipped_line(command)
        {
            anyhow::bail!("no Sigma rules to use; {line}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures(name: &str) -> String {
        format!("{}/../sigil_families/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn other_families_are_set_apart_and_counted() {
        let examples = format!("{}/../../examples/rules", env!("CARGO_MANIFEST_DIR"));
        let args = vec![
            format!("sigma={examples}"),
            format!("team={}", fixtures("elastic")),
            fixtures("sentinel"),
            format!("elastic={}", fixtures("elastic/mesh_shell.toml")),
        ];
        let inputs = RuleInputs::split(&args);
        assert_eq!(inputs.sigma, [PathBuf::from(&examples)]);
        assert_eq!(inputs.skipped, [(Family::Elastic, 5), (Family::Sentinel, 2)]);
        assert_eq!(
            inputs.skipped_line("hunt").unwrap(),
            "--rules: 5 Elastic rules, 2 Sentinel rules not run: sigil hunt reads Sigma rules only (`sigil show`, \
             `stats` and `serve` read the other families)"
        );
        assert!(inputs.require_sigma("hunt").is_ok());
        let only_other = RuleInputs::split(&[fixtures("sentinel/mesh_shell.yaml")]);
        let err = only_other.require_sigma("convert").unwrap_err().to_string();
        assert!(err.starts_with("no Sigma rules to use; --rules: 1 Sentinel rule not converted"), "{err}");
        // Sigma alone: nothing to say.
        let sigma = RuleInputs::split(&[examples]);
        assert!(sigma.skipped_line("hunt").is_none() && sigma.require_sigma("hunt").is_ok());
    }

    #[test]
    fn a_missing_path_named_after_a_family_stays_for_the_sigma_loader_to_report() {
        let inputs = RuleInputs::split(&["splunk=/no/such/folder".to_string()]);
        assert_eq!(inputs.sigma, [PathBuf::from("/no/such/folder")]);
        assert!(inputs.skipped.is_empty());
    }
}
