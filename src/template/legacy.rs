//! What `tfw adopt` knows about the old Makefile template, so that converting a repository
//! loses nothing: which files are the template's (by content, against the originals embedded
//! from `templates/legacy/`), which are edited copies (shown as a diff, kept unless forced),
//! which are the team's own or git-ignored (never removed); the extra terraform arguments the
//! team added to its scripts (carried into `tfw.toml`); and the old `env.example` keys that
//! the new one lacks (carried into it).

use std::collections::BTreeSet;
use std::path::Path;

use super::merge::unified;

/// The Makefile template's files as shipped.
const ORIGINALS: &[(&str, &str)] = &[
    ("Makefile", include_str!("../../templates/legacy/Makefile")),
    (
        "scripts/init.sh",
        include_str!("../../templates/legacy/scripts/init.sh"),
    ),
    (
        "scripts/plan.sh",
        include_str!("../../templates/legacy/scripts/plan.sh"),
    ),
    (
        "scripts/apply.sh",
        include_str!("../../templates/legacy/scripts/apply.sh"),
    ),
    (
        "scripts/destroy.sh",
        include_str!("../../templates/legacy/scripts/destroy.sh"),
    ),
    (
        "scripts/format.sh",
        include_str!("../../templates/legacy/scripts/format.sh"),
    ),
    (
        "scripts/graph.sh",
        include_str!("../../templates/legacy/scripts/graph.sh"),
    ),
    (
        "scripts/clean.sh",
        include_str!("../../templates/legacy/scripts/clean.sh"),
    ),
];

/// Settings of terraform's http backend: a `backend.hcl` holding only these is the template's
/// (tfw passes every backend value through the environment).
const BACKEND_KEYS: &[&str] = &[
    "address",
    "lock_address",
    "unlock_address",
    "lock_method",
    "unlock_method",
    "update_method",
    "username",
    "password",
    "retry_max",
    "retry_wait_min",
    "retry_wait_max",
    "skip_cert_verification",
];

/// What adopt makes of one file the old template may have left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The template's, as shipped (apart from comments and layout): removable.
    Unchanged,
    /// The template's, edited here: the diff against the original; removed only with --force.
    Edited(String),
    /// Not from the template (a team script, a rewrite): never removed.
    Unknown,
    /// Ignored by git, which could not bring it back: never removed.
    Ignored,
    /// A symbolic link: never followed, never removed.
    Symlink,
}

#[derive(Debug, Clone)]
pub(crate) struct LegacyFile {
    pub path: String,
    pub verdict: Verdict,
}

/// Lines that matter: no comments (but the shebang), no blank lines, no indentation.
fn significant(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && (!l.starts_with('#') || l.starts_with("#!")))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Against the original: the same, an edited copy (most of its lines still there), or another file.
fn compare(path: &str, original: &str, text: &str) -> Verdict {
    let (ours, theirs) = (significant(text), significant(original));
    if ours == theirs {
        return Verdict::Unchanged;
    }
    let kept = theirs.iter().filter(|l| ours.contains(l)).count();
    if kept * 2 >= theirs.len().max(1) {
        Verdict::Edited(unified(path, Some(original), Some(text)))
    } else {
        Verdict::Unknown
    }
}

fn backend_hcl(text: &str) -> Verdict {
    let only_backend = text.lines().map(str::trim).all(|line| {
        line.is_empty()
            || line.starts_with('#')
            || line.starts_with("//")
            || line
                .split_once('=')
                .is_some_and(|(key, _)| BACKEND_KEYS.contains(&key.trim()))
    });
    match only_backend {
        true => Verdict::Unchanged,
        false => Verdict::Unknown,
    }
}

/// Every file the old template may have left: the Makefile, `backend.hcl`, and everything
/// under `scripts/` (walked without following links). `ignored` says which git ignores.
pub(crate) fn survey(
    dir: &Path,
    ignored: &dyn Fn(&[String]) -> BTreeSet<String>,
) -> Vec<LegacyFile> {
    let mut paths = Vec::new();
    for name in ["Makefile", "backend.hcl"] {
        if std::fs::symlink_metadata(dir.join(name)).is_ok() {
            paths.push(name.to_string());
        }
    }
    walk(dir, "scripts", &mut paths);
    let ignored = ignored(&paths);
    paths
        .into_iter()
        .map(|path| {
            let meta = std::fs::symlink_metadata(dir.join(&path));
            let verdict = if meta.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
                Verdict::Symlink
            } else if ignored.contains(&path) {
                Verdict::Ignored
            } else if !meta.as_ref().is_ok_and(|m| m.is_file()) {
                Verdict::Unknown
            } else {
                let text = std::fs::read_to_string(dir.join(&path)).unwrap_or_default();
                match (path.as_str(), ORIGINALS.iter().find(|(p, _)| *p == path)) {
                    ("backend.hcl", _) => backend_hcl(&text),
                    (_, Some((_, original))) => compare(&path, original, &text),
                    (_, None) => Verdict::Unknown,
                }
            };
            LegacyFile { path, verdict }
        })
        .collect()
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
    let Ok(meta) = std::fs::symlink_metadata(dir.join(rel)) else {
        return;
    };
    if !meta.is_dir() {
        out.push(rel.to_string());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir.join(rel)) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        walk(dir, &format!("{rel}/{name}"), out);
    }
}

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
    fn edited_copies_unknown_files_and_originals() {
        let (_, plan) = ORIGINALS[2];
        assert_eq!(
            compare("p", plan, &format!("# ours\n{plan}\n\n")),
            Verdict::Unchanged
        );
        let edited = plan.replace("terraform plan", "terraform plan -var-file=dev.tfvars");
        assert!(
            matches!(compare("p", plan, &edited), Verdict::Edited(d) if d.contains("+terraform plan -var-file"))
        );
        assert_eq!(
            compare("p", plan, "#!/bin/bash\nmake coffee\n"),
            Verdict::Unknown
        );
        assert_eq!(backend_hcl("lock_method = \"POST\"\n"), Verdict::Unchanged);
        assert_eq!(backend_hcl("bucket = \"x\"\n"), Verdict::Unknown);
    }

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
