//! `tfw state ...`: inspect and manage the project's states on GitLab.

use anyhow::Result;

use crate::cli::StateCommand;
use crate::context::Context;
use crate::problem::Problem;

pub fn run(_ctx: &Context, _command: &StateCommand) -> Result<i32> {
    Err(Problem::error("`tfw state` is not implemented yet").into())
}
