//! `tfw exec -- ARGS`: any terraform command with the backend environment set (the escape
//! hatch: `tfw exec -- state list`, `tfw exec -- console`). Output goes straight to the
//! terminal so interactive commands work.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::ExecArgs;
use crate::context::Context;
use crate::runner::Output;

pub fn run(ctx: &Context, args: &ExecArgs) -> Result<i32> {
    let backend = ctx.backend()?;
    let engine = ctx.engine()?;
    // `exec -- state push`, `import`, `apply`...: as much a change as `tfw apply`.
    ctx.lock_workdir()?;
    let first = args.args.first().map(String::as_str);
    if !matches!(
        first,
        Some("init" | "version" | "fmt" | "-version" | "--version")
    ) {
        ctx.ensure_init(&engine, Some(&backend))?;
    }
    let tf: Vec<OsString> = args.args.iter().map(OsString::from).collect();
    // A person at a terminal gets terraform itself (prompts, `console`); a log gets the
    // output through tfw: secrets masked, and no colour where tfw shows none (not every
    // terraform subcommand takes `-no-color`).
    let output = if ctx.printer.interactive() {
        Output::Inherit
    } else {
        Output::Tee
    };
    Ok(ctx
        .terraform(&engine, Some(&backend), tf, output)?
        .exit_code())
}
