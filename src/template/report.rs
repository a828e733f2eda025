//! What `sync` and `sync --check` found in one repository, for people (the single command's
//! lines, the fleet's table) and for machines (`--json`, documented in docs/templates.md).

use serde::Serialize;

use super::lock::Locked;
use super::policy::Policy;
use crate::exit::ExitCode;
use crate::problem::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum State {
    UpToDate,
    UpdateAvailable,
    Updated,
    Drift,
    Conflicts,
    Error,
}

impl State {
    /// 0 up to date (or updated), 2 update available, 3 drift or conflicts, 1 error.
    pub(crate) fn exit_code(self) -> ExitCode {
        match self {
            State::UpToDate | State::Updated => ExitCode::Success,
            State::UpdateAvailable => ExitCode::Found,
            State::Drift | State::Conflicts => ExitCode::Unresolved,
            State::Error => ExitCode::Failure,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::UpToDate => "up-to-date",
            State::UpdateAvailable => "update-available",
            State::Updated => "updated",
            State::Drift => "drift",
            State::Conflicts => "conflicts",
            State::Error => "error",
        }
    }
}

/// The worst of several exit codes: an error beats drift, drift beats an update, all beat 0.
pub(crate) fn worst(codes: impl IntoIterator<Item = ExitCode>) -> ExitCode {
    let rank = |code: ExitCode| match code {
        ExitCode::Success => 0,
        ExitCode::Found => 1,
        ExitCode::Unresolved => 2,
        ExitCode::Failure | ExitCode::Usage | ExitCode::Interrupted | ExitCode::Passed(_) => 3,
    };
    codes
        .into_iter()
        .max_by_key(|code| rank(*code))
        .unwrap_or(ExitCode::Success)
}

/// One file's finding: for `--check` what a sync would find, for a sync what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FileStatus {
    /// `--check`: nothing to do.
    UpToDate,
    /// `--check`: the template changed it (or moved, dropped, re-policied it).
    Update,
    /// `--check`: what the template owns was edited, is missing, or holds markers.
    Drift,
    /// Opted out in the lock.
    Skipped,
    Created,
    Updated,
    Merged,
    /// Conflict markers written, or still there from an earlier sync.
    Conflict,
    /// Local edits kept as they are.
    Kept,
    /// Missing, written again.
    Restored,
    Renamed,
    Removed,
    /// A `once` or skipped file the template dropped: left in place, no longer managed.
    Released,
    /// Existed and was recorded as it is.
    Recorded,
    Unchanged,
}

impl FileStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FileStatus::UpToDate => "up-to-date",
            FileStatus::Update => "update",
            FileStatus::Drift => "drift",
            FileStatus::Skipped => "skipped",
            FileStatus::Created => "created",
            FileStatus::Updated => "updated",
            FileStatus::Merged => "merged",
            FileStatus::Conflict => "conflict",
            FileStatus::Kept => "kept",
            FileStatus::Restored => "restored",
            FileStatus::Renamed => "renamed",
            FileStatus::Removed => "removed",
            FileStatus::Released => "released",
            FileStatus::Recorded => "recorded",
            FileStatus::Unchanged => "unchanged",
        }
    }

    /// Needs a person: the repository is not as the template wants it.
    pub(crate) fn needs_attention(self) -> bool {
        match self {
            FileStatus::Drift | FileStatus::Conflict => true,
            FileStatus::UpToDate
            | FileStatus::Update
            | FileStatus::Skipped
            | FileStatus::Created
            | FileStatus::Updated
            | FileStatus::Merged
            | FileStatus::Kept
            | FileStatus::Restored
            | FileStatus::Renamed
            | FileStatus::Removed
            | FileStatus::Released
            | FileStatus::Recorded
            | FileStatus::Unchanged => false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileReport {
    pub path: String,
    pub policy: Option<Policy>,
    pub status: FileStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl FileReport {
    pub(crate) fn new(
        path: &str,
        policy: Option<Policy>,
        status: FileStatus,
        detail: Option<String>,
    ) -> Self {
        Self {
            path: path.to_string(),
            policy,
            status,
            detail,
        }
    }

    /// `  status     path  (detail)`, the line a person reads.
    pub(crate) fn line(&self) -> String {
        let detail = self
            .detail
            .as_deref()
            .map(|d| format!("  ({d})"))
            .unwrap_or_default();
        format!("  {:<10} {}{detail}", self.status.as_str(), self.path)
    }

    /// Worth a line in the human output (nothing happened to the others).
    pub(crate) fn notable(&self) -> bool {
        !matches!(
            self.status,
            FileStatus::UpToDate | FileStatus::Unchanged | FileStatus::Skipped
        )
    }
}

/// A template version: the one synced to (`template`) or the one recorded (`locked`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Info {
    pub source: String,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub commit: String,
    pub version: String,
}

impl From<&Locked> for Info {
    fn from(locked: &Locked) -> Self {
        Self {
            source: locked.source.clone(),
            reference: locked.reference.clone(),
            commit: locked.commit.clone(),
            version: locked.version.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RepoReport {
    pub repo: String,
    pub state: State,
    pub exit_code: ExitCode,
    pub template: Option<Info>,
    pub locked: Option<Info>,
    pub files: Vec<FileReport>,
    /// Files written, moved or removed (or that would be, with `--dry-run`/`--check`).
    pub files_changed: usize,
    pub conflicts: usize,
    pub warnings: Vec<Problem>,
    pub error: Option<Problem>,
    /// The unified diff of `--dry-run`.
    #[serde(skip)]
    pub diff: String,
}

impl RepoReport {
    pub(crate) fn new(repo: &str) -> Self {
        Self {
            repo: repo.to_string(),
            state: State::UpToDate,
            exit_code: ExitCode::Success,
            template: None,
            locked: None,
            files: Vec::new(),
            files_changed: 0,
            conflicts: 0,
            warnings: Vec::new(),
            error: None,
            diff: String::new(),
        }
    }

    pub(crate) fn set_state(&mut self, state: State) {
        self.state = state;
        self.exit_code = state.exit_code();
    }

    /// A preview (`--dry-run`) that worked: the state says what a sync would do, and the
    /// exit code is success.
    pub(crate) fn set_preview(&mut self, state: State) {
        self.state = state;
        self.exit_code = ExitCode::Success;
    }

    pub(crate) fn failed(repo: &str, problem: Problem) -> Self {
        let mut report = Self::new(repo);
        report.set_state(State::Error);
        report.error = Some(problem);
        report
    }

    /// One short line on what stands out: the error, or the first file needing attention.
    pub(crate) fn detail(&self) -> String {
        if let Some(problem) = &self.error {
            return problem.to_string();
        }
        let files: Vec<&str> = self
            .files
            .iter()
            .filter(|f| f.status.needs_attention())
            .map(|f| f.path.as_str())
            .collect();
        files.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_ranks_error_above_drift_above_update() {
        use ExitCode::{Failure, Found, Success, Unresolved};
        assert_eq!(worst([Success, Found, Success]), Found);
        assert_eq!(worst([Found, Unresolved, Success]), Unresolved);
        assert_eq!(worst([Unresolved, Failure, Found]), Failure);
        assert_eq!(worst([]), Success);
    }
}
