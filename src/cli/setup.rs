//! The arguments of the commands that set up and explain a working directory: `tfw setup`,
//! `tfw doctor`, `tfw env`, `tfw completions`.

use clap::Args;

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// GitLab URL, e.g. https://gitlab.example.com
    #[arg(long)]
    pub url: Option<String>,
    /// Project id or full path (group/sub/project)
    #[arg(long)]
    pub project: Option<String>,
    /// Your GitLab username
    #[arg(long)]
    pub username: Option<String>,
    /// Read the token from standard input (never from the command line)
    #[arg(long)]
    pub token_stdin: bool,
    /// Replace an existing .env
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Skip the checks that contact GitLab
    #[arg(long)]
    pub offline: bool,
    /// Machine-readable report
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for
    pub shell: clap_complete::Shell,
}
