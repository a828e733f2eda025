//! `tfw fmt`: formats the configuration; `--check` is the CI form (`-check -diff`, exit 3
//! when a file needs formatting, as terraform says). Needs no `.env`.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::FmtArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::runner::Output;

pub(super) fn run(ctx: &Context, args: &FmtArgs) -> Result<ExitCode> {
    let engine = ctx.engine()?;
    let mut tf: Vec<OsString> = vec!["fmt".into()];
    if args.check {
        tf.push("-check".into());
        tf.push("-diff".into());
    }
    tf.extend(ctx.color_args());
    tf.extend(args.pass.args.iter().map(OsString::from));
    let outcome = ctx.terraform(&engine, None, tf, Output::Tee)?;
    if args.check && outcome.code == 3 {
        ctx.printer.hint("run `tfw fmt` to format these files");
    }
    Ok(outcome.exit_code())
}
