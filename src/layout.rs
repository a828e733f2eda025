//! The `.tfw/` folder of a root, laid out in one place: every file and folder tfw keeps
//! there is named here and nowhere else. The template lock is the one file meant for git;
//! the rest is this checkout's own (the shipped `.gitignore` ignores it): saved plans,
//! backups, the run lock, what `init` was made for.

use std::path::{Path, PathBuf};

/// The folder, in a root.
pub(crate) const DIR: &str = ".tfw";

/// The template lock, relative to the repository (committed: which template, which files).
pub(crate) const TEMPLATE_LOCK: &str = ".tfw/template.lock";

/// In the name of an atomic write's temporary file (`fsutil::write_atomic`), which a kill
/// can leave behind: `tfw clean` removes what has it.
pub(crate) const TEMP_MARK: &str = ".tfw-tmp-";

pub(crate) fn dir(root: &Path) -> PathBuf {
    root.join(DIR)
}

/// Saved plans and their metadata, a pair per state (`plans`).
pub(crate) fn plans(root: &Path) -> PathBuf {
    dir(root).join("plans")
}

/// `tfw drift`'s refresh-only plans, a file per state.
pub(crate) fn drift_plans(root: &Path) -> PathBuf {
    dir(root).join("drift")
}

/// The remote state before every apply and destroy, a folder per state (`backups`).
pub(crate) fn backups(root: &Path) -> PathBuf {
    dir(root).join("backups")
}

/// The `.env` files `tfw setup --force` replaced (they hold tokens).
pub(crate) fn env_backups(root: &Path) -> PathBuf {
    dir(root).join("env-backups")
}

/// What the working directory was initialised for (`session::init`).
pub(crate) fn init_record(root: &Path) -> PathBuf {
    dir(root).join("init.json")
}

/// The run lock: one tfw at a time in this directory (`session::runlock`).
pub(crate) fn run_lock(root: &Path) -> PathBuf {
    dir(root).join("run.lock")
}

/// The state `tfw use -` goes back to.
pub(crate) fn previous_state(root: &Path) -> PathBuf {
    dir(root).join("previous-state")
}

/// The state names `tfw complete-states` listed last, for shell completion.
pub(crate) fn completion_cache(root: &Path) -> PathBuf {
    dir(root).join("complete-states.json")
}
