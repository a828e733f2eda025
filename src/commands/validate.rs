//! `tfw validate`: checks the configuration. It needs no credentials: without a usable
//! backend it initialises with `-backend=false`, as a CI validate job would.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::PassThrough;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::runner::Output;
use crate::session::Local;

pub(super) fn run(ctx: &Context, args: &PassThrough) -> Result<ExitCode> {
    let local = Local::open(ctx)?;
    if let Some(code) = local.init_if_needed(false)? {
        return Ok(code);
    }
    let mut tf: Vec<OsString> = vec!["validate".into()];
    tf.extend(ctx.color_args());
    tf.extend(args.args.iter().map(OsString::from));
    Ok(local.terraform(tf, Output::Tee)?.exit_code())
}
