//! What `tfw adopt` carries over from the old Makefile template so that nothing the team
//! relied on is lost: the extra terraform arguments added to its scripts (into `tfw.toml`'s
//! `[args]`, which plan and apply use), and the old `env.example` keys the new one lacks.

use std::path::Path;

/// One argument the team added to a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Carried {
    pub script: String,
    pub args: Vec<String>,
    /// The `[args]` key it goes to, or why it is not carried.
    pub to: Result<&'static str, &'static str>,
}

/// Flags whose value may follow as the next word (`-var-file dev.tfvars`).
const TAKES_VALUE: &[&str] = &[
    "-var",
    "-var-file",
    "-target",
    "-replace",
    "-parallelism",
    "-lock-timeout",
];
/// What a plan decides: tfw applies saved plans, so apply.sh's go to `[args] plan`.
const PLANNING: &[&str] = &[
    "-var",
    "-var-file",
    "-target",
    "-replace",
    "-refresh",
    "-refresh-only",
];

fn flag_name(arg: &str) -> &str {
    arg.split('=').next().unwrap_or(arg)
}

/// Shell words of a command line, quotes removed (enough for the scripts' terraform lines).
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (_, c) => (word, any) = (word + &c.to_string(), true),
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// The extra arguments of `terraform VERB` in the old scripts, and where each one goes.
pub(crate) fn extra_args(dir: &Path) -> Vec<Carried> {
    let mut carried = Vec::new();
    for verb in ["init", "plan", "apply", "destroy"] {
        let script = format!("scripts/{verb}.sh");
        // Through the guard: a script that is a link or a FIFO is not read (nor waited on).
        let Ok(super::guard::Found::File { bytes, .. }) = super::guard::read(dir, &script) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let words = words(line.split(" #").next().unwrap_or(line));
            let Some(at) = words
                .windows(2)
                .position(|w| w[0] == "terraform" && w[1] == verb)
            else {
                continue;
            };
            let mut rest = words[at + 2..]
                .iter()
                .take_while(|w| {
                    !matches!(w.as_str(), "|" | "||" | "&&" | ";" | ">" | ">>" | "2>&1")
                })
                .filter(|w| !matches!(w.as_str(), "$@" | "$*" | "${@}"))
                .filter(|w| {
                    verb != "init"
                        || !matches!(w.as_str(), "-reconfigure" | "-backend-config=backend.hcl")
                })
                .cloned()
                .peekable();
            while let Some(arg) = rest.next() {
                let mut args = vec![arg.clone()];
                if !arg.contains('=')
                    && TAKES_VALUE.contains(&arg.as_str())
                    && let Some(value) = rest.next_if(|v| !v.starts_with('-'))
                {
                    args.push(value);
                }
                let to = if args.iter().any(|a| a.contains('$') || a.contains('`')) {
                    Err("uses a shell variable: set it in tfw.toml yourself")
                } else if verb == "init" {
                    Err("tfw runs init by itself: pass it once with `tfw init -- ARGS`")
                } else if flag_name(&arg) == "-auto-approve" {
                    Err("tfw asks instead: use `tfw apply --auto-approve`")
                } else if verb == "apply" && PLANNING.contains(&flag_name(&arg)) {
                    Ok("plan")
                } else {
                    Ok(verb)
                };
                carried.push(Carried {
                    script: script.clone(),
                    args,
                    to,
                });
            }
        }
    }
    carried
}

/// `tfw.toml` with an `[args]` table for what was carried; `None` when nothing was, or when
/// the file already has one (then the report says what to add).
pub(crate) fn with_args(toml_text: &str, carried: &[Carried]) -> Option<String> {
    let mut table = toml::Table::new();
    for key in ["plan", "apply", "destroy"] {
        let mut groups: Vec<&Vec<String>> = Vec::new();
        for c in carried.iter().filter(|c| c.to == Ok(key)) {
            // plan.sh and apply.sh often both say `-var-file=dev.tfvars`: once is enough.
            if !groups.contains(&&c.args) {
                groups.push(&c.args);
            }
        }
        let args: Vec<toml::Value> = groups
            .into_iter()
            .flatten()
            .cloned()
            .map(toml::Value::String)
            .collect();
        if !args.is_empty() {
            table.insert(key.to_string(), toml::Value::Array(args));
        }
    }
    if table.is_empty() || toml_text.lines().any(|l| l.trim() == "[args]") {
        return None;
    }
    let body = toml::to_string(&table).ok()?;
    let sep = if toml_text.ends_with('\n') || toml_text.is_empty() {
        ""
    } else {
        "\n"
    };
    Some(format!(
        "{toml_text}{sep}\n# Carried by `tfw adopt` from the old scripts\n[args]\n{body}"
    ))
}

/// Keys the short form replaces: the address is built from `GITLAB_URL` and `GITLAB_PROJECT`.
const REPLACED: &[&str] = &[
    "TF_HTTP_ADDRESS",
    "TF_HTTP_LOCK_ADDRESS",
    "TF_HTTP_UNLOCK_ADDRESS",
];

/// The new `env.example` with the old one's other keys (`AWS_*`...) appended in the short
/// form, each with the comment lines above it; and those keys' names.
pub(crate) fn merge_env_example(old: &str, new: &str) -> (String, Vec<String>) {
    let has = |key: &str| {
        new.lines()
            .any(|l| l.trim_start().starts_with(&format!("{key}=")))
    };
    let (mut kept, mut keys, mut comments) = (String::new(), Vec::new(), Vec::new());
    for line in old.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            comments.push(trimmed.to_string());
            continue;
        }
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed).trim();
        let Some((key, _)) = body.split_once('=') else {
            comments.clear();
            continue;
        };
        let key = key.trim();
        if !REPLACED.contains(&key) && !has(key) {
            for comment in comments.drain(..) {
                kept.push_str(&format!("{comment}\n"));
            }
            kept.push_str(&format!("{body}\n"));
            keys.push(key.to_string());
        }
        comments.clear();
    }
    if keys.is_empty() {
        return (new.to_string(), keys);
    }
    let sep = if new.ends_with('\n') { "" } else { "\n" };
    (
        format!("{new}{sep}\n# Kept from the old env.example\n{kept}"),
        keys,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_arguments_are_carried_where_tfw_uses_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join("scripts/plan.sh"), "source .env\nterraform plan -var-file=dev.tfvars \\\n  -target module.db -var 'a=b c' \"$@\"\n").unwrap();
        std::fs::write(dir.path().join("scripts/apply.sh"), "terraform apply -parallelism=3 -var-file=$ENV.tfvars -auto-approve -var-file=dev.tfvars\n").unwrap();
        let carried = extra_args(dir.path());
        let got: Vec<(Vec<String>, Result<&str, &str>)> =
            carried.iter().map(|c| (c.args.clone(), c.to)).collect();
        assert_eq!(
            got[0],
            (vec!["-var-file=dev.tfvars".to_string()], Ok("plan"))
        );
        assert_eq!(
            got[1],
            (
                vec!["-target".to_string(), "module.db".to_string()],
                Ok("plan")
            )
        );
        assert_eq!(got[2].0, vec!["-var", "a=b c"]);
        assert_eq!(got[3], (vec!["-parallelism=3".to_string()], Ok("apply")));
        assert!(got[4].1.is_err() && got[5].1.is_err());
        assert_eq!(
            got[6],
            (vec!["-var-file=dev.tfvars".to_string()], Ok("plan"))
        );
        let toml_text = with_args("protected = []\n", &carried).unwrap();
        let parsed: crate::project::ProjectFile = toml::from_str(&toml_text).unwrap();
        assert_eq!(parsed.args.apply, vec!["-parallelism=3"]);
        assert_eq!(
            parsed.args.plan,
            vec![
                "-var-file=dev.tfvars",
                "-target",
                "module.db",
                "-var",
                "a=b c"
            ]
        );
    }

    #[test]
    fn old_env_example_keys_are_kept() {
        let old = include_str!("../../templates/legacy/env.example");
        let (merged, keys) =
            merge_env_example(old, "GITLAB_URL=\"<x>\"\nTF_HTTP_USERNAME=\"<u>\"\n");
        assert_eq!(
            keys,
            [
                "TF_STATE_NAME",
                "TF_HTTP_PASSWORD",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY"
            ]
        );
        assert!(
            merged.contains("# Accès AWS\nAWS_ACCESS_KEY_ID=\"AWS-access-key-id\"\n"),
            "{merged}"
        );
        assert!(!merged.contains("TF_HTTP_ADDRESS"));
    }
}
