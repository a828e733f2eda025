//! The arguments of the commands that run terraform in a root: plan, apply, destroy,
//! fmt, graph, exec, clean and drift.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::PassThrough;

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
    /// Set by `tfw --all apply` for each root: the SHA-256 of the plan file that was listed
    /// and confirmed; any other file is refused
    #[arg(long, hide = true, value_name = "SHA256")]
    pub reviewed_plan: Option<String>,
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
pub struct ExecArgs {
    /// Allow a command that changes a protected state (apply, import, state rm...)
    #[arg(long)]
    pub allow_protected: bool,
    /// The terraform command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "TERRAFORM_ARGS")]
    pub args: Vec<String>,
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
pub struct DriftArgs {
    /// Machine-readable report on stdout (terraform's output is not shown)
    #[arg(long)]
    pub json: bool,
    /// Every root of the repository, each with the states of its tfw.toml `drift` list (default: its own state)
    #[arg(long)]
    pub all: bool,
    /// Keep one GitLab issue per drifted state (label `tfw-drift`): opened, updated, closed when back in sync
    #[arg(long)]
    pub issues: bool,
    /// The states of this root's tfw.toml `drift` list, one after the other (what --all runs in each root)
    #[arg(long, hide = true)]
    pub listed: bool,
    /// Also write the report as JSON to FILE (for --all, which reads each root's)
    #[arg(long, hide = true, value_name = "FILE")]
    pub report_file: Option<PathBuf>,
}
