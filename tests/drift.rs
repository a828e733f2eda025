//! Issue 19 item 2 (in part): `tfw drift` with the real Terraform 1.0.3: a refresh-only plan
//! without the lock, read back with `show -json`. Terraform without providers cannot make a
//! resource drift offline, so the drift shown here is in an output (the parsing of
//! `resource_drift` is a unit test in `src/states/drift.rs`).

use serde_json::Value;

use crate::support::Sandbox;
use crate::support::gitlab::DAVE_TOKEN;

#[test]
fn in_sync_then_drifted_without_taking_the_lock() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let out = sandbox.tfw(&["drift"]).run();
    out.success().stdout_has("`dev-alice`: in sync");
    // The output's value now differs from what the state holds.
    sandbox.write(
        "main.tf",
        crate::support::MAIN_TF.replace("default = \"hello\"", "default = \"bye\""),
    );
    sandbox.gitlab.clear_requests();
    let out = sandbox.tfw(&["drift"]).run();
    out.code(2)
        .stdout_has("`dev-alice`: DRIFTED (0 resource(s), 1 output(s))")
        .stdout_has("  ~ greeting: \"hello\" -> \"bye\"");
    let locks: Vec<String> = sandbox
        .gitlab
        .requests()
        .iter()
        .filter(|r| {
            r.path().ends_with("/lock")
                || r.method == "POST" && r.path().contains("/terraform/state/")
        })
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    assert_eq!(
        locks,
        Vec::<String>::new(),
        "drift neither locks nor writes"
    );
    let out = sandbox.tfw(&["drift", "--json"]).run();
    out.code(2);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], "drifted");
    assert_eq!(report["outputs"][0]["path"], "greeting");
    assert!(
        !sandbox.path(".tfw/drift/dev-alice.tfplan").exists(),
        "the drift plan is removed"
    );
    // A Developer's token (read-only) is enough.
    sandbox.seed_env("dave", DAVE_TOKEN, "dev-alice");
    let out = sandbox.tfw(&["drift"]).run();
    out.code(2).stdout_has("DRIFTED");
}
