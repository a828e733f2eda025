//! `tfw fleet status`: per project of a group, enrolled or not (a `.tfw/template.lock` on
//! the default branch), at which template version, behind or up to date, which managed files
//! were edited by hand or hold conflict markers, and the open merge request `tfw fleet sync`
//! made, if any. The decision is `tfw sync --check`'s (`template::sync::report_check`) over
//! the files `remote` fetched, against the template `tfw fleet sync` would deliver
//! (`template::fetched::resolve`), so a checkout, the status and the sync never disagree.
//! Projects are visited `jobs` at a time (`template::fleet::each`); a failure is that
//! project's row, never a stop.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::api::{Api, Failure};
use super::projects::ProjectRef;
use super::remote;
use super::{BRANCH_PREFIX, READ_SCOPE};
use crate::exit::ExitCode;
use crate::layout::TEMPLATE_LOCK;
use crate::problem::Problem;
use crate::template::fetched;
use crate::template::files::{Fetched, Files};
use crate::template::lock::TemplateLock;
use crate::template::merge::has_conflict_markers;
use crate::template::report::{FileReport, FileStatus, Info, RepoReport, State};
use crate::template::source::{Resolver, Spec};
use crate::template::sync::report_check;

/// Where a project stands. Not being enrolled is a finding, not a failure (exit 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Standing {
    UpToDate,
    UpdateAvailable,
    Drift,
    NotEnrolled,
    Error,
}

impl Standing {
    pub(crate) const ALL: [Standing; 5] = [
        Standing::UpToDate,
        Standing::UpdateAvailable,
        Standing::Drift,
        Standing::NotEnrolled,
        Standing::Error,
    ];

    /// `tfw sync --check`'s codes: 0 up to date, 2 update available, 3 drift, 1 error.
    pub(crate) fn exit_code(self) -> ExitCode {
        match self {
            Standing::UpToDate | Standing::NotEnrolled => ExitCode::Success,
            Standing::UpdateAvailable => ExitCode::Found,
            Standing::Drift => ExitCode::Unresolved,
            Standing::Error => ExitCode::Failure,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Standing::UpToDate => "up-to-date",
            Standing::UpdateAvailable => "update-available",
            Standing::Drift => "drift",
            Standing::NotEnrolled => "not-enrolled",
            Standing::Error => "error",
        }
    }
}

/// An open merge request from a `tfw/template-*` branch, as GitLab lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MergeRequest {
    pub iid: u64,
    pub title: String,
    pub source_branch: String,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub has_conflicts: bool,
    #[serde(default)]
    pub detailed_merge_status: Option<String>,
    #[serde(default)]
    pub web_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProjectStatus {
    pub project: String,
    pub id: u64,
    pub web_url: Option<String>,
    pub default_branch: Option<String>,
    pub enrolled: bool,
    pub state: Standing,
    pub exit_code: ExitCode,
    /// The version the lock records.
    pub locked: Option<Info>,
    /// The template version compared with.
    pub template: Option<Info>,
    pub files: Vec<FileReport>,
    /// Managed files edited outside `tfw sync` (or missing): drift.
    pub modified: Vec<String>,
    /// Managed files committed with conflict markers in them.
    pub conflict_markers: Vec<String>,
    pub merge_request: Option<MergeRequest>,
    pub warnings: Vec<Problem>,
    pub error: Option<Problem>,
}

impl ProjectStatus {
    fn new(project: &ProjectRef) -> Self {
        Self {
            project: project.path_with_namespace.clone(),
            id: project.id,
            web_url: project.web_url.clone(),
            default_branch: project.default_branch.clone().flatten(),
            enrolled: false,
            state: Standing::NotEnrolled,
            exit_code: ExitCode::Success,
            locked: None,
            template: None,
            files: Vec::new(),
            modified: Vec::new(),
            conflict_markers: Vec::new(),
            merge_request: None,
            warnings: Vec::new(),
            error: None,
        }
    }

    fn set(&mut self, state: Standing) {
        self.state = state;
        self.exit_code = state.exit_code();
    }

    fn failed(mut self, problem: Problem) -> Self {
        self.set(Standing::Error);
        self.error = Some(problem);
        self
    }

    /// One short line on what stands out, for the table.
    pub(crate) fn detail(&self) -> String {
        if let Some(problem) = &self.error {
            return problem.message.clone();
        }
        let mut parts = Vec::new();
        if !self.modified.is_empty() {
            parts.push(format!("modified: {}", self.modified.join(", ")));
        }
        if !self.conflict_markers.is_empty() {
            parts.push(format!(
                "conflict markers: {}",
                self.conflict_markers.join(", ")
            ));
        }
        if self.state == Standing::UpdateAvailable
            && let Some(template) = &self.template
        {
            parts.push(format!(
                "behind {}",
                crate::template::label(&template.version, &template.commit)
            ));
        }
        parts.join("; ")
    }
}

/// Every project's status, `jobs` at a time, in the order given.
pub(crate) fn run(
    api: &Api,
    projects: &[ProjectRef],
    template: Option<&Spec>,
    resolver: &Resolver,
    jobs: usize,
    progress: bool,
) -> Vec<ProjectStatus> {
    crate::template::fleet::each(
        projects,
        jobs,
        progress.then(|| crate::template::fleet::bar(projects.len())),
        |p| p.path_with_namespace.clone(),
        |p| one(api, p, template, resolver),
        |p| ProjectStatus::new(p).failed(Problem::error("tfw crashed on this project")),
    )
}

fn one(api: &Api, project: &ProjectRef, over: Option<&Spec>, resolver: &Resolver) -> ProjectStatus {
    let mut status = ProjectStatus::new(project);
    let branch = match &project.default_branch {
        Some(Some(branch)) => branch.clone(),
        // An empty repository: nothing to enroll yet.
        Some(None) => return status,
        None => {
            return status.failed(
                Problem::error("cannot read the repository: GitLab shows this token no default branch, as to a Guest, who may not read code")
                    .hint("give the token's user the Reporter role or above in the project, or leave it out"),
            );
        }
    };
    let bytes = match remote::read_lock(api, project.id, &branch) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return with_merge_request(api, status),
        Err(failure) => {
            return status.failed(failure.problem(&format!("read `{TEMPLATE_LOCK}`"), READ_SCOPE));
        }
    };
    status.enrolled = true;
    let lock = TemplateLock::parse(&bytes);
    // Resolved once: what to fetch depends on it, and so does the check.
    let resolved = lock
        .as_ref()
        .ok()
        .map(|lock| fetched::resolve(lock, over, resolver));
    let paths: BTreeSet<String> = match (&lock, &resolved) {
        (Ok(lock), Some(Ok((_, template)))) => {
            fetched::paths_to_read(lock, template).into_iter().collect()
        }
        (Ok(lock), _) => lock.files.keys().cloned().collect(),
        (Err(_), _) => BTreeSet::new(),
    };
    let files = match remote::fetch(api, project.id, &branch, &paths) {
        Ok(files) => files,
        Err(failure) => {
            return status.failed(failure.problem("read the managed files", READ_SCOPE));
        }
    };
    let shown = format!("{}@{branch}", status.project);
    let tree = Files::Fetched {
        shown: &shown,
        files: &files,
    };
    let report = report_check(&tree, &status.project, lock, |_| {
        resolved.expect("resolved for every readable lock")
    });
    apply(&mut status, report, &files);
    with_merge_request(api, status)
}

/// The check's findings, in the fleet's terms.
fn apply(status: &mut ProjectStatus, report: RepoReport, files: &BTreeMap<String, Fetched>) {
    status.locked = report.locked;
    status.template = report.template;
    status.warnings = report.warnings;
    status.conflict_markers = files
        .iter()
        .filter(|(_, file)| !file.symlink && has_conflict_markers(&file.bytes))
        .map(|(path, _)| path.clone())
        .collect();
    status.modified = report
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Drift && !status.conflict_markers.contains(&f.path))
        .map(|f| f.path.clone())
        .collect();
    status.files = report.files;
    if let Some(problem) = report.error {
        status.set(Standing::Error);
        status.error = Some(problem);
        return;
    }
    status.set(match report.state {
        State::UpToDate | State::Updated => Standing::UpToDate,
        State::UpdateAvailable => Standing::UpdateAvailable,
        State::Drift | State::Conflicts => Standing::Drift,
        State::Error => Standing::Error,
    });
}

/// Adds the newest open merge request from a `tfw/template-*` branch.
fn with_merge_request(api: &Api, mut status: ProjectStatus) -> ProjectStatus {
    match open_merge_request(api, status.id) {
        Ok(found) => status.merge_request = found,
        Err(failure) => {
            let problem = failure.problem("list the open merge requests", READ_SCOPE);
            return status.failed(problem);
        }
    }
    status
}

fn open_merge_request(api: &Api, project: u64) -> Result<Option<MergeRequest>, Failure> {
    let url = api.url(&format!(
        "/projects/{project}/merge_requests?state=opened&per_page=100"
    ));
    let all: Vec<MergeRequest> = api.get_all(&url)?;
    Ok(all
        .into_iter()
        .filter(|mr| mr.source_branch.starts_with(BRANCH_PREFIX))
        .max_by_key(|mr| mr.iid))
}
