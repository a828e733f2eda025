//! Issue "Core": the day-one workflow against the real Terraform and the GitLab test server.

use std::os::unix::fs::PermissionsExt;

use crate::support::gitlab::{ALICE_TOKEN, BOB_TOKEN};
use crate::support::{MAIN_TF, Sandbox, files_below, unzipped};

fn output_value(sandbox: &Sandbox, state: &str, name: &str) -> Option<String> {
    let state = sandbox.remote_state(state)?;
    state["outputs"][name]["value"].as_str().map(str::to_string)
}

#[test]
fn init_plan_apply_destroy_with_the_seed_env() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["init"])
        .run()
        .success()
        .stderr_has("dev-alice");
    sandbox
        .tfw(&["plan"])
        .run()
        .success()
        .stderr_has("Plan for `dev-alice`");
    assert!(sandbox.path(".tfw/plans/dev-alice.tfplan").is_file());
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    assert_eq!(
        output_value(&sandbox, "dev-alice", "greeting").as_deref(),
        Some("hello")
    );
    // The state is stored under project 42 (`group/infra`), named exactly `dev-alice`.
    assert!(sandbox.gitlab.state("group/infra", "dev-alice").is_some());
    assert_eq!(
        sandbox.gitlab.state_names("42"),
        vec!["dev-alice".to_string()]
    );
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());

    sandbox.tfw(&["destroy", "--auto-approve"]).run().success();
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(state["outputs"], serde_json::json!({}));
    assert_eq!(state["resources"], serde_json::json!([]));
}

#[test]
fn short_form_env_derives_the_backend() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    sandbox.short_env("alice", ALICE_TOKEN, None);
    // No TF_STATE_NAME: the personal state dev-{username} is used.
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    assert_eq!(
        output_value(&sandbox, "dev-alice", "greeting").as_deref(),
        Some("hello")
    );
    let urls: Vec<String> = sandbox
        .gitlab
        .requests()
        .into_iter()
        .map(|r| r.url)
        .collect();
    assert!(
        urls.iter()
            .any(|u| u.contains("/projects/group%2Finfra/terraform/state/dev-alice")),
        "{urls:?}"
    );
}

#[test]
fn switching_state_in_env_touches_only_the_new_state() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let before = sandbox.gitlab.versions("42", "dev-alice");

    sandbox.seed_env("alice", ALICE_TOKEN, "feature-x");
    sandbox.gitlab.clear_requests();
    sandbox
        .tfw(&["plan"])
        .run()
        .success()
        .stderr_has("feature-x");
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    for request in sandbox.gitlab.requests() {
        assert!(
            !request.url.contains("dev-alice"),
            "touched the old state: {}",
            request.url
        );
    }
    assert_eq!(sandbox.gitlab.versions("42", "dev-alice"), before);
    assert_eq!(
        output_value(&sandbox, "feature-x", "greeting").as_deref(),
        Some("hello")
    );
}

#[test]
fn state_flag_overrides_for_one_command() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["--state", "team/dev.eu", "apply", "--auto-approve"])
        .run()
        .success();
    assert!(sandbox.gitlab.state("42", "team/dev.eu").is_some());
    assert!(sandbox.gitlab.state("42", "dev-alice").is_none());
    let urls: Vec<String> = sandbox
        .gitlab
        .requests()
        .into_iter()
        .map(|r| r.url)
        .collect();
    assert!(
        urls.iter().any(|u| u.contains("/state/team%2Fdev%2Eeu")),
        "{urls:?}"
    );
}

#[test]
fn detailed_exitcode_passes_through() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["plan", "--", "-detailed-exitcode"])
        .run()
        .code(2);
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox
        .tfw(&["plan", "--", "-detailed-exitcode"])
        .run()
        .code(0);
}

#[test]
fn extra_args_reach_terraform_unchanged() {
    let sandbox = Sandbox::new();
    sandbox.write("dev.tfvars", "greeting = \"from tfvars\"\n");
    sandbox
        .tfw(&["apply", "--auto-approve", "--", "-var-file=dev.tfvars"])
        .run()
        .success();
    assert_eq!(
        output_value(&sandbox, "dev-alice", "greeting").as_deref(),
        Some("from tfvars")
    );
}

/// `apply` plans and shows the plan first, then names the flag
/// (terminal_apply::apply_without_a_terminal_plans_shows_and_names_the_flag).
#[test]
fn without_a_terminal_destroy_refuses_at_once() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["destroy"])
        .run()
        .code(1)
        .stderr_has("--auto-approve")
        .stderr_has("no terminal");
    assert!(
        sandbox.gitlab.requests().is_empty(),
        "nothing may reach GitLab"
    );
    assert!(
        !sandbox.path(".terraform").exists(),
        "terraform must not have run"
    );
}

/// Records every argv terraform is started with, then runs the real binary.
fn recording_terraform(sandbox: &Sandbox) -> std::path::PathBuf {
    let log = sandbox.home.path().join("argv.log");
    sandbox.fake_binary(
        "terraform-recorder",
        &format!(
            "printf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"",
            log.display(),
            crate::support::terraform().display()
        ),
    )
}

#[test]
fn the_token_never_leaks() {
    let sandbox = Sandbox::new();
    let recorder = recording_terraform(&sandbox);
    let run = |args: &[&str], code: i32| {
        let out = sandbox.tfw(args).env("TFW_BINARY", &recorder).run();
        out.code(code);
        out
    };
    let mut outputs = vec![
        run(&["-v", "init"], 0),
        run(&["-v", "plan"], 0),
        run(&["-v", "apply", "--auto-approve"], 0),
        run(&["-v", "env"], 0),
        run(&["-v", "env", "--json"], 0),
        run(&["-v", "doctor"], 0),
        run(&["-v", "exec", "--", "output"], 0),
        run(&["-vv", "graph", "--format", "dot"], 0),
        run(&["-v", "destroy", "--auto-approve"], 0),
    ];
    // Error paths: a lock held by someone else, a bad token.
    sandbox.gitlab.set_lock(
        "42",
        "dev-alice",
        serde_json::json!({"ID":"x","Operation":"OperationTypeApply","Info":"","Who":"bob","Version":"1.0.3","Created":"2026-01-01T00:00:00Z","Path":""}),
    );
    outputs.push(run(&["-v", "plan"], 1));
    sandbox.gitlab.clear_lock("42", "dev-alice");
    outputs.push(
        sandbox
            .tfw(&["-v", "plan"])
            .env("TF_HTTP_PASSWORD", format!("{ALICE_TOKEN}-revoked"))
            .run(),
    );
    outputs.last().unwrap().code(1);
    for out in &outputs {
        out.lacks(ALICE_TOKEN);
    }
    let argv = std::fs::read_to_string(sandbox.home.path().join("argv.log")).unwrap();
    assert!(argv.contains("apply"), "the recorder saw the runs: {argv}");
    assert!(!argv.contains(ALICE_TOKEN), "token on argv: {argv}");
    assert!(!argv.contains("-backend-config"), "{argv}");
    for file in files_below(&sandbox.path(".terraform"))
        .into_iter()
        .chain(files_below(&sandbox.path(".tfw")))
    {
        if file.components().any(|c| c.as_os_str() == "providers") {
            continue;
        }
        let bytes = std::fs::read(&file).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(ALICE_TOKEN), "token in {}", file.display());
    }
}

#[test]
fn saved_plan_files_hold_no_token() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["plan"]).run().success();
    let plan = std::fs::read(sandbox.path(".tfw/plans/dev-alice.tfplan")).unwrap();
    let members = unzipped(&sandbox.path(".tfw/plans/dev-alice.tfplan"));
    assert!(!members.is_empty());
    for haystack in [&plan, &members] {
        assert!(!String::from_utf8_lossy(haystack).contains(ALICE_TOKEN));
    }
}

#[test]
fn persisted_backend_config_is_warned_about_and_removed() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["init"]).run().success();
    // Someone once ran `terraform init -backend-config=password=...`.
    let path = sandbox.path(".terraform/terraform.tfstate");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    value["backend"]["config"]["password"] = serde_json::json!(BOB_TOKEN);
    std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();

    sandbox
        .tfw(&["plan"])
        .run()
        .success()
        .stderr_has("override")
        .stderr_has("password was stored on disk")
        .lacks(BOB_TOKEN);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(BOB_TOKEN));
}

#[test]
fn shell_export_that_disagrees_with_env_is_reported() {
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["env"])
        .env("TF_STATE_NAME", "prod")
        .run()
        .success()
        .stderr_has("`TF_STATE_NAME` is `prod` in your shell but `dev-alice` in .env")
        .stderr_has("unset TF_STATE_NAME");
}

#[test]
fn env_shows_origins_and_masks_secrets() {
    let sandbox = Sandbox::new();
    let out = sandbox.tfw(&["env"]).run();
    out.success()
        .stdout_has("dev-alice")
        .stdout_has(".env:3")
        .stdout_has("****")
        .lacks(ALICE_TOKEN)
        .lacks("bPxRfiCYEXAMPLEKEY");
    let json = sandbox.tfw(&["env", "--json"]).run();
    json.success();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["state"]["value"], "dev-alice");
    assert_eq!(value["password"]["value"], "****");
    assert_eq!(value["state"]["origin"]["kind"], "dot-env");
}

#[test]
fn graph_writes_svg_without_graphviz() {
    let sandbox = Sandbox::new();
    assert!(which_dot_absent(&sandbox));
    sandbox.tfw(&["graph"]).run().success();
    let svg = sandbox.read("graph.svg");
    let doc = roxmltree::Document::parse(&svg).expect("graph.svg is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert!(svg.contains("output.greeting"), "{svg}");
    sandbox
        .tfw(&["graph", "--format", "dot", "-o", "-"])
        .run()
        .success()
        .stdout_has("digraph");
}

fn which_dot_absent(sandbox: &Sandbox) -> bool {
    // The sandbox PATH is its own bin, /usr/bin and /bin.
    !sandbox.bin.join("dot").exists()
        && !std::path::Path::new("/usr/bin/dot").exists()
        && !std::path::Path::new("/bin/dot").exists()
}

#[test]
fn tfw_binary_names_the_binary_that_runs() {
    let sandbox = Sandbox::new();
    let tofu = sandbox.home.path().join("opt/tofu");
    std::fs::create_dir_all(tofu.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(crate::support::terraform(), &tofu).unwrap();
    let log = sandbox.home.path().join("ran");
    // A `tofu`-named wrapper proves which program was executed.
    let wrapper = sandbox.home.path().join("opt/bin/tofu");
    std::fs::create_dir_all(wrapper.parent().unwrap()).unwrap();
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$0 $1\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            tofu.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    sandbox
        .tfw(&["plan"])
        .env("TFW_BINARY", &wrapper)
        .run()
        .success();
    let ran = std::fs::read_to_string(&log).unwrap();
    assert!(
        ran.contains(&format!("{} plan", wrapper.display())),
        "{ran}"
    );
    let meta = sandbox.read(".tfw/plans/dev-alice.json");
    assert!(meta.contains("opt/bin/tofu"), "{meta}");
    sandbox
        .tfw(&["env"])
        .env("TFW_BINARY", &wrapper)
        .run()
        .success()
        .stdout_has("opt/bin/tofu")
        .stdout_has("TFW_BINARY");
}

#[test]
fn tofu_on_path_is_preferred_and_pins_are_checked() {
    let sandbox = Sandbox::new();
    std::os::unix::fs::symlink(crate::support::terraform(), sandbox.bin.join("tofu")).unwrap();
    sandbox.tfw(&["env"]).run().success().stdout_has("bin/tofu");
    sandbox.write(".terraform-version", "1.5.7\n");
    sandbox
        .tfw(&["plan"])
        .run()
        .code(1)
        .stderr_has("does not satisfy the version pin `1.5.7`")
        .stderr_has(".terraform-version");
    sandbox.write(".terraform-version", "1.0.3\n");
    sandbox
        .tfw(&["env"])
        .run()
        .success()
        .stdout_has("bin/terraform");
    sandbox.write("tfw.toml", "version = \"~> 1.0\"\n");
    sandbox.tfw(&["plan"]).run().success();
}

#[test]
fn chdir_and_env_file_flags() {
    let sandbox = Sandbox::empty();
    sandbox.write("infra/main.tf", MAIN_TF);
    let text = sandbox.seed_env_text("alice", ALICE_TOKEN, "dev-alice");
    sandbox.write("infra/alice.env", text);
    sandbox
        .tfw(&[
            "-C",
            "infra",
            "--env-file",
            "alice.env",
            "apply",
            "--auto-approve",
        ])
        .run()
        .success();
    assert!(sandbox.gitlab.state("42", "dev-alice").is_some());
}

#[test]
fn fmt_check_reports_unformatted_files() {
    let sandbox = Sandbox::new();
    sandbox.write("extra.tf", "locals {\n  a=1\n}\n");
    sandbox
        .tfw(&["fmt", "--check"])
        .run()
        .code(3)
        .stdout_has("extra.tf");
    sandbox.tfw(&["fmt"]).run().success();
    sandbox.tfw(&["fmt", "--check"]).run().success();
    assert_eq!(sandbox.read("extra.tf"), "locals {\n  a = 1\n}\n");
}

#[test]
fn validate_needs_no_credentials() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    sandbox
        .tfw(&["validate"])
        .run()
        .success()
        .stdout_has("The configuration is valid");
    sandbox.write("broken.tf", "output \"x\" {\n  value = var.missing\n}\n");
    sandbox
        .tfw(&["validate"])
        .run()
        .code(1)
        .stderr_has("undeclared input variable");
}

#[test]
fn clean_removes_working_files_only() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["plan"]).run().success();
    sandbox.tfw(&["graph"]).run().success();
    sandbox.write("crash.log", "boom");
    sandbox.write(".env.tfw-tmp-abc123", "left by a kill");
    sandbox.write(".terraform.lock.hcl", "# lock");
    sandbox.write(".tfw/backups/dev-alice/0000000001-x.tfstate", "{}");
    let dry = sandbox.tfw(&["clean", "--dry-run"]).run();
    dry.success()
        .stdout_has(".terraform")
        .stdout_has("crash.log")
        .stdout_has("graph.svg");
    assert!(sandbox.path(".terraform").exists());
    sandbox.tfw(&["clean"]).run().success();
    for gone in [
        ".terraform",
        ".tfw/plans",
        "crash.log",
        "graph.svg",
        ".env.tfw-tmp-abc123",
    ] {
        assert!(!sandbox.path(gone).exists(), "{gone} should be removed");
    }
    for kept in [
        ".env",
        ".terraform.lock.hcl",
        ".tfw/backups/dev-alice/0000000001-x.tfstate",
        "main.tf",
    ] {
        assert!(sandbox.path(kept).exists(), "{kept} must be kept");
    }
    // Everything comes back with the next command.
    sandbox.tfw(&["plan"]).run().success();
}

#[test]
fn doctor_reports_every_problem_at_once() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", "terraform {\n  backend \"s3\" {}\n}\n");
    sandbox.write(".env", "TF_HTTP_USERNAME=alice\nTF_HTTP_PASWORD=x\n");
    let out = sandbox.tfw(&["doctor"]).run();
    out.code(1)
        .stderr_has("did you mean `TF_HTTP_PASSWORD`")
        .stderr_has("another backend than \"http\"")
        .stderr_has("main.tf:2");
    let sandbox = Sandbox::new();
    sandbox
        .tfw(&["doctor"])
        .run()
        .success()
        .stderr_has("All checks passed");
    sandbox
        .tfw(&["doctor", "--json"])
        .run()
        .success()
        .stdout_has("\"ok\": true");
}

#[test]
fn doctor_in_the_shipped_example_explains_what_is_missing() {
    let sandbox = Sandbox::empty();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let out = sandbox
        .tfw(&["-C", example.to_str().unwrap(), "doctor", "--offline"])
        .run();
    out.code(1)
        .stderr_has(".env` does not exist")
        .stderr_has("env.example");
}

#[test]
fn apply_exit_code_of_a_failing_terraform_passes_through() {
    let sandbox = Sandbox::new();
    sandbox.write("bad.tf", "output \"x\" {\n  value = tonumber(\"abc\")\n}\n");
    let out = sandbox.tfw(&["apply", "--auto-approve"]).run();
    out.code(1).stderr_has("Invalid function argument");
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
}
