//! `tfw fleet sync` for one project, in two steps so that a dry run, `--limit` and Ctrl-C
//! are simple: `plan` only reads (the default branch's tree, the lock, the managed files,
//! the open merge request) and decides; `deliver` makes the one commit on
//! `tfw/template-<version>` (from the default branch, `force`d, so a rerun replaces it) and
//! opens or updates the merge request. A branch this run created is deleted again when its
//! merge request cannot be opened, so no branch is left without one (or the message names it).
//!
//! Every failure is this project's row; the others go on.

use std::collections::BTreeSet;

use serde::Serialize;

use super::api::Api;
use super::projects::ProjectRef;
use super::request::{self, Text};
use super::writes::{self, OpenMr, problem};
use super::{READ_SCOPE, remote};
use crate::exit::ExitCode;
use crate::fsutil::sha256_hex;
use crate::layout::TEMPLATE_LOCK;
use crate::problem::{Kind, Problem};
use crate::template::fetched::{self, Change};
use crate::template::lock::TemplateLock;
use crate::template::report::FileReport;
use crate::template::source::{Resolver, Spec};

/// How a project's sync ended (`--json` and the table's STATE column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Outcome {
    /// At the template's version: nothing to deliver.
    UpToDate,
    /// The open merge request already holds exactly this update.
    Unchanged,
    Opened,
    Updated,
    /// Dry run: a merge request would be opened, or updated.
    WouldOpen,
    WouldUpdate,
    /// Not enrolled, empty, or following another template: nothing to do here.
    Skipped,
    /// Needs an update, left for a later run (`--limit`, or Ctrl-C before it started).
    HeldBack,
    Error,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::UpToDate => "up-to-date",
            Outcome::Unchanged => "unchanged",
            Outcome::Opened => "opened",
            Outcome::Updated => "updated",
            Outcome::WouldOpen => "would-open",
            Outcome::WouldUpdate => "would-update",
            Outcome::Skipped => "skipped",
            Outcome::HeldBack => "held-back",
            Outcome::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub project: String,
    pub outcome: Outcome,
    /// The merge request is a draft: conflicts to resolve.
    pub conflicts: usize,
    pub files_changed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_request: Option<String>,
    pub detail: String,
    /// What to do about an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub files: Vec<FileReport>,
    #[serde(skip)]
    pub diff: String,
}

impl Row {
    pub(crate) fn new(project: &str, outcome: Outcome, detail: impl Into<String>) -> Row {
        Row {
            project: project.to_string(),
            outcome,
            conflicts: 0,
            files_changed: 0,
            branch: None,
            merge_request: None,
            detail: detail.into(),
            hint: None,
            files: Vec::new(),
            diff: String::new(),
        }
    }

    pub(crate) fn failed(project: &str, problem: &Problem) -> Row {
        Row {
            hint: problem.hint.clone(),
            ..Row::new(project, Outcome::Error, problem.message.clone())
        }
    }

    /// 1 error, 3 conflicts (a draft merge request), else 0; combined with `report::worst`.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match (self.outcome, self.conflicts) {
            (Outcome::Error, _) => ExitCode::Failure,
            (Outcome::Skipped | Outcome::UpToDate | Outcome::HeldBack, _) => ExitCode::Success,
            (_, 0) => ExitCode::Success,
            _ => ExitCode::Unresolved,
        }
    }
}

/// What `plan` decided for a project that needs an update.
#[derive(Clone)]
pub(crate) struct Delivery {
    pub id: u64,
    pub project: String,
    pub default_branch: String,
    pub branch: String,
    pub changes: Vec<Change>,
    pub text: Text,
    /// What the branch will hold (`request::marker`).
    pub fingerprint: String,
    pub existing: Option<OpenMr>,
    pub row: Row,
}

pub(crate) enum Planned {
    Done(Row),
    Deliver(Box<Delivery>),
}

/// Reads the project and decides (nothing is written).
pub(crate) fn plan(
    api: &Api,
    project: &ProjectRef,
    over: Option<&Spec>,
    resolver: &Resolver,
    replace_symlinks: bool,
) -> Planned {
    let path = &project.path_with_namespace;
    plan_inner(api, project, over, resolver, replace_symlinks)
        .unwrap_or_else(|problem| Planned::Done(Row::failed(path, &problem)))
}

fn plan_inner(
    api: &Api,
    project: &ProjectRef,
    over: Option<&Spec>,
    resolver: &Resolver,
    replace_symlinks: bool,
) -> Result<Planned, Problem> {
    let (id, path) = (project.id, project.path_with_namespace.as_str());
    let skipped = |why: &str| Ok(Planned::Done(Row::new(path, Outcome::Skipped, why)));
    let default = match &project.default_branch {
        Some(Some(branch)) => branch.clone(),
        Some(None) => return skipped("empty repository"),
        None => {
            return Err(Problem::error("cannot read the repository: GitLab shows this token no default branch, as to a Guest, who may not read code")
                .hint("give the token's user the Developer role in the project, or leave it out (`--exclude`)"));
        }
    };
    let read =
        |what: String| move |failure: super::api::Failure| failure.problem(&what, READ_SCOPE);
    let Some(bytes) =
        remote::read_lock(api, id, &default).map_err(read(format!("read `{TEMPLATE_LOCK}`")))?
    else {
        return skipped(&format!("not enrolled: no `{TEMPLATE_LOCK}`"));
    };
    let lock = TemplateLock::parse(&bytes).map_err(|err| err.problem().clone())?;
    let (wanted, template) = match fetched::resolve(&lock, over, resolver) {
        Ok(resolved) => resolved,
        Err(problem) if problem.is(Kind::FollowsAnotherTemplate) => {
            return skipped(&problem.message);
        }
        Err(problem) => return Err(problem),
    };
    let mut paths: BTreeSet<String> = fetched::paths_to_read(&lock, &template)
        .into_iter()
        .collect();
    paths.insert(TEMPLATE_LOCK.to_string());
    let files =
        remote::fetch(api, id, &default, &paths).map_err(read("read the managed files".into()))?;
    let head = writes::branch_head(api, id, &default)
        .map_err(read(format!("read the branch `{default}`")))?
        .unwrap_or_default();
    let shown = format!("{path}@{default}");
    let planned = fetched::plan(&shown, &files, &lock, wanted, &template, replace_symlinks)?;
    let mut row = Row::new(path, Outcome::UpToDate, "");
    row.files_changed = planned.report.files_changed;
    row.conflicts = planned.report.conflicts;
    row.files = planned.report.files.clone();
    if planned.is_noop() {
        row.detail = format!("at {}", template.label());
        return Ok(Planned::Done(row));
    }
    row.diff = crate::template::ops::diff(&planned.plan.ops);
    let changes = fetched::changes(&planned, &files);
    let branch = request::branch_name(&template.version, &template.commit);
    let fingerprint = fingerprint(&head, &changes);
    let old = crate::template::label(&lock.template.version, &lock.template.commit);
    let text = request::text(&old, &template.label(), &row.files, &branch, &default);
    let existing = writes::open_mr(api, id, &branch, &default)
        .map_err(read("list the open merge requests".into()))?;
    row.branch = Some(branch.clone());
    if let Some(mr) = &existing {
        row.merge_request = mr.web_url.clone();
        let marked = mr.description.as_deref().and_then(request::marker_of);
        // Commits on the branch that tfw did not make (a resolution, a fix): never reset.
        if let Some((_, Some(made))) = marked {
            let now = writes::branch_head(api, id, &branch)
                .map_err(read(format!("read the branch `{branch}`")))?;
            if now.as_deref().is_some_and(|now| now != made) {
                row.outcome = Outcome::Skipped;
                row.detail = format!(
                    "`{branch}` has commits tfw did not make (!{}): left alone; merge or close it, then rerun",
                    mr.iid
                );
                return Ok(Planned::Done(row));
            }
        }
        if marked.map(|(fp, _)| fp) == Some(fingerprint.as_str()) {
            row.outcome = Outcome::Unchanged;
            row.detail = format!(
                "merge request !{} already holds {}",
                mr.iid,
                template.label()
            );
            return Ok(Planned::Done(row));
        }
    }
    Ok(Planned::Deliver(Box::new(Delivery {
        id,
        project: path.to_string(),
        default_branch: default,
        branch,
        changes,
        text,
        fingerprint,
        existing,
        row,
    })))
}

/// The default branch's commit and the changes: what the merge request's branch holds.
fn fingerprint(head: &str, changes: &[Change]) -> String {
    let mut input = head.as_bytes().to_vec();
    for change in changes {
        let meta = format!(
            "\0{}\0{:?}\0{:?}\0",
            change.path, change.action, change.executable
        );
        input.extend_from_slice(meta.as_bytes());
        input.extend_from_slice(change.content.as_deref().unwrap_or("").as_bytes());
    }
    sha256_hex(&input)[..16].to_string()
}

/// What a dry run reports for a project that needs an update.
pub(crate) fn preview(delivery: Delivery) -> Row {
    let mut row = delivery.row;
    let conflicts = match row.conflicts {
        0 => String::new(),
        n => format!(", a draft: {n} conflict(s)"),
    };
    (row.outcome, row.detail) = match &delivery.existing {
        Some(mr) => (
            Outcome::WouldUpdate,
            format!(
                "would update !{} from {}{conflicts}",
                mr.iid, delivery.branch
            ),
        ),
        None => (
            Outcome::WouldOpen,
            format!(
                "would open a merge request from {}{conflicts}",
                delivery.branch
            ),
        ),
    };
    row
}

/// A project left for a later run (`--limit`, or stopped before it started).
pub(crate) fn held_back(delivery: Delivery, why: &str) -> Row {
    let mut row = delivery.row;
    row.outcome = Outcome::HeldBack;
    row.detail = why.to_string();
    row
}

/// Makes the commit and opens or updates the merge request. Once the commit is made the
/// merge request is always attempted (an interrupt waits for it); when it cannot be opened,
/// a branch this run created is deleted again.
pub(crate) fn deliver(api: &Api, delivery: Delivery) -> Row {
    let Delivery {
        id,
        project,
        default_branch,
        branch,
        changes,
        mut text,
        fingerprint,
        existing,
        mut row,
    } = delivery;
    let failed = |problem: Problem| {
        let mut row = Row::failed(&project, &problem);
        row.branch = Some(branch.clone());
        row
    };
    let existed = match writes::branch_head(api, id, &branch) {
        Ok(head) => head.is_some(),
        Err(failure) => {
            return failed(failure.problem(&format!("read the branch `{branch}`"), READ_SCOPE));
        }
    };
    let pushed = writes::commit(
        api,
        id,
        &branch,
        &default_branch,
        &text.commit_message,
        &changes,
    );
    let made = match pushed {
        Ok(made) => made,
        Err(failure) => return failed(problem(&failure, &format!("commit to `{branch}`"))),
    };
    text.description
        .push_str(&request::marker(&fingerprint, &made));
    let result = match &existing {
        Some(mr) => writes::update_mr(api, id, mr.iid, &text).map(|mr| (mr, Outcome::Updated)),
        None => match writes::create_mr(api, id, &branch, &default_branch, &text) {
            Ok(mr) => Ok((mr, Outcome::Opened)),
            // Opened meanwhile (another run, another shard's retry): update that one.
            Err(super::api::Failure::Status { code: 409, .. }) => {
                match writes::open_mr(api, id, &branch, &default_branch) {
                    Ok(Some(mr)) => writes::update_mr(api, id, mr.iid, &text).map(|mr| (mr, Outcome::Updated)),
                    Ok(None) => Err(super::api::Failure::Garbled("GitLab answered 409 (a merge request is open for this branch) but lists none".into())),
                    Err(failure) => Err(failure),
                }
            }
            Err(failure) => Err(failure),
        },
    };
    match result {
        Ok((mr, outcome)) => {
            row.outcome = outcome;
            row.detail = match row.conflicts {
                0 => format!("!{} from {branch}", mr.iid),
                n => format!(
                    "!{} from {branch}, a draft: {n} conflict(s) to resolve",
                    mr.iid
                ),
            };
            row.merge_request = mr.web_url;
            row.branch = Some(branch);
            row
        }
        Err(failure) => {
            let mut row = failed(problem(&failure, "open the merge request"));
            let kept = match (existed, writes::delete_branch(api, id, &branch)) {
                (true, _) => format!("the branch `{branch}` keeps the new commit"),
                (false, Ok(())) => format!("the branch `{branch}` was deleted again"),
                (false, Err(_)) => format!(
                    "delete the branch `{branch}` of {project} by hand: it has no merge request"
                ),
            };
            row.detail = format!("{}; {kept}", row.detail);
            row
        }
    }
}
