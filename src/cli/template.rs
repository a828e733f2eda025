//! The arguments of the template commands: `tfw new`, `tfw adopt`, `tfw sync`.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Directory to create
    pub(crate) dir: PathBuf,
    /// Template source: a directory or a git URL, with an optional @REF
    #[arg(long, value_name = "SRC[@REF]")]
    pub(crate) template: Option<String>,
    /// One folder per environment: envs/NAME for each (comma-separated), sharing modules/
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub(crate) roots: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AdoptArgs {
    /// Show what would change, change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Also remove the Makefile template's files (only those tfw recognises, unchanged)
    #[arg(long)]
    pub(crate) remove_legacy: bool,
    /// With --remove-legacy: also remove the template's files that were edited (diff shown)
    #[arg(long, requires = "remove_legacy")]
    pub(crate) force: bool,
    /// Template source: a directory or a git URL, with an optional @REF
    #[arg(long, value_name = "SRC[@REF]")]
    pub(crate) template: Option<String>,
    /// Run even with uncommitted changes to the files it would change
    #[arg(long)]
    pub(crate) allow_dirty: bool,
    /// Replace a symbolic link at a template-owned path (the link, never its target)
    #[arg(long)]
    pub(crate) replace_symlinks: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Template source: a directory or a git URL, with an optional @REF
    #[arg(long, value_name = "SRC[@REF]")]
    pub(crate) template: Option<String>,
    /// Print the diff it would apply, change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Exit 0 up to date, 2 update available, 3 drift or conflict, 1 error
    #[arg(long)]
    pub(crate) check: bool,
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
    /// Run even with uncommitted changes to managed files
    #[arg(long)]
    pub(crate) allow_dirty: bool,
    /// Replace a symbolic link at a template-owned path (the link, never its target)
    #[arg(long)]
    pub(crate) replace_symlinks: bool,
    /// Check or sync many repositories (directories, or files listing them)
    #[arg(long, num_args = 1.., value_name = "DIR_OR_LIST")]
    pub(crate) repos: Vec<PathBuf>,
}
