//! Carrying out a plan, or showing it: the file operations a sync is made of, written in
//! order with the lock last, and rendered as one unified diff for `--dry-run`.

use std::path::Path;

use super::lock::LOCK_PATH;
use super::plan::Plan;
use crate::problem::Problem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Write {
        path: String,
        before: Option<String>,
        after: String,
    },
    Rename {
        from: String,
        to: String,
    },
    Remove {
        path: String,
        before: String,
    },
}

impl Plan {
    /// Every path an op writes, moves or removes.
    pub fn touched(&self) -> Vec<String> {
        let mut paths = Vec::new();
        for op in &self.ops {
            match op {
                Op::Write { path, .. } | Op::Remove { path, .. } => paths.push(path.clone()),
                Op::Rename { from, to } => paths.extend([from.clone(), to.clone()]),
            }
        }
        paths.sort();
        paths.dedup();
        paths
    }

    /// The files that end up written, moved or removed (a move counts once).
    pub fn changed_files(&self) -> usize {
        let mut paths: Vec<&str> = self
            .ops
            .iter()
            .map(|op| match op {
                Op::Write { path, .. } | Op::Remove { path, .. } => path.as_str(),
                Op::Rename { to, .. } => to.as_str(),
            })
            .collect();
        paths.sort_unstable();
        paths.dedup();
        paths.len()
    }

    /// The unified diff of every op.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for op in &self.ops {
            match op {
                Op::Write {
                    path,
                    before,
                    after,
                } => out.push_str(&super::merge::unified(path, before.as_deref(), Some(after))),
                Op::Rename { from, to } => out.push_str(&format!(
                    "diff --git a/{from} b/{to}\nrename from {from}\nrename to {to}\n"
                )),
                Op::Remove { path, before } => {
                    out.push_str(&super::merge::unified(path, Some(before), None))
                }
            }
        }
        out
    }
}

/// Carries out a plan, the lock last (so an interrupted sync is redone, not half-recorded).
pub fn apply(dir: &Path, ops: &[Op], lock_text: &str) -> Result<(), Problem> {
    let failed = |path: &str, err: &dyn std::fmt::Display| {
        Problem::error(format!("cannot write `{path}`: {err}")).at(&dir.join(path), None)
    };
    for op in ops {
        match op {
            Op::Write { path, after, .. } => {
                crate::fsutil::write_atomic(&dir.join(path), after.as_bytes(), 0o644)
                    .map_err(|err| failed(path, &format!("{err:#}")))?;
            }
            Op::Rename { from, to } => {
                if let Some(parent) = dir.join(to).parent() {
                    std::fs::create_dir_all(parent).map_err(|err| failed(to, &err))?;
                }
                std::fs::rename(dir.join(from), dir.join(to)).map_err(|err| failed(to, &err))?;
                remove_empty_parents(dir, from);
            }
            Op::Remove { path, .. } => {
                std::fs::remove_file(dir.join(path)).map_err(|err| failed(path, &err))?;
                remove_empty_parents(dir, path);
            }
        }
    }
    crate::fsutil::write_atomic(&dir.join(LOCK_PATH), lock_text.as_bytes(), 0o644)
        .map_err(|err| failed(LOCK_PATH, &format!("{err:#}")))
}

/// Git does not keep empty directories; neither should a move or a removal.
fn remove_empty_parents(dir: &Path, path: &str) {
    let mut current = Path::new(path).parent();
    while let Some(parent) = current.filter(|p| !p.as_os_str().is_empty()) {
        if std::fs::remove_dir(dir.join(parent)).is_err() {
            break;
        }
        current = parent.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_order_with_the_lock_last_and_leaves_no_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("old/deep")).unwrap();
        std::fs::write(dir.path().join("old/deep/a.txt"), "a\n").unwrap();
        std::fs::write(dir.path().join("gone.txt"), "g\n").unwrap();
        let ops = vec![
            Op::Rename {
                from: "old/deep/a.txt".into(),
                to: "new/a.txt".into(),
            },
            Op::Write {
                path: "new/a.txt".into(),
                before: Some("a\n".into()),
                after: "A\n".into(),
            },
            Op::Remove {
                path: "gone.txt".into(),
                before: "g\n".into(),
            },
        ];
        apply(dir.path(), &ops, "lock\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("new/a.txt")).unwrap(),
            "A\n"
        );
        assert!(!dir.path().join("old").exists());
        assert!(!dir.path().join("gone.txt").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_PATH)).unwrap(),
            "lock\n"
        );
        let plan = Plan {
            ops,
            ..Plan::default()
        };
        assert_eq!(plan.changed_files(), 2);
        assert!(
            plan.diff()
                .contains("rename from old/deep/a.txt\nrename to new/a.txt\n")
        );
    }
}
