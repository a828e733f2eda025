//! `tfw use`: list and switch states, like kubectx.

use anyhow::Result;

use crate::cli::UseArgs;
use crate::context::Context;
use crate::problem::Problem;

pub fn run(_ctx: &Context, _args: &UseArgs) -> Result<i32> {
    Err(Problem::error("`tfw use` is not implemented yet").into())
}

pub fn complete_states(_ctx: &Context) -> Result<i32> {
    Ok(0)
}
