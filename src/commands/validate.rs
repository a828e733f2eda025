//! `tfw validate`: checks the configuration. It needs no credentials: without a usable
//! backend it initialises with `-backend=false`, as a CI validate job would.

use std::ffi::OsString;

use anyhow::Result;

use crate::cli::PassThrough;
use crate::context::Context;
use crate::runner::Output;

pub fn run(ctx: &Context, args: &PassThrough) -> Result<i32> {
    let engine = ctx.engine()?;
    let (backend, _) = ctx.settings.backend();
    match &backend {
        Some(backend) => ctx.ensure_init(&engine, Some(backend))?,
        None if !ctx.dir().join(".terraform").is_dir() => {
            let outcome = ctx.init(&engine, None, Vec::new())?;
            if !outcome.success() {
                return Ok(outcome.exit_code());
            }
        }
        None => {}
    }
    let mut tf: Vec<OsString> = vec!["validate".into()];
    tf.extend(ctx.color_args());
    tf.extend(args.args.iter().map(OsString::from));
    Ok(ctx
        .terraform(&engine, backend.as_ref(), tf, Output::Tee)?
        .exit_code())
}
