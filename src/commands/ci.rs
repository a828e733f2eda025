//! `tfw ci pipeline`: writes the child pipeline of a repository with several roots (a plan
//! and a manual apply per root, `roots::pipeline`). Which roots: those a merge request
//! changes (since `CI_MERGE_REQUEST_DIFF_BASE_SHA`), or a push (since `CI_COMMIT_BEFORE_SHA`),
//! else all of them; `--changed[=REF]` and `--all` decide instead.

use anyhow::Result;

use crate::cli::{CiPipelineArgs, ManyRoots};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::{Problem, Problems};
use crate::roots::pipeline::{Header, RootJob, render};

/// What `git` prints for "no previous commit" (a new branch's first push).
const NO_COMMIT: &str = "0000000000000000000000000000000000000000";

pub(super) fn run(ctx: &Context, args: &CiPipelineArgs) -> Result<ExitCode> {
    let env = |key: &str| {
        ctx.settings
            .env
            .get(key)
            .filter(|v| !v.is_empty() && v.as_str() != NO_COMMIT)
            .cloned()
    };
    let (changed, why) = if args.all {
        (None, "every root (--all)".to_string())
    } else if let Some(reference) = &args.changed {
        let shown = if reference.is_empty() {
            "the default branch"
        } else {
            reference
        };
        (
            Some(reference.clone()),
            format!("the roots changed since {shown}"),
        )
    } else if let Some(base) = env("CI_MERGE_REQUEST_DIFF_BASE_SHA") {
        let why = format!("the roots this merge request changes (since {base})");
        (Some(base), why)
    } else if let Some(before) = env("CI_COMMIT_BEFORE_SHA") {
        let why = format!("the roots this push changes (since {before})");
        (Some(before), why)
    } else {
        (None, "every root".to_string())
    };
    let many = ManyRoots {
        all: true,
        roots: args.roots.clone(),
        changed,
        ..ManyRoots::default()
    };
    let resolved = super::roots::selected(ctx, &many)?;
    let shared = crate::roots::shared_states(&resolved);
    if !shared.is_empty() {
        return Err(Problems(shared).into());
    }
    let mut jobs = Vec::new();
    for one in &resolved {
        let Some(state) = &one.state else {
            return Err(Problem::error(format!(
                "the root `{}` has no state its jobs could use",
                one.root.path
            ))
            .hint("map it in tfw.toml (`ci_state`, or `state = \"{root}\"`); `tfw roots` shows each root's")
            .into());
        };
        jobs.push(RootJob {
            path: one.root.path.clone(),
            state: state.value.clone(),
            protected: one.settings.project.is_protected(&state.value),
        });
    }
    let yaml = render(&Header { selection: why }, &jobs);
    match &args.output {
        Some(path) => {
            let path = ctx.dir().join(path);
            crate::fsutil::write_atomic(&path, yaml.as_bytes(), 0o644)?;
            ctx.printer.status(&format!(
                "Wrote `{}`: {} root(s)",
                path.display(),
                jobs.len()
            ));
        }
        None => ctx.printer.out(&yaml)?,
    }
    Ok(ExitCode::Success)
}
