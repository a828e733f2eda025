//! The arguments of the commands about states: `tfw use`, `tfw state ...`, `tfw locks`,
//! `tfw roots`, `tfw ci pipeline` and `tfw prompt`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub(crate) struct CompleteStatesArgs {
    /// Refresh the cache of state names and print nothing (run in the background)
    #[arg(long, hide = true)]
    pub(crate) refresh: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UseArgs {
    /// State to switch to; `-` for the previous one
    #[arg(value_name = "NAME", allow_hyphen_values = true)]
    pub(crate) name: Option<String>,
    /// List as JSON (no switching)
    #[arg(long)]
    pub(crate) json: bool,
    /// Switch to a state GitLab does not have yet (the first apply creates it)
    #[arg(long)]
    pub(crate) new: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// List the project's states
    #[command(
        after_help = "Examples:\n  tfw state list\n  tfw state list --json | jq -r '.[].name'"
    )]
    List {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Show a state's serial, lineage, resources, outputs (sensitive masked) and lock
    #[command(
        after_help = "Examples:\n  tfw state show             the current state\n  tfw state show prod --json"
    )]
    Show {
        /// The state [default: the current one]
        name: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// List the stored versions of a state, newest first (probed from the latest serial down)
    #[command(
        after_help = "Examples:\n  tfw state versions\n  tfw state versions staging --limit 30 --json"
    )]
    Versions {
        /// The state [default: the current one]
        name: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// Show at most N versions (tfw probes at most N + 20 serials)
        #[arg(long, value_name = "N", default_value_t = 10)]
        limit: usize,
    },
    /// What changed between two versions of a state (default: the two latest)
    #[command(
        after_help = "Examples:\n  tfw state diff                        the current state: previous -> latest\n  tfw state diff staging 41             version 41 -> latest\n  tfw state diff staging 40 41 --json\n  tfw state diff .tfw/backups/prod/0000000012-20240501T100000Z.tfstate\n  tfw state diff plan                   latest -> what the saved plan leaves\n\nA and B: a serial, `latest`, `plan` (the saved plan), or a state file (a backup).\nSensitive values and attributes named like secrets are never shown."
    )]
    Diff {
        /// The state [default: the current one]; left out when the first word is a version
        name: Option<String>,
        /// The older side [default: the version before B]
        a: Option<String>,
        /// The newer side [default: latest]
        b: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// The versions of a state with their resources and what changed in each
    #[command(
        after_help = "Examples:\n  tfw state history\n  tfw state history prod --limit 30 --json\n\nExit 3 when a version could not be read (each such row says why)."
    )]
    History {
        /// The state [default: the current one]
        name: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// Show at most N versions
        #[arg(long, value_name = "N", default_value_t = 10)]
        limit: usize,
    },
    /// Download a state (or one version of it)
    #[command(
        after_help = "Examples:\n  tfw state pull > state.json\n  tfw state pull staging --serial 41 -o staging-41.tfstate"
    )]
    Pull {
        /// The state [default: the current one]
        name: Option<String>,
        /// A specific version
        #[arg(long)]
        serial: Option<u64>,
        /// Write to FILE instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Release a state's lock (someone else's only with --force)
    #[command(
        after_help = "Examples:\n  tfw state unlock                  your own lock on the current state\n  tfw state unlock staging --force  someone else's (asks you to type `staging`)"
    )]
    Unlock {
        /// The state [default: the current one]
        name: Option<String>,
        /// Release a lock held by someone else (asks you to type the state name)
        #[arg(long)]
        force: bool,
        /// With --force and no terminal: confirm by repeating the state name
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
    },
    /// Delete a state (personal states only, unless --allow-protected); a backup is kept
    #[command(
        after_help = "Examples:\n  tfw state delete dev-alice-old\n  tfw state delete dev-bob --yes"
    )]
    Delete {
        /// The state to delete
        name: String,
        /// Allow deleting a protected state (prod, staging...)
        #[arg(long)]
        allow_protected: bool,
        /// Do not ask (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// List (or delete) personal states not updated for a while
    #[command(
        after_help = "Examples:\n  tfw state prune                     list personal states untouched for 30 days\n  tfw state prune --older-than 90d --delete"
    )]
    Prune {
        /// Age, e.g. 30d, 12h
        #[arg(long, default_value = "30d")]
        older_than: String,
        /// Really delete them (dry-run by default)
        #[arg(long)]
        delete: bool,
        /// Do not ask (required with --delete without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Push a backup back as the newest version of its state
    #[command(
        after_help = "Example:\n  tfw state restore .tfw/backups/staging/0000000041-20240101T120000Z.tfstate"
    )]
    Restore {
        /// A backup file (from .tfw/backups/) or any state file
        file: PathBuf,
        /// Confirm without a terminal by repeating the state name
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct LocksArgs {
    /// Every project of this group (full path; subgroups included) instead of this project
    #[arg(long, value_name = "GROUP")]
    pub(crate) group: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RootsArgs {
    /// Only the roots whose path matches GLOB (repeatable)
    #[arg(long = "roots", value_name = "GLOB")]
    pub(crate) roots: Vec<String>,
    /// Only the roots changed since REF, each with why [default: the merge base with the
    /// default branch]
    #[arg(long, value_name = "REF", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub(crate) changed: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
    /// Do not ask GitLab who holds each state's lock
    #[arg(long)]
    pub(crate) offline: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CiCommand {
    /// A plan job and a manual apply job per root, as a child pipeline (docs/ci.md)
    #[command(
        after_help = "Examples:\n  tfw ci pipeline -o tfw-roots.yml     the roots this merge request or push changes\n  tfw ci pipeline --all\n  tfw ci pipeline --changed=main --roots 'envs/*'\n\nWithout --all or --changed: since CI_MERGE_REQUEST_DIFF_BASE_SHA in a merge request\npipeline, else since CI_COMMIT_BEFORE_SHA, else every root."
    )]
    Pipeline(CiPipelineArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CiPipelineArgs {
    /// Every root, whatever changed
    #[arg(long, conflicts_with = "changed")]
    pub(crate) all: bool,
    /// The roots changed since REF [default: the merge base with the default branch]
    #[arg(long, value_name = "REF", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub(crate) changed: Option<String>,
    /// Only the roots whose path matches GLOB (repeatable)
    #[arg(long = "roots", value_name = "GLOB")]
    pub(crate) roots: Vec<String>,
    /// Write the pipeline to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct PromptArgs {
    /// What to print: `{state}`, and `{protected}` (the marker on a protected state, else nothing)
    #[arg(long, default_value = super::prompt::DEFAULT_FORMAT, value_parser = super::prompt::parse_format)]
    pub(crate) format: String,
    /// What `{protected}` prints on a protected state
    #[arg(long, default_value = super::prompt::DEFAULT_MARKER)]
    pub(crate) marker: String,
}
