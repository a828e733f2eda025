//! Issue 4, states like kubectx: `tfw use` (list, pick, switch, go back), against the GitLab
//! test server with the real tfw binary (and the real Terraform where a switch must be felt).
//! The fixtures here are shared with `states_admin.rs` (`tfw state unlock|delete|restore|...`).

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::Sandbox;

pub(crate) const PROJECT: &str = "42";

/// A Terraform 1.0.3 state document with one string output `greeting`.
pub(crate) fn doc(serial: u64, greeting: &str) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "version": 4,
        "terraform_version": "1.0.3",
        "serial": serial,
        "lineage": "5c1d7b4e-0000-4000-8000-000000000001",
        "outputs": { "greeting": { "value": greeting, "type": "string" } },
        "resources": [],
    }))
    .unwrap()
}

pub(crate) fn with_resource(serial: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": 4,
        "terraform_version": "1.0.3",
        "serial": serial,
        "lineage": "5c1d7b4e-0000-4000-8000-000000000002",
        "outputs": {},
        "resources": [{ "mode": "managed", "type": "null_resource", "name": "x",
                        "provider": "provider[\"registry.terraform.io/hashicorp/null\"]",
                        "instances": [{ "attributes": { "id": "1" } }] }],
    }))
    .unwrap()
}

pub(crate) fn seeded() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .put_state(PROJECT, "dev-alice", &doc(3, "from dev-alice"));
    sandbox
        .gitlab
        .put_state(PROJECT, "staging", &doc(7, "from staging"));
    sandbox
        .gitlab
        .put_state(PROJECT, "prod", &doc(12, "from prod"));
    sandbox
}

pub(crate) fn lock_as(sandbox: &Sandbox, state: &str, who: &str, id: &str) {
    sandbox.gitlab.set_lock(
        PROJECT,
        state,
        json!({ "ID": id, "Who": who, "Operation": "OperationTypeApply" }),
    );
}

pub(crate) fn mode(sandbox: &Sandbox, relative: &str) -> u32 {
    std::fs::metadata(sandbox.path(relative))
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// The backup files tfw keeps for `state`.
pub(crate) fn backups(sandbox: &Sandbox, state: &str) -> Vec<std::path::PathBuf> {
    let folder = sandbox.path(&format!(".tfw/backups/{state}"));
    let entries = std::fs::read_dir(folder).map(|d| d.map(|e| e.unwrap().path()).collect());
    entries.unwrap_or_default()
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn line_of<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| {
            l.get(2..)
                .is_some_and(|rest| rest.split_whitespace().next() == Some(name))
        })
        .unwrap_or_else(|| panic!("no line for {name} in\n{text}"))
}

// Acceptance 1.
#[test]
fn use_without_a_terminal_lists_marks_the_current_state_and_shows_lock_holders() {
    let sandbox = seeded();
    lock_as(&sandbox, "prod", "bob", "bob-lock");
    let out = sandbox.tfw(&["use"]).run();
    out.success();
    assert!(
        line_of(&out.stdout, "dev-alice").starts_with("* dev-alice"),
        "{}",
        out.stdout
    );
    assert!(line_of(&out.stdout, "staging").starts_with("  staging"));
    let prod = line_of(&out.stdout, "prod");
    assert!(prod.contains("bob"), "{prod}");
    assert!(prod.contains("12"), "{prod}");
    assert!(!line_of(&out.stdout, "staging").contains("bob"));
    assert!(out.stdout.lines().next().unwrap().contains("LOCK"));
    // The same listing for scripts, with a documented schema.
    let out = sandbox.tfw(&["state", "list", "--json"]).run();
    out.success();
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev-alice", "prod", "staging"]);
    assert_eq!(rows[0]["current"], true);
    assert_eq!(rows[0]["personal"], true);
    assert_eq!(rows[1]["lock"]["holder"], "bob");
    assert_eq!(rows[1]["protected"], true);
    assert_eq!(rows[1]["serial"], 12);
    assert_eq!(rows[2]["lock"], Value::Null);
}

#[test]
fn the_current_state_is_marked_even_before_gitlab_has_it() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(PROJECT, "staging", &doc(1, "x"));
    let out = sandbox.tfw(&["use"]).run();
    out.success();
    let line = line_of(&out.stdout, "dev-alice");
    assert!(
        line.starts_with("* ") && line.contains("not on GitLab yet"),
        "{line}"
    );
}

// Acceptance 2, with the seed's format (address built from `${TF_STATE_NAME}`).
#[test]
fn use_then_use_dash_round_trips_env_byte_for_byte() {
    let sandbox = seeded();
    let before = std::fs::read(sandbox.path(".env")).unwrap();
    let out = sandbox.tfw(&["use", "staging"]).run();
    out.success()
        .stderr_has("switched to state staging")
        .stderr_has("PROTECTED");
    let after = sandbox.read(".env");
    let original = String::from_utf8(before.clone()).unwrap();
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        [(
            "export TF_STATE_NAME=\"dev-alice\"",
            "export TF_STATE_NAME=\"staging\""
        )]
    );
    assert_eq!(original.lines().count(), after.lines().count());
    assert_eq!(mode(&sandbox, ".env"), 0o600);
    assert_eq!(sandbox.read(".tfw/previous-state"), "dev-alice\n");

    let out = sandbox.tfw(&["state", "show", "--json"]).run();
    out.success();
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (shown["name"].as_str(), shown["current"].as_bool()),
        (Some("staging"), Some(true))
    );

    sandbox
        .tfw(&["use", "-"])
        .run()
        .success()
        .stderr_has("switched to state dev-alice");
    assert_eq!(std::fs::read(sandbox.path(".env")).unwrap(), before);
    assert_eq!(mode(&sandbox, ".env"), 0o600);
    // And `-` toggles, like `cd -`.
    sandbox.tfw(&["use", "-"]).run().success();
    assert!(sandbox.read(".env").contains("TF_STATE_NAME=\"staging\""));
}

// Acceptance 2, with the short format, CRLF line ends, comments and mixed quoting.
#[test]
fn use_keeps_comments_quoting_export_and_crlf_of_the_short_format() {
    let sandbox = seeded();
    let text = format!(
        "# mine\r\nGITLAB_URL={}\r\nexport GITLAB_PROJECT='group/infra'\r\nTF_HTTP_USERNAME=alice\r\nTF_HTTP_PASSWORD=\"{}\"\r\nTF_STATE_NAME=dev-alice # my own\r\n\r\n# end\r\n",
        sandbox.gitlab.url(),
        crate::support::gitlab::ALICE_TOKEN
    );
    sandbox.write(".env", &text);
    std::fs::set_permissions(sandbox.path(".env"), std::fs::Permissions::from_mode(0o640)).unwrap();
    sandbox
        .tfw(&["use", "prod"])
        .run()
        .success()
        .stderr_has("PROTECTED");
    assert_eq!(
        sandbox.read(".env"),
        text.replace("TF_STATE_NAME=dev-alice #", "TF_STATE_NAME=prod #")
    );
    assert_eq!(mode(&sandbox, ".env"), 0o640);
    sandbox.tfw(&["use", "-"]).run().success();
    assert_eq!(sandbox.read(".env"), text);
}

// Switching never needs a manual re-init, and never offers to copy a state.
#[test]
fn terraform_follows_a_switch_without_a_manual_init() {
    let sandbox = seeded();
    let out = sandbox
        .tfw(&["exec", "--", "output", "-raw", "greeting"])
        .run();
    out.success();
    // The first run initialises (its output comes first); the value is the last line.
    assert_eq!(out.stdout.lines().last(), Some("from dev-alice"));
    sandbox.tfw(&["use", "staging"]).run().success();
    let out = sandbox
        .tfw(&["exec", "--", "output", "-raw", "greeting"])
        .run();
    out.success()
        .lacks("migrate")
        .lacks("copy")
        .stdout_has("Successfully configured");
    assert_eq!(out.stdout.lines().last(), Some("from staging"));
    assert_eq!(sandbox.remote_state("dev-alice").unwrap()["serial"], 3);
}

#[test]
fn a_state_name_in_the_shell_is_reported_loudly() {
    let sandbox = seeded();
    let out = sandbox
        .tfw(&["use", "staging"])
        .env("TF_STATE_NAME", "dev-alice")
        .run();
    out.success().stderr_has("unset TF_STATE_NAME");
    assert!(sandbox.read(".env").contains("TF_STATE_NAME=\"staging\""));
}

#[test]
fn an_unknown_state_is_a_typo_until_said_otherwise() {
    let sandbox = seeded();
    let before = sandbox.read(".env");
    let out = sandbox.tfw(&["use", "stagign"]).run();
    out.code(1)
        .stderr_has("GitLab has no state `stagign`")
        .stderr_has("tfw use staging");
    assert_eq!(sandbox.read(".env"), before);
    sandbox.tfw(&["use", "feature-x", "--new"]).run().success();
    assert!(sandbox.read(".env").contains("TF_STATE_NAME=\"feature-x\""));
    // Going back to your own state needs no `--new`, even before GitLab has it.
    sandbox.gitlab.put_state(PROJECT, "feature-x", &doc(1, "x"));
    sandbox.tfw(&["use", "dev-alice"]).run().success();
    sandbox
        .tfw(&["use", "dev-alice"])
        .run()
        .success()
        .stderr_has("already on state `dev-alice`");
}

#[test]
fn use_dash_without_history_says_so() {
    let sandbox = seeded();
    sandbox
        .tfw(&["use", "-"])
        .run()
        .code(1)
        .stderr_has("no previous state");
}

// Acceptance 3.
#[test]
fn the_picker_selects_a_state_by_typing_part_of_its_name() {
    use expectrl::Expect;
    let sandbox = seeded();
    let command = sandbox.tfw(&["use"]).env("TERM", "xterm").command;
    let mut session = expectrl::Session::spawn(command).expect("spawn tfw in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session
        .expect("type to filter")
        .expect("the picker appears");
    // Keys are read in order: the filter sees "stag" before Enter picks its best match.
    session.send("stag").unwrap();
    session.send("\r").unwrap();
    session
        .expect("switched to state")
        .expect("tfw confirms the switch");
    session.expect(expectrl::Eof).unwrap();
    let status = session.get_process().wait().unwrap();
    assert!(
        matches!(status, expectrl::process::unix::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
    assert!(sandbox.read(".env").contains("TF_STATE_NAME=\"staging\""));
}
