//! Issue 19 items 1 and 6: `tfw state diff` and `tfw state history` against the versions the
//! GitLab test server keeps (`GET …/versions/:serial`), a local backup, and a plan saved by the
//! real Terraform; sensitive values never printed; missing or unreadable versions as rows.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::Sandbox;

const PROJECT: &str = "42";
const LINEAGE: &str = "5c1d7b4e-0000-4000-8000-0000000000aa";

/// A version-4 state with the given resources (`(name, attributes)`) and outputs.
fn state(serial: u64, resources: &[(&str, Value)], outputs: Value) -> Vec<u8> {
    let resources: Vec<Value> = resources
        .iter()
        .map(|(name, attributes)| {
            json!({ "mode": "managed", "type": "null_resource", "name": name,
                    "provider": "provider[\"registry.terraform.io/hashicorp/null\"]",
                    "instances": [{ "schema_version": 0, "attributes": attributes,
                        "sensitive_attributes": [[{ "type": "get_attr", "value": "conn" },
                                                  { "type": "get_attr", "value": "pass" }]] }] })
        })
        .collect();
    serde_json::to_vec_pretty(&json!({
        "version": 4, "terraform_version": "1.0.3", "serial": serial, "lineage": LINEAGE,
        "outputs": outputs, "resources": resources,
    }))
    .unwrap()
}

/// staging 6 -> 7: `a` changes (a plain and a sensitive attribute), `b` goes, `c` comes, one
/// plain and one sensitive output change.
fn seeded() -> Sandbox {
    let sandbox = Sandbox::new();
    let v6 = state(
        6,
        &[
            (
                "a",
                json!({ "id": "1", "size": 1, "conn": { "user": "app", "pass": "hunter2-old" }, "api_token": "tok-old" }),
            ),
            ("b", json!({ "id": "2" })),
        ],
        json!({ "url": { "value": "https://old", "type": "string" },
                "db_password": { "value": "pw-old-secret", "type": "string", "sensitive": true } }),
    );
    let v7 = state(
        7,
        &[
            (
                "a",
                json!({ "id": "1", "size": 2, "conn": { "user": "app", "pass": "hunter2-new" }, "api_token": "tok-new" }),
            ),
            ("c", json!({ "id": "3" })),
        ],
        json!({ "url": { "value": "https://new", "type": "string" },
                "db_password": { "value": "pw-new-secret", "type": "string", "sensitive": true } }),
    );
    sandbox.gitlab.put_state(PROJECT, "staging", &v6);
    sandbox.gitlab.put_state(PROJECT, "staging", &v7);
    sandbox
}

const SECRETS: &[&str] = &[
    "hunter2",
    "tok-old",
    "tok-new",
    "pw-old-secret",
    "pw-new-secret",
];

#[test]
fn diff_of_the_two_latest_versions_masks_secrets() {
    let sandbox = seeded();
    let out = sandbox.tfw(&["state", "diff", "staging"]).run();
    out.success();
    for secret in SECRETS {
        out.lacks(secret);
    }
    let text = &out.stdout;
    assert!(
        text.starts_with("`staging`: version 6 -> version 7 (latest)\nserial   6 -> 7\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("lineage  {LINEAGE} (same)")),
        "{text}"
    );
    for line in [
        "+ null_resource.c",
        "- null_resource.b",
        "~ null_resource.a",
        "    ~ api_token: (sensitive) changed",
        "    ~ conn.pass: (sensitive) changed",
        "    ~ size: 1 -> 2",
        "  ~ db_password: (sensitive) changed",
        "  ~ url: \"https://old\" -> \"https://new\"",
        "1 added, 1 removed, 1 changed; 2 output(s) changed",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    assert!(
        !text.contains("conn.user"),
        "unchanged attributes are not listed"
    );

    let out = sandbox.tfw(&["state", "diff", "staging", "--json"]).run();
    out.success();
    for secret in SECRETS {
        out.lacks(secret);
    }
    let diff: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(diff["name"], "staging");
    assert_eq!(
        (diff["from"]["serial"].clone(), diff["to"]["serial"].clone()),
        (json!(6), json!(7))
    );
    assert_eq!(diff["from"]["kind"], "version");
    assert_eq!(diff["lineage_changed"], false);
    assert_eq!(diff["resources"]["added"], json!(["null_resource.c"]));
    assert_eq!(diff["resources"]["removed"], json!(["null_resource.b"]));
    let changed = &diff["resources"]["changed"][0];
    assert_eq!(changed["address"], "null_resource.a");
    let attributes: Vec<Value> = changed["attributes"].as_array().unwrap().clone();
    assert_eq!(
        attributes[2],
        json!({ "path": "size", "change": "changed", "sensitive": false, "from": 1, "to": 2 })
    );
    assert_eq!(
        attributes[1],
        json!({ "path": "conn.pass", "change": "changed", "sensitive": true, "from": null, "to": null })
    );
    assert_eq!(diff["outputs"][0]["path"], "db_password");
    assert_eq!(diff["outputs"][0]["sensitive"], true);
}

#[test]
fn diff_names_versions_by_serial_and_says_which_one_is_missing() {
    let sandbox = seeded();
    // The current state is dev-alice: `--state` or a name picks staging.
    let out = sandbox
        .tfw(&["--state", "staging", "state", "diff", "7", "6"])
        .run();
    out.success()
        .stdout_has("`staging`: version 7 -> version 6\n");
    let out = sandbox.tfw(&["state", "diff", "staging", "3", "7"]).run();
    out.code(1)
        .stderr_has("error: GitLab has no version 3 of state `staging`")
        .stderr_has("`tfw state history staging`");
    let out = sandbox.tfw(&["state", "diff", "staging", "six"]).run();
    out.code(1).stderr_has("`six` is not a version to compare");
    // A version whose JSON does not parse is named as such.
    sandbox
        .gitlab
        .put_state(PROJECT, "staging", br#"{"serial": 8, "broken": true}"#);
    let out = sandbox.tfw(&["state", "diff", "staging"]).run();
    out.code(1)
        .stderr_has("the latest version of `staging` is not a state tfw can read");
}

#[test]
fn diff_against_a_backup_finds_the_state_from_its_folder_and_flags_another_lineage() {
    let sandbox = seeded();
    let mut backup: Value = serde_json::from_slice(&state(
        5,
        &[("a", json!({ "id": "1", "size": 1 }))],
        json!({}),
    ))
    .unwrap();
    backup["lineage"] = json!("another-lineage");
    let path = ".tfw/backups/staging/0000000005-20240101T000000Z.tfstate";
    sandbox.write(path, serde_json::to_vec(&backup).unwrap());
    let out = sandbox.tfw(&["state", "diff", path]).run();
    out.success()
        .stdout_has(&format!("`staging`: backup {path} -> version 7 (latest)"))
        .stdout_has("NOT the same state history")
        .stdout_has("+ null_resource.c");
    let out = sandbox.tfw(&["state", "diff", path, "--json"]).run();
    out.success();
    let diff: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(diff["from"]["kind"], "backup");
    assert_eq!(diff["lineage_changed"], true);
}

#[test]
fn diff_against_the_saved_plan_made_by_real_terraform() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox
        .tfw(&["plan", "--", "-var", "greeting=bye"])
        .run()
        .success();
    let out = sandbox.tfw(&["state", "diff", "plan"]).run();
    out.success()
        .stdout_has("(latest) -> saved plan (")
        .stdout_has("  ~ greeting: \"hello\" -> \"bye\"");
    let out = sandbox
        .tfw(&["state", "diff", "--state", "staging", "plan"])
        .run();
    out.code(1)
        .stderr_has("there is no saved plan for `staging`");
    // A plan for a state GitLab does not have yet is all additions.
    sandbox.tfw(&["use", "--new", "dev-new"]).run().success();
    sandbox.tfw(&["plan"]).run().success();
    let out = sandbox.tfw(&["state", "diff", "plan"]).run();
    out.success()
        .stdout_has("`dev-new`: no state yet -> saved plan (")
        .stdout_has("  + greeting = \"hello\"");
}

#[test]
fn history_lists_versions_with_their_changes_and_reports_gaps_as_rows() {
    let sandbox = seeded();
    sandbox
        .gitlab
        .put_state(PROJECT, "staging", &state(3, &[], json!({})));
    sandbox
        .gitlab
        .put_state(PROJECT, "staging", br#"{"serial": 4, "not": "a state"}"#);
    // 5 is missing (deleted, or a restore's jump).
    let out = sandbox.tfw(&["state", "history", "staging"]).run();
    out.code(3)
        .stderr_has("some versions could not be read")
        .lacks("hunter2");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["SERIAL", "RESOURCES", "CHANGES"]
    );
    assert!(
        lines[1].contains(
            "+1 -1 ~1, outputs ~2: + null_resource.c, - null_resource.b, ~ null_resource.a"
        ),
        "{}",
        out.stdout
    );
    assert!(
        lines[2].contains(
            "+2 -0 ~0, outputs ~2: + null_resource.a, + null_resource.b (since version 3)"
        ),
        "{}",
        out.stdout
    );
    assert!(
        lines[3].trim_start().starts_with("5")
            && lines[3].contains("missing: GitLab has no version 5"),
        "{}",
        out.stdout
    );
    assert!(
        lines[4].contains("unreadable: not a state document"),
        "{}",
        out.stdout
    );
    assert!(
        lines[5].contains("first version") || lines[5].contains("no older version"),
        "{}",
        out.stdout
    );

    let out = sandbox
        .tfw(&["state", "history", "staging", "--json"])
        .run();
    out.code(3);
    let history: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(history["partial"], true);
    assert_eq!(history["latest_serial"], 7);
    let statuses: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "ok", "missing", "unreadable", "ok"]);
    assert_eq!(history["versions"][0]["resources"], 2);
    assert_eq!(history["versions"][0]["against"], 6);
    assert_eq!(history["versions"][1]["against"], 3);
}

#[test]
fn history_of_a_clean_state_exits_0_and_limit_cuts_it() {
    let sandbox = seeded();
    let out = sandbox
        .tfw(&["state", "history", "staging", "--json"])
        .run();
    out.success();
    let history: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(history["partial"], false);
    assert_eq!(history["complete"], true);
    assert_eq!(history["versions"].as_array().unwrap().len(), 2);
    let out = sandbox
        .tfw(&["state", "history", "staging", "--limit", "1", "--json"])
        .run();
    out.success();
    let history: Value = serde_json::from_str(&out.stdout).unwrap();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    // The version before the one shown still says what it changed.
    assert_eq!(versions[0]["against"], 6);
    assert_eq!(versions[0]["changes"]["added"], json!(["null_resource.c"]));
}
