//! The lock radar: every locked state of the project (or of a group), who holds it and since
//! when, the CI job when GitLab knows it, and whether the lock is stale. Stale locks are
//! found today when someone is blocked; a scheduled `tfw locks` finds them first.
//!
//! GitLab records only who locked and when. The job comes from the latest version: GitLab
//! records the CI job of a job-token write, so when the latest version was written by the lock
//! holder at or after the lock time, that job is taken as the lock's. A lock is stale when it
//! is older than `stale_lock_after` (`tfw.toml`, 2 h by default) or when that job's pipeline
//! has finished (a cancelled apply never unlocks).

use std::time::Duration;

use serde::Serialize;

use crate::backend::gitlab::{Job, LockedState, Locks, Pipeline};
use crate::states::listing::{elapsed, parse_time};

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// `project` or `group`, and its path.
    pub scope: &'static str,
    pub path: String,
    /// `stale_lock_after`, in seconds.
    pub stale_after_seconds: u64,
    pub locks: Vec<Row>,
    /// Projects whose states could not be listed: `{ "project": …, "reason": … }`.
    pub problems: Vec<ProblemRow>,
    /// Projects whose states were listed.
    pub projects: usize,
    pub complete: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub project: String,
    pub state: String,
    pub holder: Option<String>,
    pub since: Option<String>,
    pub age_seconds: Option<u64>,
    pub job: Option<JobRow>,
    pub pipeline: Option<PipelineRow>,
    pub stale: bool,
    pub stale_reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct JobRow {
    pub id: Option<u64>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub web_path: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PipelineRow {
    pub id: Option<u64>,
    pub status: Option<String>,
    pub finished_at: Option<String>,
    pub path: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ProblemRow {
    pub project: String,
    pub reason: String,
}

/// CI statuses of a job or pipeline that will not run any more (GraphQL enums).
const FINISHED: &[&str] = &["SUCCESS", "FAILED", "CANCELED", "SKIPPED"];

pub(crate) fn report(scope: &'static str, locks: Locks, stale_after: Duration) -> Report {
    let mut rows: Vec<Row> = locks.locked.iter().map(|l| row(l, stale_after)).collect();
    rows.sort_by(|a, b| (&a.project, &a.state).cmp(&(&b.project, &b.state)));
    Report {
        scope,
        path: locks.path.clone(),
        stale_after_seconds: stale_after.as_secs(),
        complete: locks.gaps.is_empty(),
        problems: locks
            .gaps
            .into_iter()
            .map(|g| ProblemRow {
                project: g.project,
                reason: g.reason,
            })
            .collect(),
        projects: locks.projects,
        locks: rows,
    }
}

fn row(locked: &LockedState, stale_after: Duration) -> Row {
    let state = &locked.state;
    let holder = state.locked_by.as_ref().map(|u| u.username.clone());
    let age = state.locked_at.as_deref().and_then(elapsed);
    let job = lock_job(locked);
    let pipeline = job.and_then(|j| j.pipeline.as_ref());
    let finished = |status: Option<&String>, at: Option<&String>| {
        at.is_some() || status.is_some_and(|s| FINISHED.contains(&s.to_ascii_uppercase().as_str()))
    };
    let pipeline_done =
        pipeline.is_some_and(|p| finished(p.status.as_ref(), p.finished_at.as_ref()));
    let job_done = job.is_some_and(|j| finished(j.status.as_ref(), None));
    let stale_reason = if pipeline_done || (pipeline.is_none() && job_done) {
        let (what, id, status) = match pipeline {
            Some(p) => ("pipeline", p.id.as_deref(), p.status.as_deref()),
            None => (
                "job",
                job.and_then(|j| j.id.as_deref()),
                job.and_then(|j| j.status.as_deref()),
            ),
        };
        let id = id
            .and_then(gid_number)
            .map_or(String::new(), |n| format!(" #{n}"));
        let status = status.map_or(String::new(), |s| format!(" ({})", s.to_ascii_lowercase()));
        Some(format!("its {what}{id} has finished{status}"))
    } else {
        age.filter(|age| *age > stale_after).map(|age| {
            format!(
                "locked for {}, longer than stale_lock_after ({})",
                human(age),
                human(stale_after)
            )
        })
    };
    Row {
        project: locked.project.clone(),
        state: state.name.clone(),
        holder,
        since: state.locked_at.clone(),
        age_seconds: age.map(|a| a.as_secs()),
        job: job.map(job_row),
        pipeline: pipeline.map(pipeline_row),
        stale: stale_reason.is_some(),
        stale_reason,
    }
}

/// The job of the latest version, when the lock holder wrote it at or after the lock time.
fn lock_job(locked: &LockedState) -> Option<&Job> {
    let state = &locked.state;
    let latest = state.latest_version.as_ref()?;
    let job = latest.job.as_ref()?;
    let holder = state.locked_by.as_ref()?;
    if latest.created_by.as_ref()? != holder {
        return None;
    }
    let written = parse_time(latest.created_at.as_deref()?)?;
    let locked_at = parse_time(state.locked_at.as_deref()?)?;
    // GitLab's times have whole seconds in GraphQL: a write in the lock's second counts.
    (written + Duration::from_secs(1) >= locked_at).then_some(job)
}

fn job_row(job: &Job) -> JobRow {
    JobRow {
        id: job.id.as_deref().and_then(gid_number),
        name: job.name.clone(),
        status: job.status.as_ref().map(|s| s.to_ascii_lowercase()),
        web_path: job.web_path.clone(),
    }
}

fn pipeline_row(pipeline: &Pipeline) -> PipelineRow {
    PipelineRow {
        id: pipeline.id.as_deref().and_then(gid_number),
        status: pipeline.status.as_ref().map(|s| s.to_ascii_lowercase()),
        finished_at: pipeline.finished_at.clone(),
        path: pipeline.path.clone(),
    }
}

/// `gid://gitlab/Ci::Build/105` -> 105.
fn gid_number(gid: &str) -> Option<u64> {
    gid.rsplit('/').next()?.parse().ok()
}

/// `2h 5m`, `45m`, `3d 2h`: whole minutes are enough for a lock's age.
pub(crate) fn human(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    match minutes {
        0 => format!("{}s", duration.as_secs()),
        1..60 => format!("{minutes}m"),
        60..1440 if minutes % 60 == 0 => format!("{}h", minutes / 60),
        60..1440 => format!("{}h {}m", minutes / 60, minutes % 60),
        _ if minutes % 1440 / 60 == 0 => format!("{}d", minutes / 1440),
        _ => format!("{}d {}h", minutes / 1440, minutes % 1440 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::gitlab::UserRef;

    fn locked(at: &str, job: Option<(&str, &str)>) -> LockedState {
        let node = serde_json::json!({
            "name": "prod", "lockedAt": at, "lockedByUser": { "username": "ci-bot" },
            "latestVersion": { "serial": 3, "createdAt": at, "createdByUser": { "username": "ci-bot" },
                "job": job.map(|(job_status, pipeline_status)| serde_json::json!({
                    "id": "gid://gitlab/Ci::Build/105", "name": "apply", "status": job_status, "webPath": "/g/p/-/jobs/105",
                    "pipeline": { "id": "gid://gitlab/Ci::Pipeline/106", "status": pipeline_status, "finishedAt": null, "path": "/g/p/-/pipelines/106" } })) }
        });
        LockedState {
            project: "g/p".into(),
            state: serde_json::from_value(node).unwrap(),
        }
    }

    #[test]
    fn stale_by_age_or_by_a_finished_pipeline() {
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let hour = Duration::from_secs(3600);
        let fresh = row(&locked(&now, Some(("RUNNING", "RUNNING"))), hour);
        assert!(!fresh.stale, "{fresh:?}");
        assert_eq!(fresh.job.as_ref().unwrap().id, Some(105));
        let cancelled = row(&locked(&now, Some(("CANCELED", "CANCELED"))), hour);
        assert_eq!(
            cancelled.stale_reason.as_deref(),
            Some("its pipeline #106 has finished (canceled)")
        );
        let old = row(&locked("2020-01-01T00:00:00Z", None), hour);
        assert!(old.stale_reason.unwrap().starts_with("locked for "));
        assert!(old.job.is_none());
        // A job that wrote before someone else locked is not the lock's job.
        let mut other = locked(&now, Some(("CANCELED", "CANCELED")));
        other.state.locked_by = Some(UserRef {
            username: "bob".into(),
        });
        assert!(row(&other, hour).job.is_none());
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_secs(7500)), "2h 5m");
        assert_eq!(human(Duration::from_secs(86_400 * 3 + 7200)), "3d 2h");
        assert_eq!(human(Duration::from_secs(45 * 60)), "45m");
    }
}
