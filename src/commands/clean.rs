//! `tfw clean`: removes terraform's local working files: `.terraform/`, saved plans, crash
//! logs and graph outputs. Never `.env`, `.terraform.lock.hcl`, local state files or backups:
//! what is removed here can always be recreated. `--fix-modes` removes nothing: it narrows
//! the files that hold a state, a plan or a secret to the owner's alone (see `modes`).

use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::cli::CleanArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::layout;

pub(super) fn run(ctx: &Context, args: &CleanArgs) -> Result<ExitCode> {
    if args.fix_modes {
        return fix_modes(ctx, args.dry_run);
    }
    // A run in progress needs `.terraform` and its saved plan until it ends.
    if !args.dry_run {
        crate::session::take_run_lock(ctx, None)?;
    }
    let dir = ctx.dir();
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
    targets.retain(|path| path.exists());
    targets.sort();
    if targets.is_empty() {
        ctx.printer.status("Nothing to clean");
        return Ok(ExitCode::Success);
    }
    for path in &targets {
        let shown = path.strip_prefix(dir).unwrap_or(path).display().to_string();
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
