//! `tfw state ...` for the states themselves (unlock, delete, restore, versions, pull, show,
//! prune, completion), against the GitLab test server with the real tfw binary; the
//! switching half of issue 4 is in `states.rs`, whose fixtures these tests share.

use std::os::unix::fs::PermissionsExt;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::states::*;
use crate::support::gitlab::{BOB_TOKEN, DAVE_TOKEN, Fault, Route};

// Acceptance 4.
#[test]
fn unlocking_someone_elses_lock_needs_force_and_the_name() {
    let sandbox = seeded();
    lock_as(&sandbox, "staging", "bob", "bob-lock-1");
    let held = || {
        sandbox
            .gitlab
            .lock(PROJECT, "staging")
            .map(|l| l["ID"].clone())
    };

    let out = sandbox.tfw(&["state", "unlock", "staging"]).run();
    out.code(1)
        .stderr_has("locked by bob")
        .stderr_has("--force");
    assert_eq!(held(), Some(json!("bob-lock-1")));

    let out = sandbox
        .tfw(&["state", "unlock", "staging", "--force"])
        .run();
    out.code(1).stderr_has("--confirm staging");
    assert_eq!(held(), Some(json!("bob-lock-1")));

    let out = sandbox
        .tfw(&["state", "unlock", "staging", "--force", "--confirm", "prod"])
        .run();
    out.code(1).stderr_has("does not name the state");
    assert_eq!(held(), Some(json!("bob-lock-1")));

    let out = sandbox
        .tfw(&[
            "state",
            "unlock",
            "staging",
            "--force",
            "--confirm",
            "staging",
        ])
        .run();
    out.success().stderr_has("released bob's lock");
    assert_eq!(held(), None);
    // Only bob's lock was targeted: the release named its ID.
    let release = sandbox
        .gitlab
        .requests()
        .into_iter()
        .rfind(|r| r.method == "DELETE")
        .unwrap();
    assert!(
        release.url.ends_with("/lock?ID=bob-lock-1"),
        "{}",
        release.url
    );
}

#[test]
fn your_own_lock_is_released_without_force() {
    let sandbox = seeded();
    lock_as(&sandbox, "dev-alice", "alice", "mine");
    sandbox
        .tfw(&["state", "unlock"])
        .run()
        .success()
        .stderr_has("your own lock");
    assert_eq!(sandbox.gitlab.lock(PROJECT, "dev-alice"), None);
    sandbox
        .tfw(&["state", "unlock"])
        .run()
        .success()
        .stderr_has("not locked");
}

// Acceptance 5.
#[test]
fn deleting_a_locked_state_reports_that_gitlab_kept_it() {
    let sandbox = seeded();
    sandbox
        .gitlab
        .put_state(PROJECT, "dev-bob", &doc(2, "bob's"));
    lock_as(&sandbox, "dev-bob", "bob", "bob-lock");
    let out = sandbox.tfw(&["state", "delete", "dev-bob", "--yes"]).run();
    out.code(1)
        .stderr_has("kept state `dev-bob`")
        .stderr_has("locked by bob");
    assert!(sandbox.gitlab.has_state(PROJECT, "dev-bob"));
    assert_eq!(backups(&sandbox, "dev-bob").len(), 1);
}

#[test]
fn delete_backs_up_removes_and_restore_brings_back() {
    let sandbox = seeded();
    sandbox
        .gitlab
        .put_state(PROJECT, "dev-carol", &doc(4, "carol's"));
    let out = sandbox.tfw(&["state", "delete", "dev-carol"]).run();
    out.code(1).stderr_has("--yes");
    assert!(sandbox.gitlab.has_state(PROJECT, "dev-carol"));

    // GitLab only schedules the deletion; its worker removes the state later, and until then
    // the name is refused everywhere.
    sandbox
        .tfw(&["state", "delete", "dev-carol", "--yes"])
        .run()
        .success()
        .stderr_has("GitLab has scheduled the deletion of state `dev-carol`")
        .stderr_has("cannot be used again");
    assert!(sandbox.gitlab.is_deleting(PROJECT, "dev-carol"));
    sandbox
        .tfw(&["state", "list"])
        .run()
        .success()
        .stdout_has("being deleted");
    sandbox
        .tfw(&["use", "dev-carol"])
        .run()
        .code(1)
        .stderr_has("is being deleted");
    sandbox
        .tfw(&["--state", "dev-carol", "plan"])
        .run()
        .code(1)
        .stderr_has("is being deleted");
    sandbox.gitlab.run_deletion_worker();
    assert!(!sandbox.gitlab.has_state(PROJECT, "dev-carol"));
    let [backup] = backups(&sandbox, "dev-carol").try_into().unwrap();
    let backup_mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(backup_mode, 0o600);

    let file = backup.to_string_lossy().into_owned();
    sandbox
        .tfw(&["state", "restore", &file])
        .run()
        .code(1)
        .stderr_has("--confirm dev-carol");
    assert!(!sandbox.gitlab.has_state(PROJECT, "dev-carol"));
    sandbox
        .tfw(&["state", "restore", &file, "--confirm", "dev-carol"])
        .run()
        .success();
    let restored = sandbox.remote_state("dev-carol").unwrap();
    assert_eq!(restored["serial"], 5);
    assert_eq!(restored["outputs"]["greeting"]["value"], "carol's");
    assert_eq!(sandbox.gitlab.lock(PROJECT, "dev-carol"), None);
}

#[test]
fn restore_goes_up_as_the_newest_version() {
    let sandbox = seeded();
    let old = doc(3, "from dev-alice");
    sandbox.write(
        ".tfw/backups/dev-alice/0000000003-20240101T000000Z.tfstate",
        &old,
    );
    sandbox
        .gitlab
        .put_state(PROJECT, "dev-alice", &doc(9, "broken"));
    let out = sandbox
        .tfw(&[
            "state",
            "restore",
            ".tfw/backups/dev-alice/0000000003-20240101T000000Z.tfstate",
            "--confirm",
            "dev-alice",
        ])
        .run();
    out.success().stderr_has("as serial 10");
    let now = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(
        (
            now["serial"].as_u64(),
            now["outputs"]["greeting"]["value"].as_str()
        ),
        (Some(10), Some("from dev-alice"))
    );
    assert_eq!(now["lineage"], "5c1d7b4e-0000-4000-8000-000000000001");
    assert_eq!(sandbox.gitlab.lock(PROJECT, "dev-alice"), None);
    // What it replaced was backed up too.
    assert_eq!(backups(&sandbox, "dev-alice").len(), 2);
}

#[test]
fn delete_is_for_personal_states() {
    let sandbox = seeded();
    sandbox.gitlab.put_state(PROJECT, "feature-x", &doc(1, "x"));
    sandbox
        .tfw(&["state", "delete", "staging", "--yes"])
        .run()
        .code(1)
        .stderr_has("protected");
    sandbox
        .tfw(&["state", "delete", "feature-x", "--yes"])
        .run()
        .code(1)
        .stderr_has("not a personal state");
    assert!(sandbox.gitlab.has_state(PROJECT, "staging"));
    assert!(sandbox.gitlab.has_state(PROJECT, "feature-x"));
    sandbox
        .tfw(&["state", "delete", "feature-x", "--yes", "--allow-protected"])
        .run()
        .success();
    assert!(sandbox.gitlab.is_deleting(PROJECT, "feature-x"));
}

// Acceptance 6.
#[test]
fn versions_and_pull_give_exactly_the_stored_bytes() {
    let sandbox = seeded();
    // Odd but valid bytes: compact, pretty with CRLF, no final newline, a gap at serial 6.
    sandbox.gitlab.put_state(
        PROJECT,
        "dev-alice",
        b"{\"version\":4,\"serial\":4,\"lineage\":\"l\",\"outputs\":{},\"resources\":[]}",
    );
    sandbox.gitlab.put_state(
        PROJECT,
        "dev-alice",
        b"{\r\n  \"version\": 4,\r\n  \"serial\": 5,\r\n  \"lineage\": \"l\"\r\n}\r\n",
    );
    sandbox
        .gitlab
        .put_state(PROJECT, "dev-alice", &doc(7, "seven"));
    let stored = sandbox.gitlab.versions(PROJECT, "dev-alice");

    let out = sandbox.tfw(&["state", "versions", "--json"]).run();
    out.success();
    let listed: Value = serde_json::from_str(&out.stdout).unwrap();
    let versions = listed["versions"].as_array().unwrap();
    let serials: Vec<u64> = versions
        .iter()
        .map(|v| v["serial"].as_u64().unwrap())
        .collect();
    assert_eq!(serials, [7, 5, 4, 3]);
    assert_eq!(listed["complete"], true);
    for version in versions {
        let serial = version["serial"].as_u64().unwrap();
        let bytes = &stored.iter().find(|(s, _)| *s == serial).unwrap().1;
        assert_eq!(version["sha256"].as_str().unwrap(), sha256(bytes));
        assert_eq!(version["size"].as_u64().unwrap(), bytes.len() as u64);

        let file = format!("v{serial}.tfstate");
        let pulled = sandbox
            .tfw(&[
                "state",
                "pull",
                "--serial",
                &serial.to_string(),
                "-o",
                &file,
            ])
            .run();
        pulled.success();
        assert_eq!(&std::fs::read(sandbox.path(&file)).unwrap(), bytes);
        assert_eq!(mode(&sandbox, &file), 0o600);
    }
    let out = sandbox
        .tfw(&["state", "pull", "dev-alice", "--serial", "5"])
        .run();
    out.success();
    assert_eq!(
        out.stdout.as_bytes(),
        &stored.iter().find(|(s, _)| *s == 5).unwrap().1[..]
    );
    let out = sandbox.tfw(&["state", "pull"]).run();
    out.success();
    assert_eq!(out.stdout.as_bytes(), &doc(7, "seven")[..]);

    sandbox
        .tfw(&["state", "pull", "--serial", "6"])
        .run()
        .code(1)
        .stderr_has("no version 6");
    let out = sandbox.tfw(&["state", "versions", "--limit", "2"]).run();
    out.success()
        .stdout_has("SHA256")
        .stderr_has("older versions may exist");
    assert_eq!(out.stdout.lines().count(), 3);
}

#[test]
fn show_masks_sensitive_outputs() {
    let sandbox = seeded();
    let state = json!({
        "version": 4, "terraform_version": "1.0.3", "serial": 8, "lineage": "lin-1",
        "outputs": {
            "db_password": { "value": "hunter2-very-secret", "type": "string", "sensitive": true },
            "url": { "value": "https://app.example.com", "type": "string" }
        },
        "resources": [
            { "mode": "managed", "type": "null_resource", "name": "a", "instances": [] },
            { "mode": "data", "type": "external", "name": "b", "instances": [] }
        ]
    });
    sandbox
        .gitlab
        .put_state(PROJECT, "staging", &serde_json::to_vec(&state).unwrap());
    lock_as(&sandbox, "staging", "bob", "x");
    let out = sandbox.tfw(&["state", "show", "staging"]).run();
    out.success()
        .stdout_has("lin-1")
        .stdout_has("(sensitive)")
        .stdout_has("https://app.example.com")
        .stdout_has("locked by bob")
        .stdout_has("protected")
        .lacks("hunter2");
    let out = sandbox.tfw(&["state", "show", "staging", "--json"]).run();
    out.success().lacks("hunter2");
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["serial"], 8);
    assert_eq!(
        (shown["resources"].as_u64(), shown["data_sources"].as_u64()),
        (Some(1), Some(1))
    );
    let outputs = shown["outputs"].as_array().unwrap();
    assert_eq!(
        outputs[0],
        json!({ "name": "db_password", "sensitive": true, "value": null })
    );
    sandbox
        .tfw(&["state", "show", "stagin"])
        .run()
        .code(1)
        .stderr_has("did you mean `staging`");
}

#[test]
fn prune_lists_stale_personal_states_and_deletes_only_when_told() {
    let sandbox = seeded();
    sandbox.gitlab.put_state(PROJECT, "dev-bob", &doc(1, "b"));
    sandbox.gitlab.put_state(PROJECT, "dev-carol", &doc(1, "c"));
    sandbox
        .gitlab
        .put_state(PROJECT, "dev-erin", &with_resource(1));
    sandbox.gitlab.put_state(PROJECT, "dev-frank", &doc(1, "f"));
    lock_as(&sandbox, "dev-frank", "frank", "in-use");

    // GitLab's member list decides who left: bob is an active member, carol and erin are
    // not members, frank's state is locked.
    let out = sandbox.tfw(&["state", "prune", "--older-than", "0s"]).run();
    out.success().stderr_has("dry run");
    let listed: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(listed, ["dev-carol", "dev-erin"]);
    out.stdout_has("not a project member");
    sandbox.gitlab.set_user_state("bob", "blocked");
    let out = sandbox.tfw(&["state", "prune", "--older-than", "0s"]).run();
    out.success().stdout_has("account blocked");
    sandbox.gitlab.set_user_state("bob", "active");

    let out = sandbox
        .tfw(&["state", "prune", "--older-than", "365d"])
        .run();
    out.success().stderr_has("no personal state");

    let out = sandbox
        .tfw(&["state", "prune", "--older-than", "0s", "--delete", "--yes"])
        .run();
    out.code(1)
        .stderr_has("not deleting `dev-erin`")
        .stderr_has("1 of 2");
    sandbox.gitlab.run_deletion_worker();
    let left = sandbox.gitlab.state_names(PROJECT);
    assert_eq!(
        left,
        [
            "dev-alice",
            "dev-bob",
            "dev-erin",
            "dev-frank",
            "prod",
            "staging"
        ]
    );
}

#[test]
fn api_failures_name_their_cause() {
    let sandbox = seeded();
    // One 5xx is retried.
    sandbox
        .gitlab
        .fault(Fault::status(Route::GraphQL, 502).times(1));
    sandbox.tfw(&["state", "list"]).run().success();

    sandbox.seed_env("alice", "glpat-wrong-0000000000000", "dev-alice");
    sandbox
        .tfw(&["state", "list"])
        .run()
        .code(1)
        .stderr_has("does not know the token")
        .lacks("glpat-wrong");

    sandbox.seed_env("dave", DAVE_TOKEN, "dev-dave");
    sandbox.gitlab.put_state(PROJECT, "dev-bob", &doc(1, "b"));
    sandbox
        .tfw(&["state", "delete", "dev-bob", "--yes"])
        .run()
        .code(1)
        .stderr_has("403")
        .stderr_has("your role in `group/infra` is Developer")
        .stderr_has("Maintainer");
    assert!(sandbox.gitlab.has_state(PROJECT, "dev-bob"));

    sandbox.seed_env("bob", BOB_TOKEN, "dev-bob");
    sandbox.gitlab.fault(Fault::status(Route::Versions, 500));
    sandbox
        .tfw(&["state", "versions"])
        .run()
        .code(1)
        .stderr_has("500");
}

#[test]
fn complete_states_prints_names_or_nothing() {
    let sandbox = seeded();
    // Filled as a first TAB's background refresh fills it (terminal_ui has the waits).
    sandbox
        .tfw(&["complete-states", "--refresh"])
        .run()
        .success();
    let out = sandbox.tfw(&["complete-states"]).run();
    out.success();
    assert_eq!(out.stdout, "dev-alice\nprod\nstaging\n");
    assert_eq!(out.stderr(), "");
    sandbox.seed_env("alice", "glpat-wrong-0000000000000", "dev-alice");
    std::fs::remove_file(sandbox.path(".tfw/complete-states.json")).unwrap();
    let refresh = sandbox.tfw(&["complete-states", "--refresh"]).run();
    refresh.success();
    assert_eq!((refresh.stdout.as_str(), refresh.stderr()), ("", ""));
    let out = sandbox.tfw(&["complete-states"]).run();
    out.success();
    assert_eq!((out.stdout.as_str(), out.stderr()), ("", ""));
    std::fs::remove_file(sandbox.path(".env")).unwrap();
    let out = sandbox.tfw(&["complete-states"]).run();
    out.success();
    assert_eq!((out.stdout.as_str(), out.stderr()), ("", ""));
}
