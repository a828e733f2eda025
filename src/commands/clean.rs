//! `tfw clean`: removes terraform's local working files: `.terraform/`, saved plans, crash
//! logs and graph outputs. Never `.env`, `.terraform.lock.hcl`, local state files or backups:
//! what is removed here can always be recreated. `--fix-modes` removes nothing: it narrows
//! the files that hold a state, a plan or a secret to the owner's alone (see `modes`).
//!
//! Only tfw's and terraform's own files go, so a name alone is not enough: a symbolic link
//! (`.terraform -> /big/disk`, `x.tfplan -> ~/keep`) is neither followed nor removed, a file
//! git tracks (a committed `graph.svg`) is kept, and a folder that is no root at all
//! (`tfw -C ~ clean`) is refused: its `crash.log` and `*.tfplan` are somebody else's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::cli::CleanArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::layout;

pub(super) fn run(ctx: &Context, args: &CleanArgs) -> Result<ExitCode> {
    if args.fix_modes {
        return fix_modes(ctx, args.dry_run);
    }
    let dir = ctx.dir();
    // Before the run lock, which would create `.tfw/` there.
    refuse_outside_a_root(dir)?;
    // A run in progress needs `.terraform` and its saved plan until it ends.
    if !args.dry_run {
        crate::session::take_run_lock(ctx, None)?;
    }
    let mut targets: Vec<PathBuf> = vec![
        dir.join(".terraform"),
        layout::plans(dir),
        layout::init_record(dir),
        dir.join("graph.svg"),
        dir.join("graph.dot"),
    ];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let crash =
                name == "crash.log" || (name.starts_with("crash.") && name.ends_with(".log"));
            if crash || name.ends_with(".tfplan") {
                targets.push(entry.path());
            }
        }
    }
    // A kill during an atomic write leaves its temporary file behind (it may hold the token).
    for folder in [dir.to_path_buf(), layout::dir(dir)] {
        if let Ok(entries) = std::fs::read_dir(&folder) {
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .contains(layout::TEMP_MARK)
                {
                    targets.push(entry.path());
                }
            }
        }
    }
    // `symlink_metadata`: a dangling link is there too (and kept, below).
    targets.retain(|path| std::fs::symlink_metadata(path).is_ok());
    targets.sort();
    let tracked = tracked(dir, &targets);
    let shown = |path: &Path| path.strip_prefix(dir).unwrap_or(path).display().to_string();
    targets.retain(|path| match kept_because(dir, path, &tracked) {
        Some(why) => {
            ctx.printer
                .warning(&format!("left `{}` alone: {why}", shown(path)));
            false
        }
        None => true,
    });
    if targets.is_empty() {
        ctx.printer.status("Nothing to clean");
        return Ok(ExitCode::Success);
    }
    for path in &targets {
        let shown = shown(path);
        if args.dry_run {
            ctx.printer.outln(&format!("would remove {shown}"))?;
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(path).with_context(|| format!("cannot remove `{shown}`"))?;
        } else {
            std::fs::remove_file(path).with_context(|| format!("cannot remove `{shown}`"))?;
        }
        ctx.printer.status(&format!("Removed `{shown}`"));
    }
    Ok(ExitCode::Success)
}

/// `tfw -C DIR clean` where DIR holds no `*.tf` file and no `.tfw/`: not a root tfw or
/// terraform worked in, so nothing there is theirs to remove.
fn refuse_outside_a_root(dir: &Path) -> Result<()> {
    let configured = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (name.ends_with(".tf") || name.ends_with(".tf.json"))
                && entry.file_type().is_ok_and(|t| t.is_file())
        });
    if configured || std::fs::symlink_metadata(layout::dir(dir)).is_ok() {
        return Ok(());
    }
    Err(crate::problem::Problem::error(format!(
        "`{}` holds no terraform configuration (no `*.tf` file) and no `.tfw/`: tfw clean removes working files in a root only; nothing was removed",
        dir.display()
    ))
    .hint("run it in a root's folder, or name one: `tfw -C ROOT clean`")
    .into())
}

/// Why a working file's name is kept: a symbolic link at it or on the way (what it points
/// to is not tfw's, and neither is the link), or git tracks it or something below it.
fn kept_because(dir: &Path, path: &Path, tracked: &BTreeSet<PathBuf>) -> Option<String> {
    if let Some(link) = crate::fsutil::first_symlink(dir, path) {
        let target = std::fs::read_link(&link).unwrap_or_default();
        let link = link
            .strip_prefix(dir)
            .unwrap_or(&link)
            .display()
            .to_string();
        return Some(format!(
            "`{link}` is a symbolic link to `{}`; tfw removes only its own files, never through a link (`rm {link}` removes the link itself)",
            target.display()
        ));
    }
    tracked
        .iter()
        .any(|file| file.starts_with(path))
        .then(|| "git tracks it, so it is not a leftover (`git rm` it if it is)".to_string())
}

/// The files among (or below) `paths` that git tracks; none outside a work tree.
fn tracked(dir: &Path, paths: &[PathBuf]) -> BTreeSet<PathBuf> {
    let names: Vec<&Path> = paths
        .iter()
        .filter_map(|p| p.strip_prefix(dir).ok())
        .collect();
    if names.is_empty() {
        return BTreeSet::new();
    }
    let out = crate::template::git::git()
        .arg("-C")
        .arg(dir)
        .args(["ls-files", "-z", "--"])
        .args(&names)
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|&b| b == 0)
            .filter(|item| !item.is_empty())
            .map(|item| dir.join(String::from_utf8_lossy(item).as_ref()))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn fix_modes(ctx: &Context, dry_run: bool) -> Result<ExitCode> {
    let dir = ctx.dir();
    let loose = crate::modes::loose(dir, env_file(ctx).as_deref());
    if loose.is_empty() {
        ctx.printer
            .status("Nothing to fix: states, plans and secrets are the owner's alone");
        return Ok(ExitCode::Success);
    }
    let shown =
        |path: &std::path::Path| path.strip_prefix(dir).unwrap_or(path).display().to_string();
    for file in &loose {
        let what = format!(
            "`{}` from {:o} to {:o}",
            shown(&file.path),
            file.mode,
            file.wanted
        );
        if dry_run {
            ctx.printer.outln(&format!("would change {what}"))?;
        } else {
            ctx.printer.status(&format!("Changed {what}"));
        }
    }
    if dry_run {
        return Ok(ExitCode::Success);
    }
    match crate::modes::repair(&loose).first() {
        None => Ok(ExitCode::Success),
        Some((path, err)) => Err(crate::problem::Problem::error(format!(
            "cannot change the mode of `{}`: {err}",
            shown(path)
        ))
        .hint("it may belong to another user; `ls -l` shows who owns it")
        .into()),
    }
}

/// `.env` when it is a plain file (a link points at a file that is not tfw's to change).
pub(crate) fn env_file(ctx: &Context) -> Option<PathBuf> {
    let path = &ctx.settings.env_file;
    std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.is_file())
        .then(|| path.clone())
}
