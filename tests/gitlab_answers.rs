//! tfw against what GitLab really answers (issue 14): projects with more states than one
//! GraphQL page, lock ownership by the token's identity, a running pipeline of yours, the
//! causes GitLab tells apart on 403/404, names GitLab accepts (255 characters, dots), and the
//! lock holder named from GitLab with Terraform 1.0 and 1.11 alike.
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::support::gitlab::{self, ALICE, ALICE_TOKEN, BOB, DAVE_TOKEN, Role};
use crate::support::{Sandbox, files_below};

const PROJECT: &str = "42";
const BOB_LOCK: &str = "b0b0b0b0-0000-4000-8000-00000000b0b0";

fn doc(serial: u64) -> Vec<u8> {
    format!(r#"{{"version":4,"terraform_version":"1.0.3","serial":{serial},"lineage":"l-1","outputs":{{}},"resources":[]}}"#)
        .into_bytes()
}

fn lock(sandbox: &Sandbox, state: &str, who: &str, id: &str) {
    sandbox.gitlab.set_lock(
        PROJECT,
        state,
        json!({ "ID": id, "Who": who, "Operation": "OperationTypeApply", "Created": "2026-11-20T09:15:00Z" }),
    );
}

/// 250 states `s000`..`s249`, 250 personal states of people who are not members, and 150
/// of members (more than one page of `members/all`), who have not left.
fn crowded() -> Sandbox {
    let sandbox = Sandbox::new();
    for i in 0..250 {
        let gitlab = &sandbox.gitlab;
        gitlab.put_state(PROJECT, &format!("s{i:03}"), &doc(1));
        gitlab.put_state(PROJECT, &format!("dev-gone{i:03}"), &doc(1));
    }
    for i in 0..150 {
        let member = format!("member{i:03}");
        let gitlab = &sandbox.gitlab;
        gitlab.set_role(PROJECT, &member, Some(Role::Developer));
        gitlab.put_state(PROJECT, &format!("dev-{member}"), &doc(1));
    }
    sandbox
}

#[test]
fn every_state_is_found_past_the_first_graphql_page() {
    let sandbox = crowded();
    let last = "s249";
    // Completion answers from its cache; the refresh that fills it pages to the end.
    sandbox
        .tfw(&["complete-states", "--refresh"])
        .run()
        .success();
    let names = sandbox.tfw(&["complete-states"]).run();
    names.success();
    assert_eq!(names.stdout.lines().count(), 650);
    assert!(names.stdout.lines().any(|l| l == last));

    sandbox.tfw(&["use", last]).run().success();
    sandbox.tfw(&["use", "dev-alice"]).run().success();

    lock(&sandbox, last, BOB, BOB_LOCK);
    sandbox
        .tfw(&["--state", last, "plan"])
        .run()
        .code(1)
        .stderr_has(&format!("state `{last}` is locked by bob"))
        .stderr_has(&format!("lock ID {BOB_LOCK}"));
    sandbox
        .tfw(&["state", "unlock", last, "--force", "--confirm", last])
        .run()
        .success()
        .stderr_has("released bob's lock");
    assert_eq!(sandbox.gitlab.lock(PROJECT, last), None);

    let out = sandbox.tfw(&["state", "prune", "--older-than", "0s"]).run();
    out.success();
    let listed = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("dev-gone"))
        .count();
    assert_eq!(listed, 250, "{}", out.stdout);
}

#[test]
fn your_own_lock_is_the_tokens_user_not_tf_http_username() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(PROJECT, "dev-alice", &doc(1));
    // alice's token with another basic-auth username: GitLab ignores the username.
    let env = sandbox.seed_env_text("laptop-user", ALICE_TOKEN, "dev-alice");
    sandbox.write(".env", env);
    lock(&sandbox, "dev-alice", ALICE, "a11ce");
    sandbox
        .tfw(&["state", "unlock"])
        .run()
        .success()
        .stderr_has("your own lock");

    // bob's name as the username, alice's token: bob's lock is not hers.
    let env = sandbox.seed_env_text(BOB, ALICE_TOKEN, "dev-alice");
    sandbox.write(".env", env);
    lock(&sandbox, "dev-alice", BOB, BOB_LOCK);
    sandbox
        .tfw(&["state", "unlock"])
        .run()
        .code(1)
        .stderr_has("not by you")
        .stderr_has("--force");
    assert!(sandbox.gitlab.lock(PROJECT, "dev-alice").is_some());
}

#[test]
fn a_lock_of_yours_while_your_pipeline_runs_needs_force_and_names_it() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(PROJECT, "staging", &doc(1));
    let ids = sandbox
        .gitlab
        .add_job_token("alice-job-token-000000", ALICE, Role::Maintainer);
    lock(&sandbox, "staging", ALICE, "from-the-pipeline");
    sandbox
        .tfw(&["state", "unlock", "staging"])
        .run()
        .code(1)
        .stderr_has(&format!(
            "pipeline #{} (job `apply` #{})",
            ids.pipeline, ids.job
        ))
        .stderr_has("--force");
    assert!(sandbox.gitlab.lock(PROJECT, "staging").is_some());
    sandbox
        .tfw(&["--state", "staging", "plan"])
        .run()
        .code(1)
        .stderr_has(&format!("pipeline #{}", ids.pipeline));

    sandbox.gitlab.finish_job("alice-job-token-000000");
    sandbox
        .tfw(&["state", "unlock", "staging"])
        .run()
        .success()
        .stderr_has("your own lock");
}

#[test]
fn refusals_name_the_cause_gitlab_gave() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let apply = || sandbox.tfw(&["apply", "--auto-approve"]).run();

    sandbox
        .gitlab
        .add_token(ALICE, "glpat-alice-readonly-000", &["read_api"]);
    let env = sandbox.seed_env_text(ALICE, "glpat-alice-readonly-000", "dev-alice");
    sandbox.write(".env", env);
    apply()
        .code(1)
        .stderr_has("the token has the `read_api` scope, which only reads");

    sandbox.seed_env(ALICE, ALICE_TOKEN, "dev-alice");
    sandbox
        .gitlab
        .add_protection_rule(PROJECT, "dev-alice", Role::Owner, "anywhere");
    apply()
        .code(1)
        .stderr_has("a state protection rule on `dev-alice`");

    sandbox.gitlab.set_archived(PROJECT, true);
    sandbox.seed_env("dave", DAVE_TOKEN, "dev-alice");
    apply().code(1).stderr_has("is archived");
    sandbox.gitlab.set_archived(PROJECT, false);
    apply()
        .code(1)
        .stderr_has("your role in `group/infra` is Developer");

    sandbox.gitlab.set_role(PROJECT, "dave", None);
    sandbox
        .tfw(&["state", "list"])
        .run()
        .code(1)
        .stderr_has("not a member");
}

#[test]
fn a_job_token_is_told_where_gitlab_refuses_it_and_still_names_the_lock_holder() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    lock(&sandbox, "dev-alice", BOB, BOB_LOCK);
    let ci = |args: &[&str]| {
        sandbox
            .tfw(args)
            .env("CI", "true")
            .env("CI_API_V4_URL", sandbox.gitlab.api_url())
            .env("CI_PROJECT_ID", gitlab::PROJECT_ID.to_string())
            .env("CI_JOB_TOKEN", gitlab::CI_JOB_TOKEN)
            .env("TF_STATE_NAME", "dev-alice")
    };
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    ci(&["plan"])
        .run()
        .code(1)
        .stderr_has("locked by bob")
        .stderr_has(&format!("lock ID {BOB_LOCK}"));
    assert_eq!(
        sandbox.gitlab.lock(PROJECT, "dev-alice").unwrap()["ID"],
        BOB_LOCK
    );
    ci(&["state", "list"])
        .run()
        .code(1)
        .stderr_has("does not accept CI's job token to list states with GraphQL");
}

#[test]
fn any_name_gitlab_accepts_is_planned_and_applied_with_short_file_names() {
    let sandbox = Sandbox::new();
    let name = format!("team/{}.eu", "é".repeat(247));
    assert_eq!(name.chars().count(), 255);
    sandbox
        .tfw(&["--state", &name, "apply", "--auto-approve"])
        .run()
        .success();
    assert!(sandbox.gitlab.state(PROJECT, &name).is_some());
    sandbox
        .tfw(&["--state", &name, "apply", "--auto-approve"])
        .run()
        .success();
    for file in files_below(&sandbox.path(".tfw")) {
        let longest = file
            .components()
            .map(|c| c.as_os_str().len())
            .max()
            .unwrap();
        assert!(longest <= 80, "{}", file.display());
    }
    // The dot is encoded, so GitLab's versions route finds the state.
    sandbox
        .tfw(&["--state", &name, "state", "versions"])
        .run()
        .success()
        .stdout_has("2");
}

/// The machine's Terraform 1.11, when there is one.
fn terraform_1_11() -> Option<PathBuf> {
    let path = Path::new("/usr/local/bin/terraform");
    let out = std::process::Command::new(path)
        .arg("version")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .starts_with("Terraform v1.11")
        .then(|| path.to_path_buf())
}

#[test]
fn the_lock_holder_comes_from_gitlab_with_terraform_1_0_and_1_11() {
    let mut binaries = vec![("1.0.3", crate::support::terraform().to_path_buf())];
    match terraform_1_11() {
        Some(path) => binaries.push(("1.11", path)),
        None => eprintln!("skipped with Terraform 1.11: no /usr/local/bin/terraform v1.11 here"),
    }
    for (version, binary) in binaries {
        let sandbox = Sandbox::new();
        let link = sandbox.bin.join("terraform");
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(&binary, &link).unwrap();
        sandbox.tfw(&["apply", "--auto-approve"]).run().success();
        lock(&sandbox, "dev-alice", BOB, BOB_LOCK);
        let out = sandbox.tfw(&["plan"]).run();
        out.code(1);
        let line = out
            .stderr()
            .lines()
            .find(|l| l.contains("is locked by"))
            .unwrap_or_else(|| panic!("[{version}] no lock line:\n{}", out.stderr()));
        assert_eq!(
            line,
            format!(
                "error: state `dev-alice` is locked by bob since 2026-11-20T09:15:00Z (lock ID {BOB_LOCK})"
            ),
            "[{version}]"
        );
    }
}

#[test]
fn a_busy_lock_answer_without_lock_info_releases_nothing() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(PROJECT, "dev-alice", &doc(1));
    lock(&sandbox, "dev-alice", BOB, BOB_LOCK);
    // GitLab's answer when its row lock retries run out: a 409 that is not LockInfo.
    sandbox.gitlab.fault(
        gitlab::Fault::respond(
            gitlab::Route::Lock,
            409,
            r#"{"message":"409 Conflict: Resource lock"}"#,
        )
        .method("POST"),
    );
    sandbox
        .tfw(&["state", "unlock", "--force", "--confirm", "dev-alice"])
        .run()
        .code(1)
        .stderr_has("without the holder's lock ID (409 Conflict: Resource lock)");
    assert_eq!(
        sandbox.gitlab.lock(PROJECT, "dev-alice").unwrap()["ID"],
        BOB_LOCK
    );
}

#[test]
fn a_reporter_is_told_why_gitlab_lists_no_states() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(PROJECT, "prod", &doc(1));
    sandbox
        .gitlab
        .add_user("rita", "glpat-rita-0000000000000", Role::Reporter);
    sandbox.seed_env("rita", "glpat-rita-0000000000000", "dev-rita");
    sandbox
        .tfw(&["state", "show", "prod"])
        .run()
        .code(1)
        .stderr_has("its user's role there is Reporter");
}

#[test]
fn times_from_a_gitlab_outside_utc_are_read() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(PROJECT, "staging", &doc(1));
    lock(&sandbox, "staging", BOB, BOB_LOCK);
    sandbox.gitlab.set_utc_offset(120);
    let out = sandbox.tfw(&["state", "list"]).run();
    out.success().stdout_has("bob, ").lacks("+02:00");
    let json = sandbox.tfw(&["state", "list", "--json"]).run();
    json.success().stdout_has("2026-11-20T11:15:00+02:00");
}

#[test]
fn doctor_tells_a_non_member_from_a_state_not_created_yet() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["doctor"]).run().success();
    sandbox.gitlab.set_role(PROJECT, ALICE, None);
    sandbox
        .tfw(&["doctor"])
        .run()
        .code(1)
        .stderr_has("the token's user is not a member");
}
