//! `tfw adopt`: convert a repository made from the old Makefile template.

use anyhow::Result;

use crate::cli::AdoptArgs;
use crate::context::Context;
use crate::problem::Problem;

pub fn run(_ctx: &Context, _args: &AdoptArgs) -> Result<i32> {
    Err(Problem::error("`tfw adopt` is not implemented yet").into())
}
