//! Issue 19 item 2: the shipped pipeline's scheduled drift job, run for real by
//! gitlab-ci-local against the GitLab test server (as `ci.rs` runs the other jobs): a
//! schedule with `TFW_DRIFT_CHECK = "true"` runs install-tfw and drift only, drift keeps one
//! GitLab issue per drifted state with a project access token (the job token cannot reach the
//! issues API), a drift is a warning (exit 2 allowed) and back in sync closes the issue.

use crate::ci::{
    assert_job, ci_sandbox, finish, gitlab_ci_local_in, job_log, pipeline_repo, run_pipeline,
};
use crate::drift_issues::greeting_state;
use crate::support::Sandbox;
use crate::support::gitlab::Role;

/// A project access token's bot, with the Developer role (enough to read states).
const BOT: &str = "project_42_bot";
const BOT_TOKEN: &str = "glpat-project-bot-0123456789";

fn schedule() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CI_PIPELINE_SOURCE", "schedule"),
        ("TFW_DRIFT_CHECK", "true"),
        ("TF_HTTP_PASSWORD", BOT_TOKEN),
    ]
}

/// Each job's `when` in a pipeline with these variables.
fn jobs_with(
    sandbox: &Sandbox,
    variables: &[(&str, &str)],
) -> serde_json::Map<String, serde_json::Value> {
    let mut command = gitlab_ci_local_in(sandbox);
    command.arg("--list-json");
    for (key, value) in variables {
        command.arg("--variable").arg(format!("{key}={value}"));
    }
    let out = finish(command);
    out.success();
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    jobs.into_iter()
        .map(|job| {
            let name = job["name"].as_str().unwrap().to_string();
            (name, serde_json::json!([job["when"], job["allow_failure"]]))
        })
        .collect()
}

#[test]
fn the_drift_job_runs_only_in_a_drift_schedule() {
    let sandbox = ci_sandbox();
    pipeline_repo(&sandbox);
    let pushed = jobs_with(&sandbox, &[]);
    assert_eq!(pushed["drift"][0], "never", "a push does not check drift");
    assert_eq!(pushed["plan"][0], "on_success");
    let other_schedule = jobs_with(&sandbox, &[("CI_PIPELINE_SOURCE", "schedule")]);
    assert_eq!(
        other_schedule["drift"][0], "never",
        "another schedule does not either"
    );
    assert_eq!(other_schedule["plan"][0], "on_success");
    let drift = jobs_with(&sandbox, &schedule());
    assert_eq!(
        drift["drift"],
        serde_json::json!(["on_success", {"exit_codes": [2]}])
    );
    assert_eq!(drift["install-tfw"][0], "on_success");
    for job in [
        "fmt",
        "validate",
        "template-sync",
        "plan",
        "apply",
        "roots-pipeline",
        "roots",
    ] {
        assert_eq!(drift[job][0], "never", "{job} in a drift schedule");
    }
}

#[test]
fn the_scheduled_drift_job_opens_then_closes_one_issue_per_drifted_state() {
    let sandbox = ci_sandbox();
    sandbox.write("tfw.toml", "drift = [\"prod\", \"staging\"]\n");
    pipeline_repo(&sandbox);
    let gitlab = &sandbox.gitlab;
    gitlab.add_user(BOT, BOT_TOKEN, Role::Developer);
    gitlab.put_state("42", "prod", &greeting_state(1, "drifted"));
    gitlab.put_state("42", "staging", &greeting_state(1, "hello"));

    let out = run_pipeline(&sandbox, &["install-tfw", "drift"], &schedule());
    out.success();
    assert_job(&out, "drift", "WARN");
    let log = job_log(&sandbox, "drift");
    assert!(
        log.contains("`prod`: DRIFTED (0 resource(s), 1 output(s))"),
        "{log}"
    );
    assert!(log.contains("opened drift issue #1"), "{log}");
    assert!(!log.contains(BOT_TOKEN) && !log.contains(crate::support::gitlab::CI_JOB_TOKEN));
    let issues = gitlab.issues("42");
    assert_eq!(issues.len(), 1, "one issue, for the drifted state only");
    assert_eq!(issues[0].labels, ["tfw-drift"]);
    assert_eq!(issues[0].author, BOT);
    assert!(
        issues[0]
            .description
            .contains("~ greeting: \"drifted\" -> \"hello\"")
    );
    // Read-only: nothing was locked or written.
    assert!(
        gitlab
            .requests()
            .iter()
            .all(|r| !r.path().contains("/terraform/state/") || r.method == "GET"),
        "the drift job locked or wrote a state"
    );

    // Fixed by hand: the next scheduled run closes the issue and the job passes.
    gitlab.put_state("42", "prod", &greeting_state(2, "hello"));
    let out = run_pipeline(&sandbox, &["install-tfw", "drift"], &schedule());
    out.success();
    assert_job(&out, "drift", "PASS");
    assert!(job_log(&sandbox, "drift").contains("closed drift issue #1"));
    let issues = gitlab.issues("42");
    assert_eq!((issues.len(), issues[0].state.as_str()), (1, "closed"));
}
