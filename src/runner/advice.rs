//! terraform's own advice, in tfw's terms. terraform ends its output with what to run next
//! ("run the following command to apply: terraform apply PLAN", "Try running terraform plan",
//! "please run terraform init"), which sends people back to raw terraform: without the
//! backend in its environment, or for another state than the one tfw chose. What tfw passes
//! through is rewritten to the tfw command (with `--state` when that flag chose the state) or,
//! where tfw does the step itself (init, the apply after a plan), dropped. Only what is shown
//! changes: the copy tfw reads (plan summary, lock errors) keeps terraform's words.

use std::borrow::Cow;

use super::strip_ansi;

/// Paragraphs dropped whole, by their first line: tfw initialises by itself, asks before
/// applying, and explains a lock conflict (who holds it, how to release it) itself, where
/// terraform suggests `-lock=false`, which tfw refuses on shared states.
const DROPPED: &[&str] = &[
    "To perform exactly these actions, run the following command to apply:",
    "You may now begin working with Terraform.",
    "You may now begin working with OpenTofu.",
    "If you ever set or change modules or backend configuration for",
    "Terraform acquires a state lock to protect the state from being written",
    "OpenTofu acquires a state lock to protect the state from being written",
];

/// terraform's commands and what tfw runs instead (after `tfw`, and its `--state`).
const COMMANDS: &[(&str, &str)] = &[
    ("state push", "exec -- state push"),
    ("init", "init"),
    ("plan", "plan"),
    ("apply", "apply"),
    ("destroy", "destroy"),
];

/// One stream's rewriting: it remembers whether it is inside a dropped paragraph.
#[derive(Debug, Clone)]
pub(crate) struct Advice {
    /// `tfw`, or `tfw --state NAME`.
    tfw: String,
    dropping: bool,
}

impl Advice {
    pub(crate) fn new(tfw: String) -> Self {
        Self {
            tfw,
            dropping: false,
        }
    }

    /// The line as it should be shown (`line` ends with its newline, if it has one).
    pub(crate) fn rewrite<'a>(&mut self, line: &'a str) -> Cow<'a, str> {
        let plain = strip_ansi(line);
        let text = plain.trim().trim_start_matches(['│', '╷', '╵']).trim();
        if !self.dropping && DROPPED.iter().any(|start| text.starts_with(start)) {
            self.dropping = true;
        }
        if self.dropping {
            if text.is_empty() {
                self.dropping = false;
                // The end of a diagnostic's box stays; a blank line between paragraphs goes
                // with the paragraph.
                if plain.contains(['│', '╵']) {
                    return Cow::Borrowed(line);
                }
            }
            // The colour codes stay: a paragraph often ends with the reset of a colour that
            // began before it.
            return Cow::Owned(escapes(line));
        }
        self.commands(line)
    }

    fn commands<'a>(&self, line: &'a str) -> Cow<'a, str> {
        if !line.contains("terraform ") && !line.contains("tofu ") {
            return Cow::Borrowed(line);
        }
        let mut out = line.to_string();
        for binary in ["terraform", "tofu"] {
            for (theirs, ours) in COMMANDS {
                let from = format!("{binary} {theirs}");
                if !out.contains(&from) {
                    continue;
                }
                let to = format!("{} {ours}", self.tfw);
                out = replace_words(&out, &from, &to);
            }
        }
        Cow::Owned(out)
    }
}

/// Replaces `from` where it is a whole command (not `terraform initialized`, not
/// `myterraform init`).
fn replace_words(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        if word(before) || word(after) || after == Some('-') {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Only the escape sequences of a line, in order.
fn escapes(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            continue;
        }
        out.push(c);
        if chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                out.push(c);
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(tfw: &str, text: &str) -> String {
        let mut advice = Advice::new(tfw.into());
        text.split_inclusive('\n')
            .map(|line| advice.rewrite(line).into_owned())
            .collect()
    }

    #[test]
    fn the_apply_advice_after_a_plan_is_dropped() {
        let text = "Plan: 1 to add.\n\nSaved the plan to: .tfw/plans/dev.tfplan\n\nTo perform exactly these actions, run the following command to apply:\n    terraform apply \".tfw/plans/dev.tfplan\"\n";
        assert_eq!(
            shown("tfw", text),
            "Plan: 1 to add.\n\nSaved the plan to: .tfw/plans/dev.tfplan\n\n"
        );
    }

    #[test]
    fn init_advice_is_dropped_and_colours_kept() {
        let text = "\u{1b}[0m\u{1b}[1m\u{1b}[32mTerraform has been successfully initialized!\u{1b}[0m\u{1b}[32m\u{1b}[0m\n\u{1b}[0m\u{1b}[32m\nYou may now begin working with Terraform. Try running \"terraform plan\" to see\nany changes.\n\nIf you ever set or change modules or backend configuration for Terraform,\nrerun this command.\u{1b}[0m\n";
        let out = shown("tfw", text);
        assert!(out.contains("successfully initialized!"), "{out}");
        assert!(
            !out.contains("terraform plan") && !out.contains("rerun"),
            "{out}"
        );
        assert!(
            out.ends_with("\u{1b}[0m"),
            "the closing reset is kept: {out:?}"
        );
    }

    #[test]
    fn commands_become_tfw_commands_for_the_same_state() {
        assert_eq!(
            shown(
                "tfw --state prod",
                "Backend initialization required, please run \"terraform init\"\n"
            ),
            "Backend initialization required, please run \"tfw --state prod init\"\n"
        );
        assert_eq!(
            shown("tfw", "run `terraform state push errored.tfstate`\n"),
            "run `tfw exec -- state push errored.tfstate`\n"
        );
        // Not a command: left alone.
        assert_eq!(
            shown("tfw", "the terraform initialized it; terraform init-x\n"),
            "the terraform initialized it; terraform init-x\n"
        );
    }

    #[test]
    fn the_lock_false_advice_is_dropped_inside_a_box() {
        let text = "│ Error: Error acquiring the state lock\n│ \n│ Lock Info:\n│   Who: bob\n│ \n│ Terraform acquires a state lock to protect the state from being written\n│ by multiple users at the same time. Please resolve the issue above and try\n│ again. For most commands, you can disable locking with the \"-lock=false\"\n│ flag, but this is not recommended.\n╵\n";
        let out = shown("tfw", text);
        assert!(out.contains("Who: bob"), "{out}");
        assert!(!out.contains("-lock=false"), "{out}");
        assert!(out.ends_with("╵\n"), "{out}");
    }
}
