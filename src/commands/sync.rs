//! `tfw sync`: bring template-managed files up to the template's version.

use anyhow::Result;

use crate::cli::SyncArgs;
use crate::context::Context;
use crate::printer::Printer;
use crate::problem::Problem;

pub fn run(_ctx: &Context, _args: &SyncArgs) -> Result<i32> {
    Err(Problem::error("`tfw sync` is not implemented yet").into())
}

pub fn run_fleet(_args: &SyncArgs, _printer: &Printer) -> Result<i32> {
    Err(Problem::error("`tfw sync --repos` is not implemented yet").into())
}
