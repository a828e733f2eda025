//! `tfw drift --issues`: one GitLab issue per drifted state, so a scheduled check tells
//! people where they already look, without a new issue every night. An issue is found again
//! by its label (`tfw-drift`) and a marker naming the state in its description (titles get
//! edited by people, markers do not), and is opened when the state drifts, updated while the
//! drift changes, reopened when a closed one drifts again, and closed when the state is back
//! in sync. A rerun with the same drift writes nothing. A failed check leaves the issue as it
//! is: tfw knows nothing new about that state.

use crate::backend::Backend;
use crate::backend::gitlab::{ApiError, Client, Issue};
use crate::context::Context;
use crate::problem::Problem;
use crate::states::drift::{IssueAction, IssueOutcome, Report, Status};

pub(crate) const LABEL: &str = "tfw-drift";

/// Reports longer than this many lines are cut in the issue (GitLab takes 1 MB).
const MAX_LINES: usize = 400;

/// The marker the issue of `state` carries in its description.
fn marker(state: &str) -> String {
    // `-->` cannot end the comment early: a state name has no `>` once encoded.
    format!(
        "<!-- tfw-drift state={} -->",
        crate::backend::encode_segment(state)
    )
}

fn title(state: &str) -> String {
    let name: String = state.chars().take(200).collect();
    format!("Drift: state `{name}` differs from the real infrastructure")
}

/// The issue's text: the report as `tfw drift` prints it (sensitive values already hidden,
/// known secrets masked), how to look again, and the marker. Nothing in it changes from one
/// run to the next unless the drift does, so a rerun is a no-op.
pub(crate) fn description(ctx: &Context, backend: &Backend, report: &Report) -> String {
    let state = &report.state;
    let mut lines = report.lines();
    if lines.len() > MAX_LINES {
        let more = lines.len() - MAX_LINES;
        lines.truncate(MAX_LINES);
        lines.push(format!(
            "... and {more} more lines: run `tfw drift` to see them"
        ));
    }
    let text = format!(
        "tfw found that the real infrastructure of state `{state}` (project `{project}`) has moved away from what the state records:\n\n````text\n{report}\n````\n\nSee it again with `tfw --state {state} drift`. Apply the configuration to undo the change, or change the configuration to keep it. tfw closes this issue when the state is back in sync.\n\n{marker}\n",
        project = backend.project,
        report = lines.join("\n"),
        marker = marker(state),
    );
    ctx.printer.mask(&text).into_owned()
}

/// Brings the state's issue in line with `report`.
pub(crate) fn keep(
    ctx: &Context,
    backend: &Backend,
    report: &Report,
) -> Result<IssueOutcome, Problem> {
    let state = &report.state;
    let what = format!("cannot keep the drift issue of `{state}`");
    let fail = |err: ApiError| {
        match err {
        ApiError::JobToken { .. } => Problem::error(format!(
            "{what}: GitLab's issues API does not accept CI's job token"
        ))
        .hint("set `TF_HTTP_PASSWORD` (a masked CI/CD variable) to a project access token with the `api` scope and the Developer role: tfw then uses it for the state and the issues"),
        // GitLab's scope error is about any write; this one is about issues.
        ApiError::Status { code: 403, body } if body.contains("insufficient_scope") => {
            Problem::error(format!(
                "{what}: the token lacks the `api` scope GitLab needs to write issues (403 insufficient_scope; a `read_api` token may only read)"
            ))
            .hint("put a token with the `api` scope in `TF_HTTP_PASSWORD`: a project access token with the Developer role is enough for drift and its issues")
        }
        err => err.problem(&what, backend),
    }
    };
    let outcome = |action: IssueAction, issue: Option<&Issue>| IssueOutcome {
        action,
        iid: issue.map(|i| i.iid),
        web_url: issue.and_then(|i| i.web_url.clone()),
        error: None,
    };
    let drifted = match report.status {
        Status::Drifted => true,
        Status::InSync => false,
        Status::Failed => return Ok(outcome(IssueAction::None, None)),
    };
    let client = Client::new(backend);
    let marker = marker(state);
    let issues: Vec<Issue> = client
        .issues_labelled(LABEL)
        .map_err(fail)?
        .into_iter()
        .filter(|i| {
            i.description
                .as_deref()
                .is_some_and(|d| d.contains(&marker))
        })
        .collect();
    let open = issues.iter().find(|i| i.state == "opened");
    // The newest closed one: its history is the latest.
    let closed = issues.iter().rev().find(|i| i.state == "closed");
    if !drifted {
        return match open {
            Some(issue) => {
                let closed = client
                    .update_issue(issue.iid, None, Some("close"))
                    .map_err(fail)?;
                Ok(outcome(IssueAction::Closed, Some(&closed)))
            }
            None => Ok(outcome(IssueAction::None, None)),
        };
    }
    let text = description(ctx, backend, report);
    let (action, issue) = match (open, closed) {
        (Some(issue), _) if issue.description.as_deref() == Some(text.as_str()) => {
            (IssueAction::Unchanged, issue.clone())
        }
        (Some(issue), _) => (
            IssueAction::Updated,
            client
                .update_issue(issue.iid, Some(&text), None)
                .map_err(fail)?,
        ),
        (None, Some(issue)) => (
            IssueAction::Reopened,
            client
                .update_issue(issue.iid, Some(&text), Some("reopen"))
                .map_err(fail)?,
        ),
        (None, None) => (
            IssueAction::Opened,
            client
                .create_issue(&title(state), &text, &[LABEL])
                .map_err(fail)?,
        ),
    };
    Ok(outcome(action, Some(&issue)))
}

/// One line for people: what happened to the issue.
pub(crate) fn describe(state: &str, outcome: &IssueOutcome) -> Option<String> {
    let issue = match (outcome.iid, &outcome.web_url) {
        (Some(iid), Some(url)) => format!("issue #{iid} ({url})"),
        (Some(iid), None) => format!("issue #{iid}"),
        _ => "issue".into(),
    };
    let text = match outcome.action {
        IssueAction::Opened => format!("opened drift {issue} for `{state}`"),
        IssueAction::Reopened => {
            format!("reopened drift {issue} for `{state}`: it has drifted again")
        }
        IssueAction::Updated => format!("updated drift {issue} for `{state}`: the drift changed"),
        IssueAction::Unchanged => format!("drift {issue} for `{state}` already says this"),
        IssueAction::Closed => format!("closed drift {issue}: `{state}` is back in sync"),
        IssueAction::None | IssueAction::Failed => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_cannot_be_closed_by_a_state_name() {
        assert_eq!(marker("prod"), "<!-- tfw-drift state=prod -->");
        assert_eq!(marker("a-->b c"), "<!-- tfw-drift state=a--%3Eb%20c -->");
    }
}
