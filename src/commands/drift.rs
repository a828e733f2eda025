//! `tfw drift`: has the real infrastructure moved away from the state? A refresh-only plan
//! (`plan -refresh-only -detailed-exitcode`) without the lock (`-lock=false`: it writes
//! nothing, so a Developer's read-only token is enough and nobody is blocked), into its own
//! file so a reviewed plan in `.tfw/plans/` is never replaced. Exit 0 in sync, 2 drifted,
//! 1 failed (`states::drift` reads the plan).

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::DriftArgs;
use crate::context::Context;
use crate::runner::Output;
use crate::session::{Root, Session};
use crate::states::drift::Report;

pub fn run(ctx: &Context, args: &DriftArgs) -> Result<i32> {
    let session = Session::open(ctx, Root::Gitlab)?;
    session.init_if_needed()?;
    let state = session.state().to_string();
    let plan = ctx
        .tfw_dir()
        .join("drift")
        .join(format!("{}.tfplan", crate::backend::encode_segment(&state)));
    std::fs::create_dir_all(plan.parent().expect("drift plans live in a folder"))?;
    let mut terraform_args: Vec<OsString> = [
        "plan",
        "-refresh-only",
        "-detailed-exitcode",
        "-lock=false",
        "-input=false",
    ]
    .map(OsString::from)
    .to_vec();
    terraform_args.push(format!("-out={}", plan.display()).into());
    terraform_args.extend(ctx.color_args());
    // With --json, stdout is the report alone: terraform's own output goes to the log only.
    let output = if args.json {
        Output::CaptureStdout
    } else {
        Output::Tee
    };
    let outcome = session.terraform(terraform_args, output)?;
    if outcome.interrupted {
        let _ = std::fs::remove_file(&plan);
        return Ok(outcome.exit_code());
    }
    let report = match outcome.code {
        0 | 2 => match session.show_json(&plan) {
            Ok(shown) => Report::from_plan(&state, &shown, outcome.code == 2),
            Err(_) => Report::failed(
                &state,
                "terraform could not show the refresh-only plan".into(),
            ),
        },
        code => Report::failed(
            &state,
            format!("terraform's refresh-only plan failed (exit {code})"),
        ),
    };
    let _ = std::fs::remove_file(&plan);
    if args.json {
        ctx.printer.json(&report)?;
    } else {
        ctx.printer.lines(report.lines())?;
    }
    Ok(match report.status {
        "in_sync" => 0,
        "drifted" => 2,
        _ => 1,
    })
}
