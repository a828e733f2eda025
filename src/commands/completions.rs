//! `tfw completions SHELL` and `tfw man`: generated from the clap definition, so they never
//! drift from the real flags.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

pub fn completions(args: &CompletionsArgs) -> Result<i32> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "tfw", &mut std::io::stdout());
    Ok(0)
}

pub fn man() -> Result<i32> {
    let command = Cli::command();
    clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
    Ok(0)
}
