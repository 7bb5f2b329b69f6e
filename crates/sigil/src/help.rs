//! Help that reads well at any terminal width, and what is generated from the same definitions (shell
//! completions, man pages).
//!
//! Long help is written in the source as hard-wrapped doc comments. Left as it is, clap re-wraps those lines at
//! the terminal's width and breaks them mid-sentence; joined blindly, lists turn into one paragraph. [`polish`]
//! joins the lines of each prose paragraph (so clap wraps them once, at the right width), keeps list items and
//! indented lines as lines, and moves the `Examples:` block after the options (`after_help`), for the command
//! and every subcommand.

use clap::Command;

/// The command with its help reflowed and its examples placed after the options, recursively.
pub fn polish(cmd: Command) -> Command {
    let long = cmd.get_long_about().map(ToString::to_string);
    let mut cmd = match long {
        Some(text) if cmd.get_after_help().is_none() => {
            let (body, examples) = split_examples(&text);
            let cmd = cmd.long_about(reflow(&body));
            match examples {
                Some(ex) => cmd.after_help(ex),
                None => cmd,
            }
        }
        Some(text) => cmd.long_about(reflow(&text)),
        None => cmd,
    };
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, polish);
    }
    cmd
}

/// The text before an `Examples:` paragraph, and that paragraph (to the end), if any.
fn split_examples(text: &str) -> (String, Option<String>) {
    let mut body = Vec::new();
    let mut examples: Option<Vec<&str>> = None;
    for line in text.lines() {
        match &mut examples {
            Some(ex) => ex.push(line),
            None if line.trim_end() == "Examples:" => examples = Some(vec![line]),
            None => body.push(line),
        }
    }
    let body = body.join("\n").trim_end().to_string();
    (body, examples.map(|e| e.join("\n").trim_end().to_string()))
}

/// Whether a line starts a list item (`- x`, `* x`, `1. x`) once its indentation is removed.
fn is_item(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("- ") || t.starts_with("* ") || t.split_once(". ").is_some_and(|(n, _)| n.parse::<u32>().is_ok())
}

/// Joins the hard-wrapped lines of prose paragraphs; keeps blank lines, list items (a wrapped item's
/// continuation lines are joined to it) and other indented lines (tables, commands) as they are.
pub fn reflow(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    // Whether the last output line may take the next line's words: prose, or a list item.
    let mut open = false;
    // The indentation of the text of the list item being continued.
    let mut item_indent: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if line.trim().is_empty() {
            out.push(String::new());
            open = false;
            item_indent = None;
            continue;
        }
        if is_item(line) {
            out.push(line.trim_end().to_string());
            let marker = line.trim_start().find(' ').map_or(2, |i| i + 1);
            item_indent = Some(indent + marker);
            open = true;
            continue;
        }
        let continues_item = item_indent.is_some_and(|i| indent >= i);
        let continues_prose = open && item_indent.is_none() && indent == 0;
        if (continues_item || continues_prose)
            && let Some(last) = out.last_mut()
        {
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        out.push(line.trim_end().to_string());
        open = indent == 0;
        item_indent = None;
    }
    out.join("\n").trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_is_joined_and_lists_stay_lists() {
        let text = "First line of a\nparagraph that goes on.\n\nA list:\n  * one item\n  * another item that\n    wraps\n\n  \
                    sigil hunt logs/   an indented command\n  sigil check rules/";
        let want = "First line of a paragraph that goes on.\n\nA list:\n  * one item\n  * another item that wraps\n\n  \
                    sigil hunt logs/   an indented command\n  sigil check rules/";
        assert_eq!(reflow(text), want);
    }

    #[test]
    fn examples_move_after_the_options() {
        let (body, ex) = split_examples("About.\n\nMore.\n\nExamples:\n  sigil x\n  sigil y\n");
        assert_eq!(body, "About.\n\nMore.");
        assert_eq!(ex.as_deref(), Some("Examples:\n  sigil x\n  sigil y"));
        assert_eq!(split_examples("No examples.").1, None);
    }
}
