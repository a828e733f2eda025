//! One repository, one folder per environment: `tfw.toml` and `.env` found by walking up to
//! the repository root, so `tfw -C envs/prod` (and CI's `TF_ROOT`) keeps the repository's
//! protections; `.env` values merged with each one's file and line.

use crate::support::{MAIN_TF, Sandbox, git, gitlab};

/// A git repository with `envs/prod` and `envs/staging` roots and no `.env` yet.
fn repo() -> Sandbox {
    let sandbox = Sandbox::empty();
    git(sandbox.dir.path(), &["init", "-q"]);
    sandbox.write(".gitignore", ".env\n.terraform/\n.tfw/\n");
    sandbox.write("envs/prod/main.tf", MAIN_TF);
    sandbox.write("envs/staging/main.tf", MAIN_TF);
    sandbox
}

fn ci(sandbox: &Sandbox, args: &[&str]) -> crate::support::Cmd {
    sandbox
        .tfw(args)
        .env("CI", "true")
        .env("CI_API_V4_URL", sandbox.gitlab.api_url())
        .env("CI_PROJECT_ID", gitlab::PROJECT_ID.to_string())
        .env("CI_JOB_TOKEN", gitlab::CI_JOB_TOKEN)
}

fn env_json(out: &crate::support::Out) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()))
}

#[test]
fn protections_at_the_repository_root_hold_under_chdir() {
    let sandbox = repo();
    sandbox.write("tfw.toml", "protected = [\"live-*\"]\n");
    let env = sandbox.seed_env_text("alice", gitlab::ALICE_TOKEN, "dev-alice");
    sandbox.write("envs/prod/.env", env);
    sandbox.gitlab.clear_requests();
    sandbox
        .tfw(&[
            "-C",
            "envs/prod",
            "--state",
            "live-eu",
            "destroy",
            "--auto-approve",
        ])
        .run()
        .code(1)
        .stderr_has("`live-eu` is a protected state")
        .stderr_has("--allow-protected");
    assert!(
        sandbox.gitlab.requests().is_empty(),
        "the refusal must come before anything reaches GitLab"
    );
    assert!(sandbox.gitlab.state("42", "live-eu").is_none());

    // A nested tfw.toml may protect more, never less.
    sandbox.write("envs/prod/tfw.toml", "protected = [\"eu-*\"]\n");
    for state in ["live-eu", "eu-west"] {
        let out = sandbox
            .tfw(&["-C", "envs/prod", "--state", state, "env", "--json"])
            .run();
        out.success();
        assert_eq!(env_json(&out)["protected"], true, "{state}: {}", out.all());
    }
    let out = sandbox
        .tfw(&["-C", "envs/staging", "--state", "eu-west", "env", "--json"])
        .run();
    out.code(1);
    assert_eq!(env_json(&out)["protected"], false, "{}", out.all());
}

/// A sub-folder's file (or a `[roots]` table) replacing the defaults would unprotect `prod`
/// for that root alone: only the repository root's file may.
#[test]
fn a_nested_tfw_toml_never_drops_the_default_protections() {
    let sandbox = repo();
    let env = sandbox.seed_env_text("alice", gitlab::ALICE_TOKEN, "dev-alice");
    sandbox.write("envs/prod/.env", env);
    let protected = |state: &str| {
        let out = sandbox
            .tfw(&["-C", "envs/prod", "--state", state, "env", "--json"])
            .run();
        let _ = out.status();
        env_json(&out)["protected"].clone()
    };
    for nested in ["protected = []\n", "protected = [\"dev-shared\"]\n"] {
        sandbox.write("envs/prod/tfw.toml", nested);
        assert_eq!(protected("prod"), true, "{nested}");
        assert_eq!(protected("staging-eu"), true, "{nested}");
    }
    assert_eq!(protected("dev-shared"), true);
    sandbox.write("envs/prod/tfw.toml", "");
    sandbox.write("tfw.toml", "[roots.\"envs/prod\"]\nprotected = []\n");
    assert_eq!(protected("prod"), true);
    // The repository's own file still replaces them, as documented.
    sandbox.write("tfw.toml", "protected = [\"live-*\"]\n");
    assert_eq!(protected("prod"), false);
    assert_eq!(protected("live-eu"), true);
}

#[test]
fn ci_keeps_the_repository_rules_whatever_tf_root_is() {
    let sandbox = repo();
    sandbox.write(
        "tfw.toml",
        "protected = [\"live-*\"]\nci_state = \"live-ci\"\n\n[roots.\"envs/staging\"]\nci_state = \"staging-ci\"\n",
    );
    sandbox.gitlab.clear_requests();
    ci(&sandbox, &["-C", "envs/prod", "destroy", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("`live-ci` is a protected state");
    assert!(sandbox.gitlab.requests().is_empty());

    // The root's own table wins over the file's top level, for that root only.
    let out = ci(&sandbox, &["-C", "envs/staging", "env", "--json"]).run();
    out.success();
    assert_eq!(
        env_json(&out)["state"]["value"],
        "staging-ci",
        "{}",
        out.all()
    );
    let out = ci(&sandbox, &["-C", "envs/prod", "env", "--json"]).run();
    out.success();
    assert_eq!(env_json(&out)["state"]["value"], "live-ci", "{}", out.all());
    assert_eq!(env_json(&out)["protected"], true);
}

#[test]
fn dotenv_values_merge_with_their_file_and_line() {
    let sandbox = repo();
    sandbox.write(
        ".env",
        format!(
            "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={}\nAWS_PROFILE=shared\n",
            sandbox.gitlab.url(),
            gitlab::ALICE_TOKEN
        ),
    );
    sandbox.write(
        "envs/prod/.env",
        "# prod's own\nTF_STATE_NAME=dev-alice-prod\nAWS_PROFILE=prod\n",
    );
    let root = std::fs::canonicalize(sandbox.dir.path()).unwrap();
    let shared = format!("{}:", root.join(".env").display());
    let own = format!("{}:", sandbox.path("envs/prod/.env").display());

    let out = sandbox.tfw(&["-C", "envs/prod", "env"]).run();
    out.success()
        .stdout_has("dev-alice-prod")
        .stdout_has(&format!("{own}2"))
        .stdout_has(&format!("{shared}1"))
        .stdout_has(&format!("{shared}3"))
        .lacks(gitlab::ALICE_TOKEN);
    let line = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} in {}", out.stdout))
            .to_string()
    };
    assert!(
        line("AWS_PROFILE").contains("prod  ("),
        "{}",
        line("AWS_PROFILE")
    );
    assert!(line("AWS_PROFILE").contains(&format!("{own}3")));
    assert!(line("GITLAB_URL").contains(&format!("{shared}1")));

    let json = env_json(
        sandbox
            .tfw(&["-C", "envs/prod", "env", "--json"])
            .run()
            .success(),
    );
    assert_eq!(json["username"]["origin"]["line"], 3);
    assert_eq!(
        json["username"]["origin"]["file"],
        root.join(".env").display().to_string()
    );
    assert_eq!(json["state"]["from"], format!("{own}2"));

    // The merged settings reach terraform: a plan works from the folder alone.
    sandbox
        .tfw(&["-C", "envs/prod", "plan"])
        .run()
        .success()
        .stderr_has("Plan for `dev-alice-prod`");
    // `tfw use` edits the root's own file, never the shared one.
    let before = sandbox.read(".env");
    sandbox
        .tfw(&["-C", "envs/prod", "use", "--new", "dev-alice-other"])
        .run()
        .success();
    assert_eq!(sandbox.read(".env"), before);
    assert!(
        sandbox
            .read("envs/prod/.env")
            .contains("TF_STATE_NAME=dev-alice-other")
    );
}

#[test]
fn outside_a_repository_no_parent_env_is_read() {
    let sandbox = Sandbox::empty();
    sandbox.write("envs/prod/main.tf", MAIN_TF);
    sandbox.write(".env", "TF_STATE_NAME=from-above\n");
    let out = sandbox.tfw(&["-C", "envs/prod", "env", "--json"]).run();
    out.code(1);
    assert!(!out.stdout.contains("from-above"), "{}", out.all());
}

#[test]
fn a_bad_key_in_a_roots_table_names_its_file_and_line() {
    let sandbox = repo();
    sandbox.write(
        "tfw.toml",
        "protected = [\"live-*\"]\n\n[roots.\"envs/prod\"]\nci_state = \"x\"\nprotect = [\"x\"]\n",
    );
    let root = std::fs::canonicalize(sandbox.dir.path()).unwrap();
    sandbox
        .tfw(&["-C", "envs/prod", "env"])
        .run()
        .code(1)
        .stderr_has(&format!("{}:5", root.join("tfw.toml").display()))
        .stderr_has("unknown field `protect`");
    sandbox.write("tfw.toml", "backups_keep = \"many\"\n");
    sandbox
        .tfw(&["-C", "envs/prod", "env"])
        .run()
        .code(1)
        .stderr_has(&format!("{}:1", root.join("tfw.toml").display()))
        .stderr_has("invalid type");
}

/// The shared `.env` at the repository root: GitLab, project and alice's token.
fn shared_env(sandbox: &Sandbox) {
    sandbox.write(
        ".env",
        format!(
            "GITLAB_URL={}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={}\n",
            sandbox.gitlab.url(),
            gitlab::ALICE_TOKEN
        ),
    );
}

#[test]
fn roots_are_discovered_and_mapped_to_their_states() {
    let sandbox = repo();
    shared_env(&sandbox);
    sandbox.write("modules/net/main.tf", MAIN_TF);
    sandbox.write("envs/prod/.terraform/modules/x/main.tf", MAIN_TF);
    sandbox.write(
        "envs/local/main.tf",
        "# backend \"http\" {}\nvariable \"x\" {}\n",
    );
    sandbox.write("tools/main.tf", MAIN_TF);
    sandbox.write(
        "tfw.toml",
        "state = \"{root}-{user}\"\nprotected = [\"prod*\"]\n\n[roots.\"envs/prod\"]\nstate = \"prod\"\n\n[roots.\"tools\"]\nstate = \"tools\"\n",
    );
    sandbox.gitlab.set_lock(
        "42",
        "prod",
        serde_json::json!({"ID": "l-1", "Who": gitlab::BOB, "Operation": "OperationTypeApply"}),
    );

    let out = sandbox.tfw(&["roots"]).run();
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.all());
    assert!(lines[0].starts_with("ROOT"));
    assert!(
        lines[1].starts_with("envs/prod")
            && lines[1].contains(" prod ")
            && lines[1].contains("yes"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(gitlab::BOB),
        "the lock holder: {}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("envs/staging")
            && lines[2].contains("staging-alice")
            && lines[2].contains(" no "),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("tools") && lines[3].contains("tools"),
        "{}",
        lines[3]
    );

    // The same from inside a root, as JSON, and each root's mapping is what `tfw -C` uses.
    let json: serde_json::Value = serde_json::from_str(
        &sandbox
            .tfw(&["-C", "envs/staging", "roots", "--json", "--offline"])
            .run()
            .success()
            .stdout,
    )
    .unwrap();
    let roots = json["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 3);
    assert_eq!(roots[1]["root"], "envs/staging");
    assert_eq!(roots[1]["state"], "staging-alice");
    assert_eq!(roots[1]["protected"], false);
    assert_eq!(
        roots[0]["lock"],
        serde_json::Value::Null,
        "--offline asks nothing"
    );
    assert!(
        roots[0]["declared_in"]
            .as_str()
            .unwrap()
            .ends_with("tfw.toml")
    );
    let env = env_json(
        sandbox
            .tfw(&["-C", "envs/staging", "env", "--json"])
            .run()
            .success(),
    );
    assert_eq!(env["state"]["value"], "staging-alice");

    sandbox
        .tfw(&["roots", "--offline", "--roots", "envs/*"])
        .run()
        .success()
        .lacks("tools");
    sandbox
        .tfw(&["roots", "--offline", "--roots", "env/*"])
        .run()
        .code(1)
        .stderr_has("`--roots env/*` matches no root")
        .stderr_has("envs/prod, envs/staging, tools");
}

#[test]
fn two_roots_on_one_state_and_a_dotenv_against_its_mapping_are_errors() {
    let sandbox = repo();
    shared_env(&sandbox);
    sandbox.write("tfw.toml", "state = \"shared\"\nprotected = []\n");
    sandbox
        .tfw(&["roots", "--offline"])
        .run()
        .code(1)
        .stderr_has("2 roots are mapped to the state `shared`: `envs/prod`")
        .stderr_has("`envs/staging`");

    sandbox.write("tfw.toml", "state = \"{root}\"\nprotected = []\n");
    sandbox.write("envs/prod/.env", "TF_STATE_NAME=staging\n");
    let own = sandbox.path("envs/prod/.env");
    sandbox
        .tfw(&["roots", "--offline"])
        .run()
        .code(1)
        .stderr_has(&format!("{}:1", own.display()))
        .stderr_has("`TF_STATE_NAME` names the state `staging`")
        .stderr_has("this root maps to `prod`");
    // The same refusal before a single-root command contacts anything.
    sandbox.gitlab.clear_requests();
    sandbox
        .tfw(&["-C", "envs/prod", "plan"])
        .run()
        .code(1)
        .stderr_has("this root maps to `prod`");
    assert!(sandbox.gitlab.requests().is_empty());
    // `--state` chooses for one command.
    sandbox
        .tfw(&["-C", "envs/prod", "--state", "staging", "env", "--json"])
        .run()
        .success();
}

#[test]
fn a_declared_root_that_does_not_exist_names_the_file() {
    let sandbox = repo();
    sandbox.write("tfw.toml", "[roots.\"envs/qa\"]\nstate = \"qa\"\n");
    sandbox
        .tfw(&["roots", "--offline"])
        .run()
        .code(1)
        .stderr_has("`[roots.\"envs/qa\"]` names a folder that does not exist")
        .stderr_has("tfw.toml");
}

/// Two roots on their own states (`{root}-alice`), and the shared `.env`.
fn two_roots() -> Sandbox {
    let sandbox = repo();
    shared_env(&sandbox);
    sandbox.write("tfw.toml", "state = \"{root}-{user}\"\nprotected = []\n");
    sandbox
}

/// The block of stderr that follows `==> ROOT`, up to the next block or the summary.
fn block<'a>(stderr: &'a str, root: &str) -> &'a str {
    let header = format!("==> {root}\n");
    let start = stderr
        .find(&header)
        .unwrap_or_else(|| panic!("no block for {root}:\n{stderr}"))
        + header.len();
    let rest = &stderr[start..];
    let end = ["\n==> ", "\nROOT "]
        .iter()
        .filter_map(|next| rest.find(next))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn all_plans_every_root_grouped_with_one_summary_and_the_worst_exit_code() {
    let sandbox = two_roots();
    let out = sandbox
        .tfw(&["--all", "plan", "--", "-detailed-exitcode"])
        .run();
    // Outputs to create: changes in both, so 2.
    out.code(2);
    assert!(
        block(out.stderr(), "envs/prod").contains("Plan for `prod-alice`"),
        "{}",
        out.stderr()
    );
    assert!(block(out.stderr(), "envs/staging").contains("Plan for `staging-alice`"));
    assert!(
        !block(out.stderr(), "envs/prod").contains("staging-alice"),
        "never interleaved"
    );
    let summary: Vec<&str> = out
        .stderr()
        .lines()
        .skip_while(|l| !l.starts_with("ROOT "))
        .collect();
    assert!(
        summary[0].contains("ADD")
            && summary[0].contains("DESTROY")
            && summary[0].contains("RESULT")
    );
    assert!(
        summary[1].starts_with("envs/prod")
            && summary[1].contains("prod-alice")
            && summary[1].contains("0  "),
        "{}",
        summary[1]
    );
    assert!(summary[2].starts_with("envs/staging"), "{summary:?}");
    // The saved plans are each root's own, ready for `tfw -C ROOT apply`.
    assert!(
        sandbox
            .path("envs/prod/.tfw/plans/prod-alice.tfplan")
            .exists()
    );
    sandbox
        .tfw(&["-C", "envs/prod", "apply", "--auto-approve"])
        .run()
        .success();
    sandbox
        .tfw(&["-C", "envs/staging", "apply", "--auto-approve"])
        .run()
        .success();
    sandbox
        .tfw(&["--all", "plan", "--", "-detailed-exitcode"])
        .run()
        .code(0)
        .stderr_has("no changes");

    // One broken root: it fails, the others still run, and the worst code is 1.
    sandbox.write(
        "envs/broken/main.tf",
        "terraform {\n  backend \"http\" {}\n}\nresource {\n",
    );
    let out = sandbox
        .tfw(&["--all", "plan", "--", "-detailed-exitcode"])
        .run();
    out.code(1);
    let summary: Vec<&str> = out
        .stderr()
        .lines()
        .skip_while(|l| !l.starts_with("ROOT "))
        .collect();
    assert!(
        summary[1].starts_with("envs/broken") && summary[1].contains("failed"),
        "{summary:?}"
    );
    assert!(
        summary[2].contains("no changes") && summary[3].contains("no changes"),
        "{summary:?}"
    );

    // --fail-fast, one at a time: nothing starts after the first failure.
    let out = sandbox
        .tfw(&["--all", "-j", "1", "--fail-fast", "validate"])
        .run();
    out.code(1);
    let summary: Vec<&str> = out
        .stderr()
        .lines()
        .skip_while(|l| !l.starts_with("ROOT "))
        .collect();
    assert!(
        summary[1].contains("failed")
            && summary[2].contains("skipped")
            && summary[3].contains("skipped"),
        "{summary:?}"
    );

    // --roots selects, --stream prefixes every line with its root.
    let out = sandbox
        .tfw(&["--roots", "envs/p*", "--stream", "validate"])
        .run();
    out.success()
        .stdout_has("envs/prod | Success! The configuration is valid.")
        .lacks("envs/staging |")
        .lacks("envs/broken");
    sandbox
        .tfw(&["--roots", "nothing/*", "plan"])
        .run()
        .code(1)
        .stderr_has("`--roots nothing/*` matches no root");
    sandbox
        .tfw(&["--all", "--state", "prod", "plan"])
        .run()
        .code(1)
        .stderr_has("would send every root to one state");
}

#[test]
fn all_refuses_two_roots_on_one_state_before_running_anything() {
    let sandbox = repo();
    shared_env(&sandbox);
    sandbox.write("tfw.toml", "state = \"one\"\nprotected = []\n");
    sandbox.gitlab.clear_requests();
    sandbox
        .tfw(&["--all", "plan"])
        .run()
        .code(1)
        .stderr_has("2 roots are mapped to the state `one`");
    assert!(sandbox.gitlab.requests().is_empty());
}

#[test]
fn ctrl_c_stops_every_running_root_once() {
    let sandbox = two_roots();
    let log = sandbox.home.path().join("signals.log");
    // terraform's plan, slowed down: notes each signal, and stops a second after the first
    // SIGINT, as a terraform finishing its step and releasing its lock would.
    let fake = sandbox.fake_binary(
        "terraform-slow-plan",
        &format!(
            "real='{}'\nlog='{}'\nif [ \"$1\" = plan ]; then\n echo \"started $$\" >> \"$log\"\n n=0\n trap 'echo \"INT $$\" >> \"$log\"; n=1' INT\n while :; do sleep 0.05; if [ $n -gt 0 ]; then n=$((n+1)); fi; if [ $n -gt 20 ]; then exit 130; fi; done\nfi\nexec \"$real\" \"$@\"",
            crate::support::terraform().display(),
            log.display()
        ),
    );
    let child = sandbox
        .tfw(&["--all", "-j", "2", "plan"])
        .env("TFW_BINARY", &fake)
        .spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    while read().matches("started").count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "plans never started: {}",
            read()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for _ in 0..3 {
        // SAFETY: signalling the tfw this test started.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = crate::support::wait_with_output(child, std::time::Duration::from_secs(60));
    out.code(130).stderr_has("interrupted");
    let seen = read();
    for pid in seen.lines().filter_map(|l| l.strip_prefix("started ")) {
        let ints = seen.lines().filter(|l| *l == format!("INT {pid}")).count();
        assert_eq!(ints, 1, "terraform {pid} got {ints} SIGINTs: {seen}");
    }
    for state in ["prod-alice", "staging-alice"] {
        assert!(
            sandbox.gitlab.lock("42", state).is_none(),
            "{state} still locked"
        );
    }
}
