//! Issue 17, item 6: the shipped pipeline with `TFW_PIPELINE: roots` writes a child pipeline
//! with a plan job (and its merge-request report) and a manual apply job per changed root.
//! gitlab-ci-local runs no `trigger:` job, so the parent's generating job runs under it, and
//! the generated YAML is then run under it directly, as GitLab would run the child.

use base64::Engine;

use crate::ci::{assert_job, gitlab_ci_local_in, job_log, run_pipeline, shipped_pipeline};
use crate::support::{MAIN_TF, Sandbox, TFW, git, gitlab};

/// gitlab-ci-local's file name for a job (`plan:envs/prod`: every run of characters other
/// than letters, digits, `_` and `-` base64url-encoded).
fn safe(job: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in job.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            if !run.is_empty() {
                out.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&run));
                run.clear();
            }
            out.push(c);
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() {
        out.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&run));
    }
    out
}

/// `envs/prod` (protected) and `envs/staging` call `modules/net`; `envs/qa` calls nothing.
/// The shipped pipeline, committed on `main`; then a branch that changes `modules/net`.
fn infra() -> (Sandbox, String) {
    let sandbox = Sandbox::empty();
    let call = format!("{MAIN_TF}\nmodule \"net\" {{\n  source = \"../../modules/net\"\n}}\n");
    sandbox.write("envs/prod/main.tf", &call);
    sandbox.write("envs/staging/main.tf", &call);
    sandbox.write("envs/qa/main.tf", MAIN_TF);
    sandbox.write(
        "modules/net/main.tf",
        "output \"cidr\" {\n  value = \"a\"\n}\n",
    );
    sandbox.write("tfw.toml", "state = \"{root}\"\nprotected = [\"prod\"]\n");
    sandbox.write(".gitlab-ci.yml", shipped_pipeline());
    sandbox.write(
        ".gitignore",
        ".tfw/\n.terraform/\n.gitlab-ci-local/\nplan.json\n",
    );
    let dir = sandbox.dir.path();
    git(dir, &["init", "-q", "-b", "main"]);
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
    let main = git(dir, &["rev-parse", "HEAD"]).trim().to_string();
    git(dir, &["checkout", "-q", "-b", "feature"]);
    sandbox.write(
        "modules/net/main.tf",
        "output \"cidr\" {\n  value = \"b\"\n}\n",
    );
    git(dir, &["commit", "-q", "-am", "net"]);
    (sandbox, main)
}

#[test]
fn the_roots_pipeline_plans_each_changed_root_and_applies_each_by_hand() {
    let (sandbox, main) = infra();
    let out = run_pipeline(
        &sandbox,
        &["install-tfw", "roots-pipeline"],
        &[
            ("TFW_PIPELINE", "roots"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", &main),
        ],
    );
    out.success();
    assert_job(&out, "roots-pipeline", "PASS");
    let child = std::fs::read_to_string(
        sandbox.path(".gitlab-ci-local/artifacts/roots-pipeline/tfw-roots.yml"),
    )
    .unwrap_or_else(|e| panic!("no child pipeline: {e}\n{}", out.all()));
    assert!(
        child.contains("the roots this merge request changes"),
        "{child}"
    );
    for job in [
        "\"plan:envs/prod\":",
        "\"apply:envs/prod\":",
        "\"plan:envs/staging\":",
    ] {
        assert!(child.contains(job), "{job} missing:\n{child}");
    }
    assert!(!child.contains("envs/qa"), "qa did not change:\n{child}");
    // Only the protected root deploys to an environment GitLab can protect.
    assert_eq!(child.matches("environment:").count(), 1, "{child}");

    // The child pipeline itself, as GitLab would run it, on the default branch.
    let dir = sandbox.dir.path();
    git(dir, &["checkout", "-q", "main"]);
    git(dir, &["merge", "-q", "--ff-only", "feature"]);
    let kept: Vec<&str> = child
        .lines()
        .filter(|l| !l.trim_start().starts_with("image:"))
        .collect();
    sandbox.write(".gitlab-ci.yml", kept.join("\n") + "\n");
    git(dir, &["commit", "-q", "-am", "the child pipeline"]);
    // tfw comes from the parent's install-tfw job on GitLab (`needs: pipeline:`, which
    // gitlab-ci-local ignores): here it is on PATH.
    std::fs::copy(TFW, sandbox.bin.join("tfw")).unwrap();

    let mut list = gitlab_ci_local_in(&sandbox);
    list.arg("--list-json");
    let listed = crate::ci::finish(list);
    listed.success();
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&listed.stdout).unwrap();
    let when = |name: &str| {
        jobs.iter()
            .find(|j| j["name"] == name)
            .map(|j| j["when"].clone())
            .unwrap_or_else(|| panic!("no job {name}: {}", listed.stdout))
    };
    assert_eq!(when("plan:envs/staging"), "on_success");
    assert_eq!(when("apply:envs/staging"), "manual");

    let jobs = [
        "plan:envs/prod",
        "plan:envs/staging",
        "apply:envs/prod",
        "apply:envs/staging",
    ];
    let out = run_pipeline(&sandbox, &jobs, &[]);
    out.success();
    for job in jobs {
        assert_job(&out, job, "PASS");
        let log = job_log(&sandbox, &safe(job));
        assert!(!log.contains(gitlab::CI_JOB_TOKEN), "token in {job}'s log");
    }
    // One merge-request report per root, next to its saved plan.
    for root in ["prod", "staging"] {
        let artifacts = sandbox.path(&format!(
            ".gitlab-ci-local/artifacts/{}/envs/{root}",
            safe(&format!("plan:envs/{root}"))
        ));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(artifacts.join("plan.json")).unwrap()).unwrap();
        assert_eq!(
            report,
            serde_json::json!({"create": 0, "update": 0, "delete": 0})
        );
        assert!(
            artifacts
                .join(format!(".tfw/plans/{root}.tfplan"))
                .is_file()
        );
        let apply = job_log(&sandbox, &safe(&format!("apply:envs/{root}")));
        assert!(
            apply.contains(&format!("Using the saved plan for `{root}`")),
            "{apply}"
        );
        let state = sandbox.remote_state(root).expect("apply wrote the state");
        assert_eq!(state["outputs"]["greeting"]["value"], "hello");
    }
    // prod is protected: approved by the click (`--auto-approve`), said in its log.
    let prod = job_log(&sandbox, &safe("apply:envs/prod"));
    assert!(prod.contains("protected state `prod`"), "{prod}");
    assert!(sandbox.remote_state("qa").is_none());
}

#[test]
fn the_generator_picks_the_change_from_gitlabs_variables() {
    let (sandbox, main) = infra();
    let ci = |vars: &[(&str, &str)]| {
        let mut cmd = sandbox
            .tfw(&["ci", "pipeline"])
            .env("CI", "true")
            .env("CI_API_V4_URL", sandbox.gitlab.api_url())
            .env("CI_PROJECT_ID", gitlab::PROJECT_ID.to_string())
            .env("CI_JOB_TOKEN", gitlab::CI_JOB_TOKEN);
        for (key, value) in vars {
            cmd = cmd.env(key, value);
        }
        let out = cmd.run();
        out.success();
        out.stdout.clone()
    };
    // A push: since the commit before it.
    let push = ci(&[("CI_COMMIT_BEFORE_SHA", &main)]);
    assert!(push.contains("the roots this push changes"), "{push}");
    assert!(push.contains("plan:envs/staging") && !push.contains("envs/qa"));
    // A branch's first push (no commit before), or no variables: every root.
    let all = ci(&[(
        "CI_COMMIT_BEFORE_SHA",
        "0000000000000000000000000000000000000000",
    )]);
    assert!(all.contains("plan:envs/qa"), "{all}");
    // Nothing changed: one job saying so (GitLab refuses a child pipeline without jobs).
    let none = ci(&[("CI_COMMIT_BEFORE_SHA", "HEAD")]);
    assert!(none.contains("no-root-changed:"), "{none}");
    assert!(!none.contains("plan:"), "{none}");
}
