//! `tfw fleet ...`: the template's repositories across a GitLab group, read (and, with
//! `sync`, updated) through GitLab's API, without a checkout.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Which projects of a group are enrolled, behind, edited by hand, or awaiting a merge request
    #[command(
        after_help = "Examples:\n  tfw fleet status --group platform/infra\n  tfw fleet status --group 1234 --template ../template@v3 --json\n\nReads through GitLab's API only (no clone): the token needs the `read_api` scope and the Reporter\nrole in each project. Subgroups are included, archived projects skipped.\nExit 0 up to date (or not enrolled), 2 an update is available, 3 drift or conflict markers,\n1 a project could not be read (its row says why); the worst project decides."
    )]
    Status(FleetStatusArgs),
}

#[derive(Debug, Args)]
pub struct FleetStatusArgs {
    /// The GitLab group: its full path (`parent/child`) or numeric id
    #[arg(long, value_name = "GROUP")]
    pub group: String,
    /// The template the projects should follow, at this ref [default: each lock's own]
    #[arg(long, value_name = "SRC[@REF]")]
    pub template: Option<String>,
    /// Read at most N projects at a time
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 8)]
    pub jobs: usize,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}
