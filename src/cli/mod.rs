//! The command line, as clap sees it. No logic lives here: `settings` resolves these raw
//! values together with the environment, `.env` and `tfw.toml`. The top level (global flags,
//! the list of commands) is here; each group of commands has its arguments in a file.

mod fleet;
pub(crate) mod prompt;
mod run;
mod setup;
mod state;
mod template;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) use fleet::{FleetCommand, FleetStatusArgs, FleetSyncArgs, Shard};
pub(crate) use run::{
    ApplyArgs, CleanArgs, DestroyArgs, DriftArgs, ExecArgs, FmtArgs, GraphArgs, GraphFormat,
    PlanArgs,
};
pub(crate) use setup::{CompletionsArgs, DoctorArgs, EnvArgs, SetupArgs};
pub(crate) use state::{
    CiCommand, CiPipelineArgs, CompleteStatesArgs, LocksArgs, PromptArgs, RootsArgs, StateCommand,
    UseArgs,
};
pub(crate) use template::{AdoptArgs, NewArgs, SyncArgs};

const EXAMPLES: &str = "\
Examples:
  tfw setup                      write your .env (first run)
  tfw doctor                     check .env, tfw.toml, the binary and GitLab
  tfw plan                       plan against your own state (dev-<you>)
  tfw apply                      apply the plan you just reviewed
  tfw use staging                switch state (tfw use - goes back)
  tfw apply -- -target=aws_s3_bucket.x
  tfw --state prod plan          one command against another state";

#[derive(Debug, Parser)]
#[command(
    name = "tfw",
    version,
    about = "Terraform/OpenTofu against GitLab-managed state, safely",
    long_about = "tfw runs Terraform or OpenTofu with the GitLab HTTP backend wired from a validated \
per-developer .env, guards shared states, and keeps template files in sync across repositories.",
    after_help = EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    /// Run as if tfw was started in DIR
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    pub(crate) chdir: Option<PathBuf>,

    /// The per-developer settings file [default: .env in the working directory]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) env_file: Option<PathBuf>,

    /// Use this state for one command (overrides TF_STATE_NAME)
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) state: Option<String>,

    /// Never prompt; a needed confirmation must be given as a flag
    #[arg(long, global = true)]
    pub(crate) non_interactive: bool,

    /// Disable colour (also: NO_COLOR)
    #[arg(long, global = true)]
    pub(crate) no_color: bool,

    /// Say more about what tfw does (secrets stay masked)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Print only errors and terraform's own output
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    #[command(flatten)]
    pub(crate) many: ManyRoots,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Initialise the working directory against the current state (-reconfigure, never migrates)
    #[command(after_help = "Example:\n  tfw init -- -upgrade")]
    Init(PassThrough),
    /// Plan and save the plan for the current state
    #[command(
        after_help = "Examples:\n  tfw plan\n  tfw plan --json plan.json\n  tfw plan -- -detailed-exitcode -var-file=dev.tfvars"
    )]
    Plan(PlanArgs),
    /// Apply the saved plan of the current state (or plan, confirm, and apply)
    #[command(
        after_help = "Examples:\n  tfw apply\n  tfw apply --auto-approve      (CI, or when you reviewed the plan)\n  tfw apply -- -target=module.db\n  tfw --all apply               every root's saved plan, after one question"
    )]
    Apply(ApplyArgs),
    /// Destroy everything in the current state, after a confirmation naming it
    #[command(
        after_help = "Examples:\n  tfw destroy\n  tfw --state staging destroy --allow-protected"
    )]
    Destroy(DestroyArgs),
    /// Check the configuration (initialises without a backend when needed)
    #[command(after_help = "Example:\n  tfw validate")]
    Validate(PassThrough),
    /// Format the configuration (--check for CI)
    #[command(after_help = "Examples:\n  tfw fmt\n  tfw fmt --check")]
    Fmt(FmtArgs),
    /// Write the resource graph as SVG (no Graphviz needed) or DOT
    #[command(
        after_help = "Examples:\n  tfw graph                 writes graph.svg\n  tfw graph --format dot -o -"
    )]
    Graph(GraphArgs),
    /// Remove terraform's local working files (never .env, the lock file or backups)
    #[command(after_help = "Examples:\n  tfw clean --dry-run\n  tfw clean")]
    Clean(CleanArgs),
    /// Check everything tfw needs and report every problem at once
    #[command(after_help = "Examples:\n  tfw doctor\n  tfw doctor --offline --json")]
    Doctor(DoctorArgs),
    /// Show the resolved configuration and where each value came from (secrets masked)
    #[command(after_help = "Examples:\n  tfw env\n  tfw env --json")]
    Env(EnvArgs),
    /// Run any terraform command with the backend environment set
    #[command(after_help = "Examples:\n  tfw exec -- state list\n  tfw exec -- output -json")]
    Exec(ExecArgs),
    /// List states, or switch to one (`tfw use -` goes back), like kubectx
    #[command(
        after_help = "Examples:\n  tfw use                   list (a picker on a terminal)\n  tfw use staging\n  tfw use -"
    )]
    Use(UseArgs),
    /// Inspect and manage the project's states on GitLab
    #[command(
        subcommand,
        after_help = "Examples:\n  tfw state list\n  tfw state show staging\n  tfw state unlock"
    )]
    State(StateCommand),
    /// Create a new repository from the template
    #[command(
        after_help = "Examples:\n  tfw new infra-networking\n  tfw new infra-dns --template ../tfw-template@v2"
    )]
    New(NewArgs),
    /// Convert a repository made from the old Makefile template
    #[command(after_help = "Examples:\n  tfw adopt --dry-run\n  tfw adopt --remove-legacy")]
    Adopt(AdoptArgs),
    /// Bring template-managed files up to the template's version
    #[command(
        after_help = "Examples:\n  tfw sync --dry-run\n  tfw sync --check --json\n  tfw sync --check --repos ../repos/*"
    )]
    Sync(SyncArgs),
    /// Write .env interactively (or print the lines to write, without a terminal)
    #[command(
        after_help = "Examples:\n  tfw setup\n  tfw setup --force                  replace .env (the old one is kept in .tfw/)\n  printf '%s\\n' \"$TOKEN\" | tfw setup --token-stdin \\\n      --url https://gitlab.example.com --project group/infra --username alice\n\nWith --state NAME, .env gets TF_STATE_NAME=NAME; without it, you work on your personal state."
    )]
    Setup(SetupArgs),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  tfw completions bash > ~/.local/share/bash-completion/completions/tfw\n  tfw completions zsh > ~/.zfunc/_tfw\n  tfw completions fish > ~/.config/fish/completions/tfw.fish\n\nState names (tfw use, --state, tfw state show...) are completed from GitLab."
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff)
    #[command(
        after_help = "Examples:\n  tfw man | man -l -\n  tfw man > ~/.local/share/man/man1/tfw.1"
    )]
    Man,
    /// Print state names for shell completion
    #[command(hide = true)]
    CompleteStates(CompleteStatesArgs),
    /// Has the infrastructure drifted from the state? (refresh-only plan, read-only, no lock)
    #[command(
        after_help = "Examples:\n  tfw drift\n  tfw --state prod drift --json\n  tfw drift --all --issues        every root, each with the states in its tfw.toml `drift` list\n\nExit 0 in sync, 2 drifted, 1 failed. With --all: 0 in sync, 2 some state drifted, 3 nothing\ndrifted but some state could not be checked (or its issue kept), 1 an error.\nNeeds only read access (Developer): the state is not locked. --issues needs the `api` scope."
    )]
    Drift(DriftArgs),
    /// List every locked state of the project (or of a group) and which locks are stale
    #[command(
        after_help = "Examples:\n  tfw locks\n  tfw locks --group platform --json\n\nStale: locked longer than `stale_lock_after` in tfw.toml (2h by default), or its CI pipeline has finished.\nExit 0 nothing stale, 2 a stale lock exists, 3 some project could not be listed, 1 an error."
    )]
    Locks(LocksArgs),
    /// The template across a GitLab group: who is enrolled, behind, edited by hand
    #[command(
        subcommand,
        after_help = "Examples:\n  tfw fleet status --group platform\n  tfw fleet status --group platform --json"
    )]
    Fleet(FleetCommand),
    /// List the repository's roots with their state, protection and lock
    #[command(
        after_help = "Examples:\n  tfw roots\n  tfw roots --json\n  tfw roots --roots 'envs/*' --offline\n  tfw roots --changed            the roots changed since the default branch, and why\n\nRoots are folders with `backend \"http\"` in their *.tf files (not in modules/ or hidden\nfolders) and the [roots.\"PATH\"] tables of the repository's tfw.toml."
    )]
    Roots(RootsArgs),
    /// For GitLab CI: write the child pipeline of a repository with several roots
    #[command(
        subcommand,
        after_help = "Example:\n  tfw ci pipeline -o tfw-roots.yml"
    )]
    Ci(CiCommand),
    /// Print the current state for a shell prompt (reads only .env and tfw.toml)
    #[command(
        after_help = "Examples:\n  tfw prompt                            dev-alice, or prod! on a protected state\n  tfw prompt --format 'tf:{state}{protected}' --marker ' (protected)'\n\nPrints nothing outside a tfw root (no tfw.toml, no GitLab settings in .env).\nShell lines: docs/states.md."
    )]
    Prompt(PromptArgs),
}

/// Every root of the repository at once (`tfw --all plan`), or those matching `--roots`.
/// Before the command only, so they do not crowd every command's help.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct ManyRoots {
    /// Run in every root of the repository (plan, validate, fmt, apply); see `tfw roots`
    #[arg(long)]
    pub(crate) all: bool,
    /// Only the roots whose path matches GLOB (repeatable; implies --all)
    #[arg(long = "roots", value_name = "GLOB")]
    pub(crate) roots: Vec<String>,
    /// Only the roots whose files or local modules changed since REF (implies --all)
    /// [default: the merge base with the default branch]
    #[arg(long, value_name = "REF", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub(crate) changed: Option<String>,
    /// With --all: run at most N roots at a time [default: the number of cores]
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// With --all: print each line as it comes, prefixed with its root, instead of grouped
    #[arg(long)]
    pub(crate) stream: bool,
    /// With --all: start no new root after one fails
    #[arg(long)]
    pub(crate) fail_fast: bool,
}

/// Arguments after `--` go to terraform unchanged.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct PassThrough {
    /// Extra terraform arguments, after `--`
    #[arg(last = true, value_name = "TERRAFORM_ARGS")]
    pub(crate) args: Vec<String>,
}
