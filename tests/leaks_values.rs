//! The hostile audit (tests/leaks.rs), continued: secrets that neither their key nor their
//! shape marked, inside other values (a URL's password, a secret variable set in
//! `TF_CLI_ARGS_plan`), and the drift report file `tfw --all drift` leaves in each root
//! (`.tfw/drift/report.json`).

use crate::leaks::{all_forms, assert_clean, sandbox};
use crate::support::{MAIN_TF, Sandbox};

const URL_PASSWORD: &str = "LEAKurl-pw/4e9a";
const CLI_TOKEN: &str = "LEAKcli-tok-7c1d";

/// terraform inherits both and prints the variable in its plan; `-v` shows its environment.
#[test]
fn credentials_inside_other_values_are_masked() {
    let sandbox = sandbox(&format!(
        "{MAIN_TF}variable \"api_token\" {{}}\noutput \"api\" {{\n  value = var.api_token\n}}\n"
    ));
    let mut env = sandbox.read(".env");
    env.push_str(&format!(
        "DATABASE_URL=postgres://app:{}@db/app\nTF_CLI_ARGS_plan=-var=api_token={CLI_TOKEN}\n",
        URL_PASSWORD.replace('/', "%2F")
    ));
    sandbox.write(".env", env);
    let mut forms = all_forms();
    forms.extend([
        URL_PASSWORD.to_string(),
        URL_PASSWORD.replace('/', "%2F"),
        CLI_TOKEN.to_string(),
    ]);
    let out = sandbox.tfw(&["-v", "plan"]).run();
    out.success()
        .stderr_has("env DATABASE_URL=postgres://app:****@db/app")
        .stderr_has("env TF_CLI_ARGS_plan=-var=api_token=****");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("+ api ") && l.ends_with("= \"****\"")),
        "{}",
        out.stdout
    );
    assert_clean("-v plan", &out.all(), &forms);
    let out = sandbox.tfw(&["env"]).run();
    out.success();
    assert_clean("env", &out.all(), &forms);
}

/// Drifted values terraform does not know as `sensitive` are secrets all the same: the report
/// is built from terraform's `show -json` as tfw captured it, masked, so the file holds
/// `****` too (already so before this audit: this holds it).
#[test]
fn the_drift_report_file_holds_no_secret() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    // The seed `.env`'s AWS secret key, now the output's value: the state no longer matches.
    let secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    sandbox.write(
        "main.tf",
        MAIN_TF.replace("default = \"hello\"", &format!("default = \"{secret}\"")),
    );
    let out = sandbox
        .tfw(&[
            "drift",
            "--listed",
            "--report-file",
            ".tfw/drift/report.json",
        ])
        .run();
    out.code(2).stdout_has("DRIFTED").lacks(secret);
    let report = sandbox.read(".tfw/drift/report.json");
    assert!(!report.contains(secret), "{report}");
    assert!(report.contains("****"), "{report}");
    serde_json::from_str::<serde_json::Value>(&report).expect("still JSON");
}
