//! A lock held by the pipeline's own user, met in CI with the job token (issue 14, item 3).
//! GitLab records a job-token lock as the pipeline user's, so "that is you" says nothing about
//! which run holds it: tfw lists the project's running jobs (the jobs API takes job tokens,
//! `job_token_allowed: true` in `lib/api/ci/jobs.rb`) and names the other pipeline of that
//! user that probably holds it, or says that no job of theirs runs but this one. Either way
//! the release needs `--force`.
use serde_json::json;

use crate::support::gitlab::{self, CI_BOT, CI_JOB_TOKEN, Fault, JobIds, Role, Route};
use crate::support::{Cmd, Sandbox};

const PROJECT: &str = "42";
const STATE: &str = "prod";

fn doc() -> Vec<u8> {
    br#"{"version":4,"terraform_version":"1.0.3","serial":1,"lineage":"l-1","outputs":{},"resources":[]}"#.to_vec()
}

/// A sandbox with `prod` locked by the pipeline user, and tfw as the seeded CI job would run.
fn held_by_the_pipeline_user() -> (Sandbox, JobIds) {
    let sandbox = Sandbox::new();
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    sandbox.gitlab.put_state(PROJECT, STATE, &doc());
    sandbox.gitlab.set_lock(
        PROJECT,
        STATE,
        json!({ "ID": "lock-of-the-pipeline-user", "Who": CI_BOT, "Created": "2026-11-20T09:15:00Z" }),
    );
    let ids = sandbox.gitlab.job_ids(CI_JOB_TOKEN).unwrap();
    (sandbox, ids)
}

pub(crate) fn in_ci(sandbox: &Sandbox, ids: JobIds, args: &[&str]) -> Cmd {
    sandbox
        .tfw(args)
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("CI_API_V4_URL", sandbox.gitlab.api_url())
        .env("CI_PROJECT_ID", gitlab::PROJECT_ID.to_string())
        .env("CI_JOB_TOKEN", CI_JOB_TOKEN)
        .env("CI_JOB_ID", ids.job.to_string())
        .env("CI_PIPELINE_ID", ids.pipeline.to_string())
        .env("GITLAB_USER_LOGIN", CI_BOT)
        .env("TF_STATE_NAME", STATE)
}

#[test]
fn in_ci_a_lock_of_the_pipeline_user_while_another_of_their_pipelines_runs_names_it() {
    let (sandbox, ids) = held_by_the_pipeline_user();
    let other = sandbox.gitlab.add_named_job_token(
        "other-pipeline-token-0000",
        CI_BOT,
        Role::Maintainer,
        "deploy",
    );
    let named = format!("pipeline #{} (job `deploy` #{})", other.pipeline, other.job);
    in_ci(&sandbox, ids, &["state", "unlock"])
        .run()
        .code(1)
        .stderr_has(&format!("{CI_BOT} started this pipeline"))
        .stderr_has(&named)
        .stderr_has("--force")
        .lacks(CI_JOB_TOKEN);
    assert!(sandbox.gitlab.lock(PROJECT, STATE).is_some());
    in_ci(&sandbox, ids, &["plan"])
        .run()
        .code(1)
        .stderr_has(&format!("state `{STATE}` is locked by {CI_BOT}"))
        .stderr_has(&named);
    // The jobs listing went out with the job token, in the header GitLab reads there.
    let asked = sandbox
        .gitlab
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/jobs"))
        .expect("the running jobs were asked");
    assert_eq!(asked.header("JOB-TOKEN"), Some(CI_JOB_TOKEN));
    assert_eq!(asked.status, 200);
}

#[test]
fn in_ci_a_lock_of_the_pipeline_user_with_only_this_job_running_may_be_this_jobs_own() {
    let (sandbox, ids) = held_by_the_pipeline_user();
    in_ci(&sandbox, ids, &["state", "unlock"])
        .run()
        .code(1)
        .stderr_has(&format!(
            "no job of theirs is running but this one (job #{} of pipeline #{})",
            ids.job, ids.pipeline
        ))
        .stderr_has("--force");
    assert!(sandbox.gitlab.lock(PROJECT, STATE).is_some());
    in_ci(&sandbox, ids, &["state", "unlock", "--force"])
        .run()
        .code(1)
        .stderr_has(&format!("--confirm {STATE}"));
    in_ci(
        &sandbox,
        ids,
        &["state", "unlock", "--force", "--confirm", STATE],
    )
    .run()
    .success()
    .stderr_has(&format!("released {CI_BOT}'s lock"));
    assert_eq!(sandbox.gitlab.lock(PROJECT, STATE), None);
}

#[test]
fn in_ci_when_gitlab_does_not_list_jobs_to_the_job_token_tfw_says_it_could_not_check() {
    let (sandbox, ids) = held_by_the_pipeline_user();
    // An older GitLab ignores a job token on the jobs API (`authenticate!`: 401).
    sandbox.gitlab.fault(Fault::status(Route::Rest, 401));
    in_ci(&sandbox, ids, &["state", "unlock"])
        .run()
        .code(1)
        .stderr_has(&format!("{CI_BOT} started this pipeline"))
        .stderr_has("could not list the running jobs")
        .stderr_has("--force");
    assert!(sandbox.gitlab.lock(PROJECT, STATE).is_some());
}
