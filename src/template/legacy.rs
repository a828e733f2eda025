//! What `tfw adopt` knows about the old Makefile template's files, so that converting a
//! repository removes nothing it should not: which files are the template's (by content,
//! against the originals embedded from `templates/legacy/`), which are edited copies (shown as
//! a diff, kept unless forced), which are the team's own or git-ignored (never removed). What
//! adopt carries over from them is in `carry`.

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
}
