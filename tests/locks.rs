//! Issue 19 items 3 and 6: `tfw locks` against the GitLab test server's GraphQL (paged at
//! both levels, the CI job and pipeline of a job-token write, one project failing inside an
//! answer that is otherwise fine).

use std::time::{Duration, SystemTime};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::support::gitlab::{ALICE, CI_JOB_TOKEN, Role};

const PROJECT: &str = "42";

fn doc(serial: u64) -> Vec<u8> {
    serde_json::to_vec(
        &json!({ "version": 4, "serial": serial, "lineage": "l", "outputs": {}, "resources": [] }),
    )
    .unwrap()
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// prod: held by a running CI apply; staging: bob's lock from 3 hours ago; dev-alice free.
fn seeded() -> Sandbox {
    let sandbox = Sandbox::new();
    let gitlab = &sandbox.gitlab;
    gitlab.put_state(PROJECT, "dev-alice", &doc(1));
    gitlab.put_state(PROJECT, "staging", &doc(4));
    gitlab.lock_and_write_as_job(PROJECT, "prod", CI_JOB_TOKEN, SystemTime::now(), &doc(9));
    let three_hours_ago = SystemTime::now() - Duration::from_secs(3 * 3600);
    gitlab.set_lock(
        PROJECT,
        "staging",
        json!({ "ID": "bob-lock", "Who": "bob", "Created": rfc3339(three_hours_ago) }),
    );
    sandbox
}

fn rows(out: &str) -> Vec<Value> {
    let report: Value = serde_json::from_str(out).unwrap();
    report["locks"].as_array().unwrap().clone()
}

#[test]
fn lists_holders_jobs_and_stale_locks_of_the_project() {
    let sandbox = seeded();
    let out = sandbox.tfw(&["locks"]).run();
    out.code(2)
        .stderr_has("2 locked state(s) in 1 project, 1 stale")
        .stderr_has("state unlock --force");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PROJECT", "STATE", "HOLDER", "SINCE", "CI", "STALE"]
    );
    assert!(
        lines[1].contains("prod") && lines[1].contains("ci-bot") && lines[1].contains("apply #"),
        "{}",
        out.stdout
    );
    assert!(lines[1].ends_with("no"), "{}", out.stdout);
    assert!(
        lines[2].contains("staging") && lines[2].contains("bob") && lines[2].contains("3h ago"),
        "{}",
        out.stdout
    );
    assert!(
        lines[2].contains("STALE: locked for 3h, longer than stale_lock_after (2h)"),
        "{}",
        out.stdout
    );
    assert_eq!(lines.len(), 3, "dev-alice is not locked");

    let out = sandbox.tfw(&["locks", "--json"]).run();
    out.code(2);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (report["scope"].clone(), report["path"].clone()),
        (json!("project"), json!("group/infra"))
    );
    assert_eq!(report["stale_after_seconds"], 7200);
    assert_eq!(report["complete"], true);
    let prod = &report["locks"][0];
    let ids = sandbox.gitlab.job_ids(CI_JOB_TOKEN).unwrap();
    assert_eq!(prod["holder"], "ci-bot");
    assert_eq!(prod["job"]["id"], ids.job);
    assert_eq!(prod["job"]["name"], "apply");
    assert_eq!(prod["job"]["status"], "running");
    assert_eq!(prod["pipeline"]["id"], ids.pipeline);
    assert_eq!(
        prod["pipeline"]["path"],
        format!("/group/infra/-/pipelines/{}", ids.pipeline)
    );
    assert_eq!(prod["stale"], false);
    assert_eq!(report["locks"][1]["job"], Value::Null);

    // The apply is cancelled: its lock stays, and is now stale at once.
    sandbox.gitlab.cancel_job(CI_JOB_TOKEN);
    let out = sandbox.tfw(&["locks", "--json"]).run();
    out.code(2);
    let prod = &rows(&out.stdout)[0];
    assert_eq!(prod["stale"], true);
    assert_eq!(
        prod["stale_reason"],
        format!("its pipeline #{} has finished (canceled)", ids.pipeline)
    );
    assert_eq!(prod["pipeline"]["status"], "canceled");
    assert!(prod["pipeline"]["finished_at"].is_string());
}

#[test]
fn stale_lock_after_comes_from_tfw_toml() {
    let sandbox = seeded();
    sandbox.write("tfw.toml", "stale_lock_after = \"4h\"\n");
    let out = sandbox.tfw(&["locks"]).run();
    out.success().stderr_has("0 stale (older than 4h");
    sandbox.write("tfw.toml", "stale_lock_after = \"soon\"\n");
    let out = sandbox.tfw(&["locks"]).run();
    out.code(1)
        .stderr_has("tfw.toml: `stale_lock_after = \"soon\"` is not a duration")
        .stderr_has("\"2h\"");
    // Nothing locked at all: exit 0 and an empty table.
    let sandbox = Sandbox::new();
    let out = sandbox.tfw(&["locks"]).run();
    out.success().stderr_has("0 locked state(s) in 1 project");
    assert_eq!(out.stdout, "");
}

#[test]
fn a_group_is_paged_at_both_levels_and_a_failing_project_is_a_row() {
    let sandbox = seeded();
    let gitlab = &sandbox.gitlab;
    // 105 projects in a subgroup (two pages of projects); the last one has a lock.
    for i in 0..105u64 {
        let path = format!("group/fleet/p{i:03}");
        gitlab.add_project(1000 + i, &path);
        gitlab.set_role(&path, ALICE, Some(Role::Developer));
    }
    gitlab.put_state("group/fleet/p104", "main", &doc(1));
    gitlab.set_lock(
        "group/fleet/p104",
        "main",
        json!({ "ID": "x", "Who": "bob" }),
    );
    // 150 states in the default project (two pages of states); the lock is on the second.
    for i in 0..150 {
        gitlab.put_state(PROJECT, &format!("feature-{i:03}"), &doc(1));
    }
    gitlab.set_lock(PROJECT, "feature-149", json!({ "ID": "y", "Who": "alice" }));
    // A project outside the group, and one alice cannot see, are not listed.
    gitlab.add_project(2000, "other/x");
    gitlab.set_role("other/x", ALICE, Some(Role::Maintainer));
    gitlab.put_state("other/x", "s", &doc(1));
    gitlab.set_lock("other/x", "s", json!({ "ID": "z", "Who": "bob" }));
    gitlab.add_project(2001, "group/secret");
    gitlab.put_state("group/secret", "s", &doc(1));
    gitlab.set_lock("group/secret", "s", json!({ "ID": "z", "Who": "bob" }));

    let out = sandbox.tfw(&["locks", "--group", "group", "--json"]).run();
    out.code(2);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["projects"], 106);
    let found: Vec<(String, String)> = rows(&out.stdout)
        .iter()
        .map(|r| {
            (
                r["project"].as_str().unwrap().into(),
                r["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("group/fleet/p104", "main"),
        ("group/infra", "feature-149"),
        ("group/infra", "prod"),
        ("group/infra", "staging"),
    ]
    .iter()
    .map(|(p, s)| (p.to_string(), s.to_string()))
    .collect();
    assert_eq!(found, expected);

    // One project's GraphQL fails: a row with the reason, the rest still listed.
    gitlab.break_graphql_states("group/fleet/p003", "Internal server error");
    let out = sandbox.tfw(&["locks", "--group", "group"]).run();
    out.code(2).stderr_has("1 project(s) could not be listed");
    assert!(
        out.stdout.lines().any(|l| l.starts_with("group/fleet/p003")
            && l.ends_with("not listed: GraphQL error: Internal server error")),
        "{}",
        out.stdout
    );
    // Without a stale lock, an incomplete answer exits 3.
    gitlab.clear_lock(PROJECT, "staging");
    sandbox.write("tfw.toml", "stale_lock_after = \"1000d\"\n");
    let out = sandbox.tfw(&["locks", "--group", "group", "--json"]).run();
    out.code(3);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["complete"], false);
    assert_eq!(
        report["problems"],
        json!([{ "project": "group/fleet/p003", "reason": "GraphQL error: Internal server error" }])
    );

    let out = sandbox.tfw(&["locks", "--group", "nope"]).run();
    out.code(1).stderr_has("GitLab shows no group `nope`");
}
