//! The arguments of the commands that set up and explain a working directory: `tfw setup`,
//! `tfw doctor`, `tfw env`, `tfw completions`.

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// GitLab URL, e.g. https://gitlab.example.com
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// Project id or full path (group/sub/project)
    #[arg(long)]
    pub(crate) project: Option<String>,
    /// Your GitLab username
    #[arg(long)]
    pub(crate) username: Option<String>,
    /// Read the token from standard input (never from the command line)
    #[arg(long)]
    pub(crate) token_stdin: bool,
    /// Replace an existing .env
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Skip the checks that contact GitLab
    #[arg(long)]
    pub(crate) offline: bool,
    /// Machine-readable report
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to write the script for
    pub(crate) shell: clap_complete::Shell,
}
