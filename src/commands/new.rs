//! `tfw new DIR`: a new repository from the template.

use anyhow::Result;

use crate::cli::NewArgs;
use crate::printer::Printer;
use crate::problem::Problem;

pub fn run(_args: &NewArgs, _printer: &Printer) -> Result<i32> {
    Err(Problem::error("`tfw new` is not implemented yet").into())
}
