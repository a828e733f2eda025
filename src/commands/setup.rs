//! `tfw setup`: write `.env` interactively.

use anyhow::Result;

use crate::cli::SetupArgs;
use crate::context::Context;
use crate::problem::Problem;

pub fn run(_ctx: &Context, _args: &SetupArgs) -> Result<i32> {
    Err(Problem::error("`tfw setup` is not implemented yet").into())
}
