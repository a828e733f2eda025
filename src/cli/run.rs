//! The arguments of the commands that run terraform in a root: plan, apply, destroy,
//! fmt, graph, exec, clean and drift.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::PassThrough;

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// Write GitLab's plan report {"create":N,"update":N,"delete":N} to FILE
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Plan without taking the state lock (read-only GitLab role)
    #[arg(long)]
    pub(crate) no_lock: bool,
    #[command(flatten)]
    pub(crate) pass: PassThrough,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// Apply without asking (required without a terminal)
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// In CI: plan again instead of applying the saved plan artifact
    #[arg(long)]
    pub(crate) replan: bool,
    /// Allow a plan that destroys or replaces resources in a protected state (prod, staging...)
    #[arg(long)]
    pub(crate) allow_protected: bool,
    /// Create the state even though its name is close to an existing one (without a terminal)
    #[arg(long)]
    pub(crate) new_state: bool,
    /// Set by `tfw --all apply` for each root: the SHA-256 of the plan file that was listed
    /// and confirmed; any other file is refused
    #[arg(long, hide = true, value_name = "SHA256")]
    pub(crate) reviewed_plan: Option<String>,
    /// Set by `tfw --all apply` before its question: print terraform's verdict (`show -json`)
    /// of the saved plan file with this SHA-256 as JSON on stdout, and apply nothing
    #[arg(long, hide = true, value_name = "SHA256", conflicts_with_all = ["reviewed_plan", "auto_approve"])]
    pub(crate) verdict: Option<String>,
    #[command(flatten)]
    pub(crate) pass: PassThrough,
}

#[derive(Debug, Args)]
pub(crate) struct DestroyArgs {
    /// Destroy without asking (required without a terminal)
    #[arg(long)]
    pub(crate) auto_approve: bool,
    /// Allow destroying a protected state (prod, staging...)
    #[arg(long)]
    pub(crate) allow_protected: bool,
    #[command(flatten)]
    pub(crate) pass: PassThrough,
}

#[derive(Debug, Args)]
pub(crate) struct FmtArgs {
    /// Only check formatting and show the diff (exit 3 when files need formatting)
    #[arg(long)]
    pub(crate) check: bool,
    #[command(flatten)]
    pub(crate) pass: PassThrough,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum GraphFormat {
    Svg,
    Dot,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Svg)]
    pub(crate) format: GraphFormat,
    /// Output file (`-` for stdout) [default: graph.svg or graph.dot]
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) pass: PassThrough,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// Allow a command that changes a protected state (apply, import, state rm...)
    #[arg(long)]
    pub(crate) allow_protected: bool,
    /// The terraform command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "TERRAFORM_ARGS")]
    pub(crate) args: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    /// List what would be removed, remove nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Make plans, backups and secrets the owner's alone (0600, folders 0700); remove nothing
    #[arg(long)]
    pub(crate) fix_modes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DriftArgs {
    /// Machine-readable report on stdout (terraform's output is not shown)
    #[arg(long)]
    pub(crate) json: bool,
    /// Every root of the repository, each with the states of its tfw.toml `drift` list (default: its own state)
    #[arg(long)]
    pub(crate) all: bool,
    /// Keep one GitLab issue per drifted state (label `tfw-drift`): opened, updated, closed when back in sync
    #[arg(long)]
    pub(crate) issues: bool,
    /// The states of this root's tfw.toml `drift` list, one after the other (what --all runs in each root)
    #[arg(long, hide = true)]
    pub(crate) listed: bool,
    /// Also write the report as JSON to FILE (for --all, which reads each root's)
    #[arg(long, hide = true, value_name = "FILE")]
    pub(crate) report_file: Option<PathBuf>,
}
