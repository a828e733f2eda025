//! Who GitLab thinks tfw is, and whether a lock is "yours". GitLab records a lock's holder as
//! the token's user (for a CI job token: the user who started the pipeline), never the
//! basic-auth username it ignores, so `TF_HTTP_USERNAME` says nothing about ownership: a
//! personal token is asked about (`GET /user`), a job token is known from CI's variables.
//! And a lock held by you may be your running pipeline's, which only GitLab's list of
//! running jobs can tell; in CI, whether another job of the pipeline's user runs, or only
//! this one.

use std::collections::HashMap;

use super::gitlab::{ApiError, Client, RunningJob};

/// The identity behind the token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Identity {
    /// A personal, project or group token's user, as `GET /user` names it.
    User(String),
    /// CI's job token: it acts as the user who started the pipeline (`GITLAB_USER_LOGIN`).
    Job {
        user: Option<String>,
        pipeline: Option<String>,
        job: Option<String>,
    },
    /// GitLab could not be asked; the reason, for messages.
    Unknown(String),
}

impl Identity {
    pub(crate) fn of(client: &Client, env: &HashMap<String, String>) -> Identity {
        let var = |key: &str| env.get(key).filter(|v| !v.is_empty()).cloned();
        if client.is_job_token() {
            return Identity::Job {
                user: var("GITLAB_USER_LOGIN"),
                pipeline: var("CI_PIPELINE_ID"),
                job: var("CI_JOB_ID"),
            };
        }
        match client.whoami() {
            Ok(username) => Identity::User(username),
            Err(err) => Identity::Unknown(short_reason(&err)),
        }
    }

    /// The GitLab username locks taken with this token are recorded under.
    pub(crate) fn username(&self) -> Option<&str> {
        match self {
            Identity::User(name) => Some(name),
            Identity::Job { user, .. } => user.as_deref(),
            Identity::Unknown(_) => None,
        }
    }
}

/// Whose a lock is, as far as tfw can tell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Owner {
    /// Yours, and no pipeline of yours is running: an interrupted run of yours left it.
    You,
    /// Yours, but pipelines you started are running: it is probably one of theirs.
    YourPipelines(Vec<RunningJob>),
    /// Yours, and tfw could not check for running pipelines (why).
    YouUnchecked(String),
    /// In CI: the lock is the pipeline user's, and these other jobs of theirs are running (of
    /// this pipeline or another): one of them probably holds it.
    PipelineJobs {
        user: String,
        jobs: Vec<RunningJob>,
    },
    /// In CI: the lock is the pipeline user's, and no job of theirs runs but this one (its
    /// id and pipeline, from CI's variables): an earlier command of this job may have left
    /// it, or the user holds it from a workstation.
    ThisJobOnly {
        user: String,
        job: Option<u64>,
        pipeline: Option<u64>,
    },
    /// In CI: the lock is the pipeline user's, and GitLab did not list the running jobs (why).
    PipelineUser {
        user: String,
        why: String,
    },
    Someone(String),
    /// tfw cannot tell who it is (why).
    Unknown(String),
}

impl Owner {
    /// Whose lock held by `holder` (a GitLab username) is.
    pub(crate) fn of(client: &Client, identity: &Identity, holder: &str) -> Owner {
        let Some(me) = identity.username() else {
            return Owner::Unknown(match identity {
                Identity::Unknown(why) => why.clone(),
                _ => "`GITLAB_USER_LOGIN` is not set".into(),
            });
        };
        if !me.eq_ignore_ascii_case(holder) {
            return Owner::Someone(holder.to_string());
        }
        if let Identity::Job { job, pipeline, .. } = identity {
            let id = |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<u64>().ok());
            let (this, pipeline) = (id(job), id(pipeline));
            let user = holder.to_string();
            return match client.running_jobs() {
                Ok(jobs) => {
                    let others: Vec<RunningJob> = jobs
                        .into_iter()
                        .filter(|j| {
                            j.username
                                .as_deref()
                                .is_some_and(|u| u.eq_ignore_ascii_case(me))
                        })
                        .filter(|j| Some(j.id) != this)
                        .collect();
                    if others.is_empty() {
                        Owner::ThisJobOnly {
                            user,
                            job: this,
                            pipeline,
                        }
                    } else {
                        Owner::PipelineJobs { user, jobs: others }
                    }
                }
                Err(err) => Owner::PipelineUser {
                    user,
                    why: short_reason(&err),
                },
            };
        }
        match client.running_jobs() {
            Ok(jobs) => {
                let mine: Vec<RunningJob> = jobs
                    .into_iter()
                    .filter(|j| {
                        j.username
                            .as_deref()
                            .is_some_and(|u| u.eq_ignore_ascii_case(me))
                    })
                    .collect();
                if mine.is_empty() {
                    Owner::You
                } else {
                    Owner::YourPipelines(mine)
                }
            }
            Err(err) => Owner::YouUnchecked(short_reason(&err)),
        }
    }

    /// Whether releasing the lock may go without `--force`.
    pub(crate) fn is_plainly_yours(&self) -> bool {
        *self == Owner::You
    }
}

/// "job #34 of pipeline #12", or what of it CI's variables gave.
pub(crate) fn describe_this_job(job: Option<u64>, pipeline: Option<u64>) -> String {
    match (job, pipeline) {
        (Some(job), Some(pipeline)) => format!("job #{job} of pipeline #{pipeline}"),
        (Some(job), None) => format!("job #{job}"),
        (None, Some(pipeline)) => format!("pipeline #{pipeline}"),
        (None, None) => "this job, `CI_JOB_ID` unset".into(),
    }
}

/// "pipeline #12 (job `apply` #34)", for each running job, the first three.
pub(crate) fn describe_jobs(jobs: &[RunningJob]) -> String {
    let mut parts: Vec<String> = jobs
        .iter()
        .take(3)
        .map(|j| match j.pipeline {
            Some(pipeline) => format!("pipeline #{pipeline} (job `{}` #{})", j.name, j.id),
            None => format!("job `{}` #{}", j.name, j.id),
        })
        .collect();
    if jobs.len() > 3 {
        parts.push(format!("{} more", jobs.len() - 3));
    }
    parts.join(", ")
}

fn short_reason(err: &ApiError) -> String {
    match err {
        ApiError::Status { code, .. } => format!("GitLab answered {code}"),
        ApiError::Transport(transport) => transport.to_string(),
        ApiError::Unreached(unreached) => unreached.describe().0,
        ApiError::JobToken { what } => format!("a job token cannot {what}"),
    }
}
