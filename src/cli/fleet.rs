//! `tfw fleet ...`: the template's repositories across a GitLab group, read (and, with
//! `sync`, updated) through GitLab's API, without a checkout.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum FleetCommand {
    /// Which projects of a group are enrolled, behind, edited by hand, or awaiting a merge request
    #[command(
        after_help = "Examples:\n  tfw fleet status --group platform/infra\n  tfw fleet status --group 1234 --template ../template@v3 --json\n\nReads through GitLab's API only (no clone): the token needs the `read_api` scope and the Reporter\nrole in each project. Subgroups are included, archived projects skipped.\nExit 0 up to date (or not enrolled), 2 an update is available, 3 drift or conflict markers,\n1 a project could not be read (its row says why); the worst project decides."
    )]
    Status(FleetStatusArgs),
    /// Open or update one merge request per project that needs the template's new version
    #[command(
        after_help = "Examples:\n  tfw fleet sync --group platform --template https://git.example.com/tpl.git@v2 --dry-run\n  tfw fleet sync --group platform --limit 3\n  tfw fleet sync --group 1234 --shard \"$CI_NODE_INDEX/$CI_NODE_TOTAL\"\n\nNo clone: files are read and committed through GitLab's API (the token needs the `api` scope\nand the Developer role). A project behind gets the branch `tfw/template-<version>`, one commit\nfrom its default branch, and a merge request naming each file's outcome; conflicts make it a\ndraft. A rerun updates that branch and merge request. Exit 0 delivered (or nothing to do),\n3 a merge request is a draft with conflicts, 1 a project failed (its row says why), 130 after\nCtrl-C (the projects under way finish first)."
    )]
    Sync(FleetSyncArgs),
}

#[derive(Debug, Args)]
pub(crate) struct FleetSyncArgs {
    /// The GitLab group: its full path (`parent/child`) or numeric id
    #[arg(long, value_name = "GROUP")]
    pub(crate) group: String,
    /// The template version to deliver, e.g. its URL and tag; projects made from another template are skipped [default: each lock's own]
    #[arg(long, value_name = "SRC[@REF]")]
    pub(crate) template: Option<String>,
    /// Show what each project would get (and the diff on stdout); write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Only projects whose path matches this glob (repeatable; `*` stays within one level)
    #[arg(long, value_name = "GLOB")]
    pub(crate) only: Vec<String>,
    /// Leave out projects whose path matches this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,
    /// Open or update at most N merge requests in this run (a staged roll-out)
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// This job's share of the projects, for N parallel CI jobs: "$CI_NODE_INDEX/$CI_NODE_TOTAL"
    #[arg(long, value_name = "INDEX/TOTAL")]
    pub(crate) shard: Option<Shard>,
    /// Handle at most N projects at a time
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 4)]
    pub(crate) jobs: usize,
    /// A symlink at a managed path is replaced by the file, not refused
    #[arg(long)]
    pub(crate) replace_symlinks: bool,
}

#[derive(Debug, Args)]
pub(crate) struct FleetStatusArgs {
    /// The GitLab group: its full path (`parent/child`) or numeric id
    #[arg(long, value_name = "GROUP")]
    pub(crate) group: String,
    /// The template the projects should follow, at this ref [default: each lock's own]
    #[arg(long, value_name = "SRC[@REF]")]
    pub(crate) template: Option<String>,
    /// Read at most N projects at a time
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 8)]
    pub(crate) jobs: usize,
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--shard INDEX/TOTAL`, 1-based like GitLab's `CI_NODE_INDEX`/`CI_NODE_TOTAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub(crate) index: u64,
    pub(crate) total: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "`{text}` is not INDEX/TOTAL with 1 <= INDEX <= TOTAL (in GitLab CI: \"$CI_NODE_INDEX/$CI_NODE_TOTAL\")"
            )
        };
        let (index, total) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let total: u64 = total.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > total {
            return Err(bad());
        }
        Ok(Shard { index, total })
    }
}
