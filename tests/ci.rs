//! GitLab CI: the shipped pipeline (`templates/gitlab-ci.yml`) run for real by gitlab-ci-local
//! with the shell executor against the GitLab test server, and tfw's CI mode on its own: the
//! backend from GitLab's predefined variables, apply of the saved plan only, no prompt and no
//! colour.
//!
//! What the pipeline test cannot show: a plan with resources. Terraform 1.0.3 has no built-in
//! managed resource and no provider can be downloaded here, so the pipeline's plan has output
//! changes only and its report is `0/0/0`; the counting itself is unit-tested on real
//! `show -json` output in `src/plans/tests.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use expectrl::{Eof, Expect};

use crate::support::gitlab::{self, Role};
use crate::support::{Cmd, MAIN_TF, Out, Sandbox, TFW, git, wait_with_output};

/// gitlab-ci-local, as `scripts/install-ci-tools` installs it (`scripts/test` runs the script
/// first and passes the path in `TFW_GITLAB_CI_LOCAL`).
fn gitlab_ci_local() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = match std::env::var_os("TFW_GITLAB_CI_LOCAL") {
            Some(path) => PathBuf::from(path),
            None => {
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-ci-tools");
                let output = Command::new("bash")
                    .arg(script)
                    .stderr(Stdio::inherit())
                    .output()
                    .expect("run scripts/install-ci-tools");
                assert!(
                    output.status.success(),
                    "gitlab-ci-local could not be installed, so the shipped pipeline cannot be run: \
                     scripts/install-ci-tools failed (it needs rsync from apt-get and gitlab-ci-local \
                     from npm; its messages are above)"
                );
                PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
            }
        };
        assert!(
            path.is_file(),
            "gitlab-ci-local is not at {} (TFW_GITLAB_CI_LOCAL or scripts/install-ci-tools)",
            path.display()
        );
        path
    })
}

/// A root module and no `.env`, as a CI job checks it out.
pub(crate) fn ci_sandbox() -> Sandbox {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    sandbox
}

/// `tfw ARGS` as a GitLab job runs it: `CI=true` and the predefined variables, pointing at
/// the test server, whose seeded job token acts as the Maintainer `ci-bot`.
fn ci_tfw(sandbox: &Sandbox, args: &[&str]) -> Cmd {
    sandbox
        .tfw(args)
        .env("CI", "true")
        .env("CI_API_V4_URL", sandbox.gitlab.api_url())
        .env("CI_PROJECT_ID", gitlab::PROJECT_ID.to_string())
        .env("CI_JOB_TOKEN", gitlab::CI_JOB_TOKEN)
}

#[track_caller]
fn assert_no_ansi(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}'),
        "{what}: ANSI escape in CI-mode output\n{}",
        text.replace('\u{1b}', "<ESC>")
    );
}

/// The shipped template as the repository's `.gitlab-ci.yml`, minus its `image:` lines:
/// gitlab-ci-local runs any job that names an image in Docker (not here), while a real GitLab
/// shell runner ignores `image:`. Nothing else is changed.
pub(crate) fn shipped_pipeline() -> String {
    let template = include_str!("../templates/gitlab-ci.yml");
    let kept: Vec<&str> = template
        .lines()
        .filter(|line| !line.trim_start().starts_with("image:"))
        .collect();
    assert_eq!(
        template.lines().count() - kept.len(),
        2,
        "expected the template to name exactly two images (terraform jobs, install job)"
    );
    kept.join("\n") + "\n"
}

/// A git repository (gitlab-ci-local reads the branch and remote from git and copies only
/// tracked files into each job's directory) holding the module and the shipped pipeline.
pub(crate) fn pipeline_repo(sandbox: &Sandbox) {
    sandbox.write(".gitlab-ci.yml", shipped_pipeline());
    sandbox.write(".gitignore", ".tfw/\n.terraform/\n.gitlab-ci-local/\n");
    let dir = sandbox.dir.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "CI Test"]);
    git(dir, &["config", "user.email", "ci-test@example.com"]);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/group/infra.git",
        ],
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "infrastructure"]);
}

/// Runs these jobs of the pipeline with gitlab-ci-local's shell executor, each job in its own
/// copy of the repository (`--shell-isolation`) so the plan reaches apply only as an artifact.
/// tfw is not on PATH: the install job downloads the test build and checks its SHA-256.
pub(crate) fn run_pipeline(sandbox: &Sandbox, jobs: &[&str], extra: &[(&str, &str)]) -> Out {
    run_pipeline_with(sandbox, Path::new(TFW), jobs, extra)
}

/// As `run_pipeline`, with this binary as the release the install job downloads.
pub(crate) fn run_pipeline_with(
    sandbox: &Sandbox,
    tfw: &Path,
    jobs: &[&str],
    extra: &[(&str, &str)],
) -> Out {
    // A copy, as a release would be: cargo may rebuild the test binary meanwhile.
    let release = sandbox.home.path().join("tfw-release");
    std::fs::copy(tfw, &release).unwrap();
    let binary = std::fs::read(&release).unwrap();
    let mut variables = vec![
        ("CI_API_V4_URL".to_string(), sandbox.gitlab.api_url()),
        ("CI_PROJECT_ID".to_string(), gitlab::PROJECT_ID.to_string()),
        ("CI_JOB_TOKEN".to_string(), gitlab::CI_JOB_TOKEN.to_string()),
        (
            "TFW_DOWNLOAD_URL".to_string(),
            format!("file://{}", release.display()),
        ),
        ("TFW_SHA256".to_string(), tfw::fsutil::sha256_hex(&binary)),
    ];
    variables.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut command = gitlab_ci_local_in(sandbox);
    command.args([
        "--shell-isolation",
        "--no-artifacts-to-source",
        "--concurrency",
        "2",
    ]);
    for (key, value) in &variables {
        command.arg("--variable").arg(format!("{key}={value}"));
    }
    command.args(jobs);
    finish(command)
}

/// gitlab-ci-local in the sandbox's repository, with its home and state inside the sandbox.
pub(crate) fn gitlab_ci_local_in(sandbox: &Sandbox) -> Command {
    let mut command = Command::new(gitlab_ci_local());
    command
        .current_dir(sandbox.dir.path())
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", sandbox.bin.display()),
        )
        .env("HOME", sandbox.home.path())
        .env("CHECKPOINT_DISABLE", "1")
        .env("FORCE_COLOR", "0")
        .arg("--home")
        .arg(sandbox.home.path());
    command
}

pub(crate) fn finish(mut command: Command) -> Out {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("start gitlab-ci-local");
    wait_with_output(child, Duration::from_secs(300))
}

/// The jobs a pipeline on the current branch would have, by name: (when, allow_failure).
fn listed_jobs(sandbox: &Sandbox) -> serde_json::Map<String, serde_json::Value> {
    let mut command = gitlab_ci_local_in(sandbox);
    command.arg("--list-json");
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

/// One job's log as gitlab-ci-local kept it.
pub(crate) fn job_log(sandbox: &Sandbox, job: &str) -> String {
    std::fs::read_to_string(sandbox.path(&format!(".gitlab-ci-local/output/{job}.log")))
        .unwrap_or_else(|err| panic!("no log for job {job}: {err}"))
}

#[track_caller]
pub(crate) fn assert_job(out: &Out, job: &str, result: &str) {
    let found = out.stdout.lines().any(|line| {
        line.trim_start().starts_with(result) && line.split_whitespace().nth(1) == Some(job)
    });
    assert!(
        found,
        "job {job} is not {result}\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout,
        out.stderr()
    );
}

#[test]
fn shipped_pipeline_plans_and_the_manual_apply_applies_the_plan_artifact() {
    let sandbox = ci_sandbox();
    pipeline_repo(&sandbox);
    let jobs = ["install-tfw", "fmt", "validate", "plan", "apply"];
    let out = run_pipeline(&sandbox, &jobs, &[]);
    out.success();
    for job in jobs {
        assert_job(&out, job, "PASS");
        let log = job_log(&sandbox, job);
        assert_no_ansi(job, &log);
        assert!(
            !log.contains(gitlab::CI_JOB_TOKEN),
            "the job token leaked into the {job} log"
        );
    }
    assert!(job_log(&sandbox, "install-tfw").contains(".tfw-bin/tfw: OK"));

    // The plan job's artifacts: the saved plan for the CI state and the MR-widget report.
    let artifacts = sandbox.path(".gitlab-ci-local/artifacts/plan");
    assert!(artifacts.join(".tfw/plans/gitlab-ci.tfplan").is_file());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(artifacts.join("plan.json")).unwrap()).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"create": 0, "update": 0, "delete": 0})
    );

    // apply used that artifact (CI apply refuses to plan again), and wrote with the job token.
    let apply = job_log(&sandbox, "apply");
    assert!(
        apply.contains("Using the saved plan for `gitlab-ci`"),
        "{apply}"
    );
    assert!(apply.contains("Apply complete!"), "{apply}");
    let state = sandbox
        .remote_state("gitlab-ci")
        .expect("apply wrote the state");
    assert_eq!(state["outputs"]["greeting"]["value"], "hello");
    let requests = sandbox.gitlab.requests();
    let job_auth = gitlab::basic_auth(gitlab::CI_JOB_USERNAME, gitlab::CI_JOB_TOKEN);
    for request in &requests {
        assert_eq!(
            request.user.as_deref(),
            Some(gitlab::CI_BOT),
            "{} {}",
            request.method,
            request.url
        );
        assert_eq!(request.header("authorization"), Some(job_auth.as_str()));
    }
    let writes: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path().ends_with("/terraform/state/gitlab-ci"))
        .collect();
    assert_eq!(writes.len(), 1, "only apply writes the state");
    assert_eq!(writes[0].status, 200);
}

#[test]
fn shipped_pipeline_applies_only_by_hand_on_the_default_branch() {
    let sandbox = ci_sandbox();
    pipeline_repo(&sandbox);
    let jobs = listed_jobs(&sandbox);
    let on_success = serde_json::json!(["on_success", false]);
    for job in ["install-tfw", "fmt", "validate", "plan"] {
        assert_eq!(jobs[job], on_success, "{job}");
    }
    assert_eq!(jobs["apply"], serde_json::json!(["manual", false]));
    // A newer template is a warning; drift (3) and errors (1) fail.
    assert_eq!(
        jobs["template-sync"],
        serde_json::json!(["on_success", {"exit_codes": [2]}])
    );

    git(sandbox.dir.path(), &["checkout", "-q", "-b", "feature"]);
    let jobs = listed_jobs(&sandbox);
    assert_eq!(jobs["plan"], on_success, "branches and merge requests plan");
    assert_eq!(jobs["apply"][0], "never", "only the default branch applies");
}

#[test]
fn shipped_pipeline_fails_on_format_and_never_applies_without_the_plan_artifact() {
    let sandbox = ci_sandbox();
    // A local module that needs `tfw fmt`: the check looks into subdirectories too.
    sandbox.write("modules/net/main.tf", "output   \"x\"   {\nvalue = 1\n}\n");
    pipeline_repo(&sandbox);
    // Not `plan`: apply gets no saved plan and must not make one of its own.
    let out = run_pipeline(
        &sandbox,
        &["install-tfw", "fmt", "apply"],
        &[("TF_STATE_NAME", "ci/prod")],
    );
    out.code(1);
    assert_job(&out, "fmt", "FAIL");
    let fmt = job_log(&sandbox, "fmt");
    assert!(fmt.contains("modules/net/main.tf"), "{fmt}");
    assert!(fmt.contains("run `tfw fmt` to format these files"), "{fmt}");

    assert_job(&out, "apply", "FAIL");
    let apply = job_log(&sandbox, "apply");
    assert!(
        apply.contains("no saved plan for state `ci/prod`"),
        "{apply}"
    );
    assert!(apply.contains("--replan"), "{apply}");
    assert!(!sandbox.gitlab.has_state("42", "ci/prod"));
}

#[test]
fn ci_apply_of_an_unsaved_plan_without_auto_approve_fails_fast() {
    let sandbox = ci_sandbox();
    let out = ci_tfw(&sandbox, &["apply"]).run();
    out.code(1)
        .stderr_has("error: no saved plan for state `gitlab-ci` and no `--auto-approve`")
        .stderr_has("`tfw apply --auto-approve`")
        .stderr_has("--replan");
    assert_no_ansi("apply", &out.all());
    // Decided before terraform or the network: nothing ran, nothing was asked.
    assert!(sandbox.gitlab.requests().is_empty());
    assert!(!sandbox.path(".terraform").exists());
}

#[test]
fn ci_apply_takes_only_the_saved_plan() {
    let sandbox = ci_sandbox();
    ci_tfw(&sandbox, &["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("no saved plan for state `gitlab-ci`: in CI, `tfw apply` applies only the plan saved by `tfw plan` in an earlier job");
    ci_tfw(
        &sandbox,
        &["apply", "--auto-approve", "--", "-var=greeting=other"],
    )
    .run()
    .code(1)
    .stderr_has("extra terraform arguments need a new plan");
    assert!(!sandbox.gitlab.has_state("42", "gitlab-ci"));

    ci_tfw(&sandbox, &["plan"]).run().success();
    // A saved plan exists: without a terminal the flag is all that is missing.
    ci_tfw(&sandbox, &["apply"])
        .run()
        .code(1)
        .stderr_has("`tfw apply` needs a confirmation")
        .stderr_has("--auto-approve");
    ci_tfw(&sandbox, &["apply", "--auto-approve"])
        .run()
        .success()
        .stderr_has("Using the saved plan for `gitlab-ci`");
    assert_eq!(
        sandbox.remote_state("gitlab-ci").unwrap()["outputs"]["greeting"]["value"],
        "hello"
    );

    // --replan: plan and apply in one job, still without asking anyone.
    ci_tfw(
        &sandbox,
        &[
            "apply",
            "--replan",
            "--auto-approve",
            "--",
            "-var=greeting=replanned",
        ],
    )
    .run()
    .success();
    assert_eq!(
        sandbox.remote_state("gitlab-ci").unwrap()["outputs"]["greeting"]["value"],
        "replanned"
    );
}

#[test]
fn ci_backend_comes_from_the_predefined_variables() {
    let sandbox = ci_sandbox();
    let out = ci_tfw(&sandbox, &["env", "--json"]).run();
    out.success().lacks(gitlab::CI_JOB_TOKEN);
    let env: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(env["ci"], true);
    assert_eq!(env["state"]["value"], "gitlab-ci");
    assert_eq!(env["username"]["value"], gitlab::CI_JOB_USERNAME);
    assert_eq!(env["password"]["value"], "****");
    assert_eq!(env["address"], sandbox.gitlab.state_url("42", "gitlab-ci"));

    // The state name is URL-encoded into the address; tfw.toml's ci_state is the default.
    sandbox.write("tfw.toml", "ci_state = \"ci/main\"\n");
    let out = ci_tfw(&sandbox, &["env", "--json"]).run();
    out.success();
    let env: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(env["state"]["value"], "ci/main");
    assert_eq!(env["address"], sandbox.gitlab.state_url("42", "ci/main"));
    let out = ci_tfw(&sandbox, &["env", "--json"])
        .env("TF_STATE_NAME", "review-7")
        .run();
    out.success();
    let env: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(env["state"]["value"], "review-7");
}

#[test]
fn ci_says_when_tf_http_password_replaces_the_job_token() {
    let sandbox = ci_sandbox();
    let out = ci_tfw(&sandbox, &["plan"])
        .env("TF_HTTP_PASSWORD", gitlab::ALICE_TOKEN)
        .run();
    out.success()
        .stderr_has(
            "using `TF_HTTP_PASSWORD` (from environment) as the GitLab token, not `CI_JOB_TOKEN`",
        )
        .lacks(gitlab::ALICE_TOKEN);
    let lock = sandbox
        .gitlab
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path().ends_with("/lock"))
        .expect("plan takes the lock");
    assert_eq!(lock.user.as_deref(), Some(gitlab::ALICE));

    // The job token itself, set explicitly (as GitLab's docs show), is no override.
    ci_tfw(&sandbox, &["plan"])
        .env("TF_HTTP_PASSWORD", gitlab::CI_JOB_TOKEN)
        .run()
        .success()
        .lacks("TF_HTTP_PASSWORD");

    // Without the override, the job token is used and nothing is said about it.
    sandbox.gitlab.clear_requests();
    let out = ci_tfw(&sandbox, &["plan"]).run();
    out.success().lacks("TF_HTTP_PASSWORD");
    assert!(
        sandbox
            .gitlab
            .requests()
            .iter()
            .all(|r| r.user.as_deref() == Some(gitlab::CI_BOT))
    );
}

#[test]
fn ci_job_token_of_a_developer_plans_but_cannot_apply() {
    let sandbox = ci_sandbox();
    sandbox
        .gitlab
        .add_job_token("ci-dev-token-0123456789", gitlab::DAVE, Role::Developer);
    let tfw = |args: &[&str]| ci_tfw(&sandbox, args).env("CI_JOB_TOKEN", "ci-dev-token-0123456789");
    tfw(&["plan"]).run().success().stderr_has("-lock=false");
    tfw(&["apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("Maintainer");
    assert!(
        sandbox.remote_state("gitlab-ci").is_none(),
        "a Developer cannot write state"
    );
}

#[test]
fn ci_destroy_needs_auto_approve_and_allow_protected() {
    let sandbox = ci_sandbox();
    ci_tfw(&sandbox, &["--state", "prod", "plan"])
        .run()
        .success();
    ci_tfw(&sandbox, &["--state", "prod", "apply", "--auto-approve"])
        .run()
        .success();
    sandbox.gitlab.clear_requests();

    ci_tfw(&sandbox, &["--state", "prod", "destroy", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("`prod` is a protected state")
        .stderr_has("--allow-protected");
    ci_tfw(
        &sandbox,
        &["--state", "prod", "destroy", "--allow-protected"],
    )
    .run()
    .code(1)
    .stderr_has("needs a confirmation")
    .stderr_has("--auto-approve");
    assert!(
        sandbox.gitlab.requests().is_empty(),
        "refused before anything reached GitLab"
    );

    ci_tfw(
        &sandbox,
        &[
            "--state",
            "prod",
            "destroy",
            "--allow-protected",
            "--auto-approve",
        ],
    )
    .run()
    .success();
    let state = sandbox.remote_state("prod").unwrap();
    assert_eq!(state["outputs"], serde_json::json!({}));
}

#[test]
fn ci_terraform_runs_without_input_and_in_automation_mode() {
    // Terraform cannot show its own environment: a stand-in prints what it was given.
    let script = "echo 'Terraform v1.0.3'\n\
                  echo \"args=$* input=$TF_INPUT automation=$TF_IN_AUTOMATION user=$TF_HTTP_USERNAME password=$TF_HTTP_PASSWORD\"";
    let sandbox = ci_sandbox();
    let fake = sandbox.fake_binary("terraform-env", script);
    ci_tfw(&sandbox, &["exec", "--", "version"])
        .env("TFW_BINARY", &fake)
        .run()
        .success()
        .stdout_has("input=0 automation=1 user=gitlab-ci-token password=****")
        .lacks(gitlab::CI_JOB_TOKEN);
    ci_tfw(&sandbox, &["fmt", "--check"])
        .env("TFW_BINARY", &fake)
        .run()
        .success()
        .stdout_has("args=fmt -check -diff -no-color");

    // No terminal but no CI either (a developer's script): terraform must not ask either.
    let sandbox = Sandbox::new();
    let fake = sandbox.fake_binary("terraform-env", script);
    sandbox
        .tfw(&["exec", "--", "version"])
        .env("TFW_BINARY", &fake)
        .run()
        .success()
        .stdout_has("input=0 automation=1");
}

/// Runs tfw in a terminal and returns everything it printed.
fn in_terminal(cmd: Cmd) -> String {
    let mut session = expectrl::Session::spawn(cmd.command).expect("spawn in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(120)));
    let found = session.expect(Eof).expect("tfw finished");
    String::from_utf8_lossy(found.as_bytes()).into_owned()
}

#[test]
fn ci_mode_output_has_no_ansi_escapes() {
    let sandbox = ci_sandbox();
    sandbox.write("badfmt/main.tf", "output   \"x\"   {\nvalue = 1\n}\n");
    sandbox.write(
        "invalid/main.tf",
        "output \"x\" {\n  value = var.missing\n}\n",
    );

    // The same failing validate on a terminal outside CI is coloured: the check can see colour.
    let coloured = in_terminal(sandbox.tfw(&["-C", "invalid", "validate"]));
    assert!(
        coloured.contains('\u{1b}'),
        "expected colour outside CI: {coloured}"
    );

    // Each with the exit code it ends with in this sandbox (the refusals exit 1).
    let commands: &[(&[&str], i32)] = &[
        (&["-C", "badfmt", "fmt", "--check"], 3),
        (&["-C", "invalid", "validate"], 1),
        (&["validate"], 0),
        (&["plan", "--json", "plan.json"], 0),
        (&["apply"], 1),
        (&["apply", "--auto-approve"], 1),
        (&["exec", "--", "plan"], 0),
        (&["exec", "--", "state", "list"], 0),
        (&["env"], 0),
        (&["doctor"], 0),
        (&["--state", "prod", "destroy", "--auto-approve"], 1),
        (&["state", "list"], 1),
    ];
    for &(args, code) in commands {
        // In CI on a terminal (some runners allocate one) and through pipes, as usual.
        let text = in_terminal(ci_tfw(&sandbox, args));
        assert_no_ansi(&format!("tfw {} (terminal)", args.join(" ")), &text);
        let out = ci_tfw(&sandbox, args).run();
        out.code(code);
        assert_no_ansi(&format!("tfw {} (pipes)", args.join(" ")), &out.all());
    }
    // --non-interactive is CI mode too, even on a terminal and without `CI`.
    let text = in_terminal(sandbox.tfw(&["--non-interactive", "-C", "invalid", "validate"]));
    assert_no_ansi("tfw --non-interactive validate (terminal)", &text);
}

#[test]
fn ci_job_token_cannot_list_states_and_says_which_token_would() {
    let sandbox = ci_sandbox();
    let out = ci_tfw(&sandbox, &["state", "list"]).run();
    out.code(1)
        .stderr_has("does not accept CI's job token")
        .stderr_has("project access token")
        .lacks(gitlab::CI_JOB_TOKEN);
}

/// Terraform 1.0.3 has no built-in resource and no provider can be downloaded here, so a real
/// plan cannot create anything: a stand-in prints what terraform prints for a plan with
/// creates, updates, deletes and a replace, and the report must count it as GitLab does.
#[test]
fn plan_report_counts_creates_updates_and_deletes() {
    let sandbox = ci_sandbox();
    let stand_in = sandbox.fake_binary(
        "terraform-with-resources",
        r#"case "$1" in
  version) echo "Terraform v1.0.3"; echo "on linux_amd64" ;;
  init) mkdir -p .terraform && echo '{"version":3,"backend":{"type":"http","config":{}}}' > .terraform/terraform.tfstate ;;
  plan)
    for arg in "$@"; do case "$arg" in -out=*) echo plan > "${arg#-out=}" ;; esac; done
    case " $* " in
      *" -json "*) echo '{"@level":"info","@message":"Plan: 3 to add, 1 to change, 2 to destroy.","type":"change_summary","changes":{"add":3,"change":1,"remove":2,"operation":"plan"}}' ;;
      *) echo '  # aws_s3_bucket.logs must be replaced'
         echo 'Plan: 3 to add, 1 to change, 2 to destroy.' ;;
    esac ;;
esac"#,
    );
    for extra in [&[][..], &["--", "-json"][..]] {
        let mut args = vec!["plan", "--json", "plan.json"];
        args.extend_from_slice(extra);
        ci_tfw(&sandbox, &args)
            .env("TFW_BINARY", &stand_in)
            .run()
            .success();
        let report: serde_json::Value = serde_json::from_str(&sandbox.read("plan.json")).unwrap();
        assert_eq!(
            report,
            serde_json::json!({"create": 3, "update": 1, "delete": 2}),
            "with {extra:?}"
        );
    }
}
