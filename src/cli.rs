//! The command line, as clap sees it. No logic lives here: `settings.rs` resolves these raw
//! values together with the environment, `.env` and `tfw.toml`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    pub chdir: Option<PathBuf>,

    /// The per-developer settings file [default: .env in the working directory]
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// Use this state for one command (overrides TF_STATE_NAME)
    #[arg(long, global = true, value_name = "NAME")]
    pub state: Option<String>,

    /// Never prompt; a needed confirmation must be given as a flag
    #[arg(long, global = true)]
    pub non_interactive: bool,

    /// Disable colour (also: NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Say more about what tfw does (secrets stay masked)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only errors and terraform's own output
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(flatten)]
    pub many: ManyRoots,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
        after_help = "Examples:\n  tfw apply\n  tfw apply --auto-approve      (CI, or when you reviewed the plan)\n  tfw apply -- -target=module.db"
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
    CompleteStates,
    /// Has the infrastructure drifted from the state? (refresh-only plan, read-only, no lock)
    #[command(
        after_help = "Examples:\n  tfw drift\n  tfw --state prod drift --json\n\nExit 0 in sync, 2 drifted, 1 failed. Needs only read access (Developer): the state is not locked."
    )]
    Drift(DriftArgs),
    /// List every locked state of the project (or of a group) and which locks are stale
    #[command(
        after_help = "Examples:\n  tfw locks\n  tfw locks --group platform --json\n\nStale: locked longer than `stale_lock_after` in tfw.toml (2h by default), or its CI pipeline has finished.\nExit 0 nothing stale, 2 a stale lock exists, 3 some project could not be listed, 1 an error."
    )]
    Locks(LocksArgs),
    /// List the repository's roots with their state, protection and lock
    #[command(
        after_help = "Examples:\n  tfw roots\n  tfw roots --json\n  tfw roots --roots 'envs/*' --offline\n\nRoots are folders with `backend \"http\"` in their *.tf files (not in modules/ or hidden\nfolders) and the [roots.\"PATH\"] tables of the repository's tfw.toml."
    )]
    Roots(RootsArgs),
    /// Print the current state for a shell prompt (reads only .env and tfw.toml)
    #[command(
        after_help = "Examples:\n  tfw prompt                            dev-alice, or prod! on a protected state\n  tfw prompt --format 'tf:{state}{protected}' --marker ' (protected)'\n\nPrints nothing outside a tfw root (no tfw.toml, no GitLab settings in .env).\nShell lines: docs/states.md."
    )]
    Prompt(PromptArgs),
}

/// Every root of the repository at once (`tfw --all plan`), or those matching `--roots`.
/// Before the command only, so they do not crowd every command's help.
#[derive(Debug, Args, Default, Clone)]
pub struct ManyRoots {
    /// Run in every root of the repository (plan, validate, fmt); see `tfw roots`
    #[arg(long)]
    pub all: bool,
    /// Only the roots whose path matches GLOB (repeatable; implies --all)
    #[arg(long = "roots", value_name = "GLOB")]
    pub roots: Vec<String>,
    /// With --all: run at most N roots at a time [default: the number of cores]
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// With --all: print each line as it comes, prefixed with its root, instead of grouped
    #[arg(long)]
    pub stream: bool,
    /// With --all: start no new root after one fails
    #[arg(long)]
    pub fail_fast: bool,
}

/// Arguments after `--` go to terraform unchanged.
#[derive(Debug, Args, Default, Clone)]
pub struct PassThrough {
    /// Extra terraform arguments, after `--`
    #[arg(last = true, value_name = "TERRAFORM_ARGS")]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Write GitLab's plan report {"create":N,"update":N,"delete":N} to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Plan without taking the state lock (read-only GitLab role)
    #[arg(long)]
    pub no_lock: bool,
    #[command(flatten)]
    pub pass: PassThrough,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking (required without a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    /// In CI: plan again instead of applying the saved plan artifact
    #[arg(long)]
    pub replan: bool,
    /// Allow a plan that destroys or replaces resources in a protected state (prod, staging...)
    #[arg(long)]
    pub allow_protected: bool,
    /// Create the state even though its name is close to an existing one (without a terminal)
    #[arg(long)]
    pub new_state: bool,
    #[command(flatten)]
    pub pass: PassThrough,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Destroy without asking (required without a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow destroying a protected state (prod, staging...)
    #[arg(long)]
    pub allow_protected: bool,
    #[command(flatten)]
    pub pass: PassThrough,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Only check formatting and show the diff (exit 3 when files need formatting)
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub pass: PassThrough,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Svg,
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Svg)]
    pub format: GraphFormat,
    /// Output file (`-` for stdout) [default: graph.svg or graph.dot]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub pass: PassThrough,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// List what would be removed, remove nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Make plans, backups and secrets the owner's alone (0600, folders 0700); remove nothing
    #[arg(long)]
    pub fix_modes: bool,
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
pub struct RootsArgs {
    /// Only the roots whose path matches GLOB (repeatable)
    #[arg(long = "roots", value_name = "GLOB")]
    pub roots: Vec<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
    /// Do not ask GitLab who holds each state's lock
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Allow a command that changes a protected state (apply, import, state rm...)
    #[arg(long)]
    pub allow_protected: bool,
    /// The terraform command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "TERRAFORM_ARGS")]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UseArgs {
    /// State to switch to; `-` for the previous one
    #[arg(value_name = "NAME", allow_hyphen_values = true)]
    pub name: Option<String>,
    /// List as JSON (no switching)
    #[arg(long)]
    pub json: bool,
    /// Switch to a state GitLab does not have yet (the first apply creates it)
    #[arg(long)]
    pub new: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
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
pub struct DriftArgs {
    /// Machine-readable report on stdout (terraform's output is not shown)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LocksArgs {
    /// Every project of this group (full path; subgroups included) instead of this project
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct PromptArgs {
    /// What to print: `{state}`, and `{protected}` (the marker on a protected state, else nothing)
    #[arg(long, default_value = crate::states::prompt::DEFAULT_FORMAT, value_parser = crate::states::prompt::parse_format)]
    pub format: String,
    /// What `{protected}` prints on a protected state
    #[arg(long, default_value = crate::states::prompt::DEFAULT_MARKER)]
    pub marker: String,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Directory to create
    pub dir: PathBuf,
    /// Template source: a directory or a git URL, with an optional @REF
    #[arg(long, value_name = "SRC[@REF]")]
    pub template: Option<String>,
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// Show what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove the Makefile template's files (only those tfw recognises, unchanged)
    #[arg(long)]
    pub remove_legacy: bool,
    /// With --remove-legacy: also remove the template's files that were edited (diff shown)
    #[arg(long, requires = "remove_legacy")]
    pub force: bool,
    /// Template source: a directory or a git URL, with an optional @REF
    #[arg(long, value_name = "SRC[@REF]")]
    pub template: Option<String>,
    /// Run even with uncommitted changes to the files it would change
    #[arg(long)]
    pub allow_dirty: bool,
    /// Replace a symbolic link at a template-owned path (the link, never its target)
    #[arg(long)]
    pub replace_symlinks: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Template source: a directory or a git URL, with an optional @REF
    #[arg(long, value_name = "SRC[@REF]")]
    pub template: Option<String>,
    /// Print the diff it would apply, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Exit 0 up to date, 2 update available, 3 drift or conflict, 1 error
    #[arg(long)]
    pub check: bool,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
    /// Run even with uncommitted changes to managed files
    #[arg(long)]
    pub allow_dirty: bool,
    /// Replace a symbolic link at a template-owned path (the link, never its target)
    #[arg(long)]
    pub replace_symlinks: bool,
    /// Check or sync many repositories (directories, or files listing them)
    #[arg(long, num_args = 1.., value_name = "DIR_OR_LIST")]
    pub repos: Vec<PathBuf>,
}

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
pub struct CompletionsArgs {
    /// The shell to write the script for
    pub shell: clap_complete::Shell,
}
