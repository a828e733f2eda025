//! Carrying out a plan, or showing it: the file operations a sync is made of, written in
//! order with the lock last, and rendered as one unified diff for `--dry-run`.

use std::path::Path;

use super::guard;
use crate::layout::TEMPLATE_LOCK;
use crate::problem::Problem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    Write {
        path: String,
        before: Option<String>,
        after: String,
        /// The exec bit to apply (`None`: keep the file's mode, for a block in a user's file).
        executable: Option<bool>,
    },
    /// Only the exec bit changes.
    Mode {
        path: String,
        executable: bool,
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

/// Every path an op writes, moves or removes.
pub(crate) fn touched(ops: &[Op]) -> Vec<String> {
    let mut paths = Vec::new();
    for op in ops {
        match op {
            Op::Write { path, .. } | Op::Remove { path, .. } | Op::Mode { path, .. } => {
                paths.push(path.clone())
            }
            Op::Rename { from, to } => paths.extend([from.clone(), to.clone()]),
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// The files that end up written, moved or removed (a move counts once).
pub(crate) fn changed_files(ops: &[Op]) -> usize {
    let mut paths: Vec<&str> = ops
        .iter()
        .map(|op| match op {
            Op::Write { path, .. } | Op::Remove { path, .. } | Op::Mode { path, .. } => {
                path.as_str()
            }
            Op::Rename { to, .. } => to.as_str(),
        })
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths.len()
}

/// The unified diff of every op.
pub(crate) fn diff(ops: &[Op]) -> String {
    let mut out = String::new();
    for op in ops {
        match op {
            Op::Write {
                path,
                before,
                after,
                ..
            } => out.push_str(&super::merge::unified(path, before.as_deref(), Some(after))),
            Op::Mode { path, executable } => {
                let (old, new) = if *executable {
                    ("100644", "100755")
                } else {
                    ("100755", "100644")
                };
                out.push_str(&format!(
                    "diff --git a/{path} b/{path}\nold mode {old}\nnew mode {new}\n"
                ))
            }
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

/// Carries out a plan, the lock last (so an interrupted sync is redone, not half-recorded).
/// Every path is checked again just before it is touched (`guard::prepare`): no write, move
/// or removal ever goes through a symlink; with `replace_symlinks` the link itself is replaced.
pub(crate) fn apply(
    dir: &Path,
    ops: &[Op],
    lock_text: &str,
    replace_symlinks: bool,
) -> Result<(), Problem> {
    let failed = |path: &str, err: &dyn std::fmt::Display| {
        Problem::error(format!("cannot write `{path}`: {err}")).at(&dir.join(path), None)
    };
    let prepare = |path: &str| guard::prepare(dir, path, replace_symlinks);
    for op in ops {
        match op {
            Op::Write {
                path,
                after,
                executable,
                ..
            } => {
                prepare(path)?;
                let mode = if *executable == Some(true) {
                    0o755
                } else {
                    0o644
                };
                crate::fsutil::write_atomic(&dir.join(path), after.as_bytes(), mode)
                    .map_err(|err| failed(path, &format!("{err:#}")))?;
                if let Some(executable) = executable {
                    set_executable(&dir.join(path), *executable)
                        .map_err(|err| failed(path, &err))?;
                }
            }
            Op::Mode { path, executable } => {
                prepare(path)?;
                set_executable(&dir.join(path), *executable).map_err(|err| failed(path, &err))?;
            }
            Op::Rename { from, to } => {
                prepare(from)?;
                prepare(to)?;
                if let Some(parent) = dir.join(to).parent() {
                    std::fs::create_dir_all(parent).map_err(|err| failed(to, &err))?;
                }
                std::fs::rename(dir.join(from), dir.join(to)).map_err(|err| failed(to, &err))?;
                remove_empty_parents(dir, from);
            }
            Op::Remove { path, .. } => {
                prepare(path)?;
                std::fs::remove_file(dir.join(path)).map_err(|err| failed(path, &err))?;
                remove_empty_parents(dir, path);
            }
        }
    }
    prepare(TEMPLATE_LOCK)?;
    crate::fsutil::write_atomic(&dir.join(TEMPLATE_LOCK), lock_text.as_bytes(), 0o644)
        .map_err(|err| failed(TEMPLATE_LOCK, &format!("{err:#}")))
}

/// The exec bit as the template has it: `x` wherever `r` is, or no `x` at all.
fn set_executable(path: &Path, executable: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777;
    let new = if executable {
        mode | ((mode & 0o444) >> 2)
    } else {
        mode & !0o111
    };
    if new != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(new))?;
    }
    Ok(())
}

/// Git does not keep empty directories; neither should a move or a removal.
pub(crate) fn remove_empty_parents(dir: &Path, path: &str) {
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
                executable: Some(true),
            },
            Op::Remove {
                path: "gone.txt".into(),
                before: "g\n".into(),
            },
        ];
        apply(dir.path(), &ops, "lock\n", false).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("new/a.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o100, 0o100, "the template's exec bit is applied");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("new/a.txt")).unwrap(),
            "A\n"
        );
        assert!(!dir.path().join("old").exists());
        assert!(!dir.path().join("gone.txt").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(TEMPLATE_LOCK)).unwrap(),
            "lock\n"
        );
        assert_eq!(changed_files(&ops), 2);
        assert!(diff(&ops).contains("rename from old/deep/a.txt\nrename to new/a.txt\n"));
    }
}
