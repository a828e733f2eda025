//! Issue "Reliability": the secret-hygiene sweep. Every command and every error path runs with
//! a recognisable token (and a recognisable CI job token), verbose and with terraform's trace
//! log on, and the sweep then looks for the token (raw, and as the base64 of an
//! `Authorization` header) in: stdout and stderr of every run; the argv of every process tfw
//! started, read from `/proc/<pid>/cmdline` while they ran (a watcher polls for tfw's
//! descendants; a deliberately slow apply makes sure terraform itself is caught running);
//! every file tfw or terraform wrote in the repository and in HOME (saved plans unzipped),
//! `.env` and its kept copies excepted; and the URLs and bodies of every request GitLab saw.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::gitlab::{CI_BOT, Fault, Role, Route, basic_auth, closed_port_url};
use crate::support::{Cmd, MAIN_TF, Out, Sandbox, files_below, unzipped, wait_with_output};

/// alice's token for the sweep: in no other test, so any hit is this sweep's.
const TOKEN: &str = "glpat-SWEEP4f9c2e7a1b3d5f8e0a6c";
/// A CI job token, for the CI paths.
const JOB_TOKEN: &str = "SWEEPjob8b2d4f6a0c1e3a5b7d9f";
/// Other secrets in `.env` and in the shell, under keys the old suffix rule missed; terraform
/// gets them all in its environment, and `-v` shows that environment.
const OTHER_SECRETS: &[(&str, &str)] = &[
    ("TF_VAR_db_password", "SWEEPdbpw-3e5a7c9b1d"),
    ("DB_PASS", "SWEEPdbpass-8f0b2d4a6c"),
    ("CLOUDFLARE_API_KEY", "SWEEPcfkey-1c3e5a7b9d"),
];
const SHELL_SECRET: (&str, &str) = ("GOOGLE_CREDENTIALS", "SWEEPgcreds-6a8c0e2b4d");

fn secrets() -> Vec<String> {
    let b64 = |user: &str, token: &str| {
        basic_auth(user, token)
            .trim_start_matches("Basic ")
            .to_string()
    };
    let mut secrets = vec![
        TOKEN.to_string(),
        JOB_TOKEN.to_string(),
        b64("alice", TOKEN),
        b64("gitlab-ci-token", JOB_TOKEN),
    ];
    secrets.extend(OTHER_SECRETS.iter().map(|(_, v)| v.to_string()));
    secrets.push(SHELL_SECRET.1.to_string());
    secrets
}

fn leaked(haystack: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(haystack);
    secrets()
        .into_iter()
        .find(|secret| text.contains(secret.as_str()))
}

/// Polls `/proc` for the descendants of one process and records their argv while they run
/// (also used by tests/leaks.rs).
pub(crate) struct Watcher {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeSet<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn parent_of(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1).map(str::to_string)
}

fn descendants(root: u32) -> Vec<String> {
    let mut parents: HashMap<String, String> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.bytes().all(|b| b.is_ascii_digit())
            && let Some(parent) = parent_of(&name)
        {
            parents.insert(name, parent);
        }
    }
    let root = root.to_string();
    parents
        .keys()
        .filter(|pid| {
            let mut at = pid.to_string();
            for _ in 0..64 {
                match parents.get(&at) {
                    Some(parent) if *parent == root => return true,
                    Some(parent) => at = parent.clone(),
                    None => return false,
                }
            }
            false
        })
        .cloned()
        .collect()
}

impl Watcher {
    pub(crate) fn start(root: u32) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let thread = {
            let (stop, seen) = (Arc::clone(&stop), Arc::clone(&seen));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    for pid in descendants(root) {
                        if let Ok(argv) = std::fs::read(format!("/proc/{pid}/cmdline"))
                            && !argv.is_empty()
                        {
                            let argv = String::from_utf8_lossy(&argv).replace('\0', " ");
                            seen.lock().unwrap().insert(argv);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        Watcher {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    pub(crate) fn finish(mut self) -> BTreeSet<String> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

struct Sweep {
    sandbox: Sandbox,
    runs: usize,
    argv: BTreeSet<String>,
}

impl Sweep {
    fn new() -> Sweep {
        let sandbox = Sandbox::new();
        sandbox.gitlab.add_user("alice", TOKEN, Role::Maintainer);
        sandbox
            .gitlab
            .add_job_token(JOB_TOKEN, CI_BOT, Role::Maintainer);
        let mut env = sandbox.seed_env_text("alice", TOKEN, "dev-alice");
        for (key, value) in OTHER_SECRETS {
            env.push_str(&format!("export {key}=\"{value}\"\n"));
        }
        sandbox.write(".env", env);
        Sweep {
            sandbox,
            runs: 0,
            argv: BTreeSet::new(),
        }
    }

    fn tfw(&self, args: &[&str]) -> Cmd {
        self.sandbox
            .tfw(args)
            .env("TFW_HTTP_TIMEOUT", "2")
            .env(SHELL_SECRET.0, SHELL_SECRET.1)
    }

    /// Runs tfw, watching its children, and checks stdout and stderr.
    #[track_caller]
    fn run(&mut self, label: &str, cmd: Cmd, stdin: Option<&str>) -> Out {
        let mut command = cmd.command;
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start tfw");
        let watcher = Watcher::start(child.id());
        if let Some(input) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().unwrap();
            let _ = pipe.write_all(input.as_bytes());
        }
        let out = wait_with_output(child, Duration::from_secs(180));
        self.argv.extend(watcher.finish());
        self.runs += 1;
        if std::env::var_os("TFW_SWEEP_SHOW").is_some() {
            // `TFW_SWEEP_SHOW=1 cargo test --test tfw secrets:: -- --nocapture`: what ran.
            let last = out
                .stderr()
                .lines()
                .find(|l| l.starts_with("error:"))
                .unwrap_or("");
            eprintln!("[{label}] exit {:?} {last}", out.status());
        }
        assert_ne!(
            out.status(),
            Some(101),
            "[{label}] tfw panicked:\n{}",
            out.stderr()
        );
        if let Some(secret) = leaked(out.all().as_bytes()) {
            panic!("[{label}] `{secret}` in the output:\n{}", out.all());
        }
        out
    }

    fn sweep(&mut self, label: &str, args: &[&str]) -> Out {
        let cmd = self.tfw(args);
        self.run(label, cmd, None)
    }
}

/// `.env` is where the token lives; `tfw setup --force` keeps the replaced one. Both are the
/// user's own secrets file, readable by them alone.
fn is_env_file(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name == ".env"
        || name.ends_with(".env")
        || path.components().any(|c| c.as_os_str() == "env-backups")
}

#[test]
fn no_command_and_no_error_leaks_the_token() {
    let mut sweep = Sweep::new();
    let other = tempfile::tempdir().unwrap();
    let new_repo = other.path().join("infra-new");
    let new_repo_arg = new_repo.to_str().unwrap().to_string();

    // The everyday commands, verbose.
    let everyday: &[&[&str]] = &[
        &["-v", "init"],
        &["-v", "plan"],
        &["-v", "plan", "--json", "report.json"],
        &["-vv", "apply", "--auto-approve"],
        &["-v", "--state", "dev-alice-old", "apply", "--auto-approve"],
        &["-v", "validate"],
        &["-v", "fmt", "--check"],
        &["-v", "fmt"],
        &["-vv", "graph"],
        &["-v", "graph", "--format", "dot", "-o", "-"],
        &["-v", "clean", "--dry-run"],
        &["-v", "doctor"],
        &["-v", "doctor", "--json"],
        &["-v", "doctor", "--offline"],
        &["-v", "env"],
        &["-v", "env", "--json"],
        &["-v", "exec", "--", "output"],
        &["-v", "exec", "--", "state", "list"],
        &["-v", "exec", "--", "state", "pull"],
        &["-v", "use"],
        &["-v", "use", "--json"],
        &["-v", "use", "dev-alice-old"],
        &["-v", "use", "-"],
        &["-v", "state", "list"],
        &["-v", "state", "list", "--json"],
        &["-v", "state", "show"],
        &["-v", "state", "show", "--json"],
        &["-v", "state", "versions"],
        &["-v", "state", "pull", "-o", "pulled.tfstate"],
        &["-v", "state", "pull"],
        &["-v", "state", "prune"],
        &["-v", "complete-states"],
        &["-v", "completions", "bash"],
        &["-v", "man"],
        &["-v", "adopt", "--dry-run"],
        &["-v", "sync", "--check"],
        &["-v", "new", &new_repo_arg],
        &["-v", "setup"],
        &["-v", "setup", "--force"],
        &["-v", "destroy", "--auto-approve"],
        &["-vv", "apply", "--auto-approve"],
    ];
    for args in everyday {
        sweep.sweep(&args.join(" "), args);
    }
    let backups = sweep.sandbox.path(".tfw/backups/dev-alice");
    let mut found = Vec::new();
    found.extend(files_below(&backups));
    let backup = found
        .first()
        .expect("apply kept a backup")
        .to_str()
        .unwrap()
        .to_string();
    sweep.sweep(
        "state restore",
        &["-v", "state", "restore", &backup, "--confirm", "dev-alice"],
    );
    sweep.sandbox.gitlab.set_lock(
        "42",
        "dev-alice",
        serde_json::json!({"ID":"a1","Operation":"OperationTypeApply","Info":"","Who":"alice","Version":"1.0.3","Created":"2026-11-20T09:15:00Z","Path":""}),
    );
    sweep.sweep("state unlock (own lock)", &["-v", "state", "unlock"]);
    sweep.sweep(
        "state delete",
        &["-v", "state", "delete", "dev-alice-old", "--yes"],
    );

    // terraform's own trace log, through tfw.
    let cmd = sweep.tfw(&["-vv", "plan"]).env("TF_LOG", "TRACE");
    sweep.run("TF_LOG=TRACE plan", cmd, None);
    let cmd = sweep.tfw(&["exec", "--", "plan"]).env("TF_LOG", "TRACE");
    sweep.run("TF_LOG=TRACE exec", cmd, None);

    // A slow apply: terraform is caught running, its argv read from /proc.
    sweep
        .sandbox
        .write("main.tf", MAIN_TF.replace("hello", "slow"));
    let _ = std::fs::remove_dir_all(sweep.sandbox.path(".tfw/plans"));
    sweep.sandbox.gitlab.fault(
        Fault::delay(Route::State, Duration::from_secs(2))
            .method("POST")
            .times(1),
    );
    sweep
        .sweep("slow apply", &["-v", "apply", "--auto-approve"])
        .success();
    assert!(
        sweep
            .argv
            .iter()
            .any(|a| a.contains("terraform") && a.contains(" apply ")),
        "the watcher never saw terraform apply running: {:#?}",
        sweep.argv
    );

    error_paths(&mut sweep);
    ci_paths(&mut sweep);
    setup_paths(&mut sweep);

    for argv in &sweep.argv {
        assert!(
            leaked(argv.as_bytes()).is_none(),
            "the token on a command line: {argv}"
        );
        assert!(
            !argv.contains("-backend-config"),
            "backend settings on a command line: {argv}"
        );
    }
    check_files(
        &sweep,
        &[
            sweep.sandbox.dir.path(),
            sweep.sandbox.home.path(),
            other.path(),
        ],
    );
    for request in sweep.sandbox.gitlab.requests() {
        assert!(
            leaked(request.url.as_bytes()).is_none(),
            "the token in a URL: {}",
            request.url
        );
        assert!(
            leaked(&request.body).is_none(),
            "the token in a request body: {}",
            request.url
        );
    }
    assert!(sweep.runs >= 70, "{} runs", sweep.runs);
    assert!(
        sweep.argv.len() >= 10,
        "{} command lines seen",
        sweep.argv.len()
    );
    if std::env::var_os("TFW_SWEEP_SHOW").is_some() {
        eprintln!(
            "{} runs; command lines seen:\n{}",
            sweep.runs,
            sweep.argv.iter().cloned().collect::<Vec<_>>().join("\n")
        );
    }
}

fn error_paths(sweep: &mut Sweep) {
    let gitlab = &sweep.sandbox.gitlab;
    gitlab.set_lock(
        "42",
        "dev-alice",
        serde_json::json!({"ID":"b1","Operation":"OperationTypeApply","Info":"","Who":"bob","Version":"1.0.3","Created":"2026-11-20T09:15:00Z","Path":""}),
    );
    sweep.sweep("locked by bob: plan", &["-v", "plan"]);
    sweep.sweep("locked by bob: apply", &["-v", "apply", "--auto-approve"]);
    sweep.sweep(
        "locked by bob: unlock without --force",
        &["-v", "state", "unlock"],
    );
    sweep.sandbox.gitlab.clear_lock("42", "dev-alice");

    sweep
        .sandbox
        .write("main.tf", MAIN_TF.replace("hello", "errored"));
    let faults: Vec<(&str, Fault, &[&str])> = vec![
        ("401", Fault::status(Route::Any, 401), &["-v", "plan"]),
        (
            "403 write",
            Fault::status(Route::State, 403).method("POST"),
            &["-v", "apply", "--auto-approve"],
        ),
        (
            "500 write",
            Fault::status(Route::State, 500).method("POST"),
            &["-v", "apply", "--auto-approve"],
        ),
        (
            "500 unlock",
            Fault::status(Route::Lock, 500).method("DELETE"),
            &["-v", "plan"],
        ),
        (
            "truncated read",
            Fault::truncate(Route::State).method("GET"),
            &["-v", "plan"],
        ),
        (
            "truncated state show",
            Fault::truncate(Route::State).method("GET"),
            &["-v", "state", "show"],
        ),
        (
            "hung GraphQL",
            Fault::hang(Route::GraphQL, Duration::from_secs(10)),
            &["-v", "state", "list"],
        ),
        (
            "500 GraphQL",
            Fault::status(Route::GraphQL, 500),
            &["-v", "use"],
        ),
        (
            "401 doctor",
            Fault::status(Route::Any, 401),
            &["-v", "doctor"],
        ),
    ];
    for (label, fault, args) in faults {
        sweep.sandbox.gitlab.fault(fault);
        let cmd = sweep
            .tfw(args)
            .env("TF_HTTP_RETRY_MAX", "0")
            .env("TF_HTTP_RETRY_WAIT_MIN", "0");
        sweep.run(label, cmd, None);
        sweep.sandbox.gitlab.clear_faults();
        sweep.sandbox.gitlab.clear_lock("42", "dev-alice");
    }
    let _ = std::fs::remove_file(sweep.sandbox.path("errored.tfstate"));

    let good = sweep.sandbox.read(".env");
    let variants: Vec<(&str, String, &[&str])> = vec![
        (
            "unreachable GitLab",
            good.replace(&sweep.sandbox.gitlab.url(), &closed_port_url()),
            &["-v", "plan"],
        ),
        (
            "unreachable GitLab, doctor",
            good.replace(&sweep.sandbox.gitlab.url(), &closed_port_url()),
            &["-v", "doctor"],
        ),
        (
            "a pasted token on its own line",
            format!("{good}{TOKEN}\n"),
            &["-v", "plan"],
        ),
        (
            "a pasted token, doctor",
            format!("{good}{TOKEN}\n"),
            &["-v", "doctor"],
        ),
        (
            "a quoted pasted token",
            format!("{good}  \"{TOKEN}\"\n"),
            &["-v", "env"],
        ),
        (
            "the token under the wrong key",
            format!("GITLAB_URL={TOKEN}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\n"),
            &["-v", "plan"],
        ),
        (
            "the token in the address",
            good.replace(
                "/api/v4/projects/42/",
                &format!("/api/v4/projects/{TOKEN}/"),
            ),
            &["-v", "doctor"],
        ),
        (
            "a token in a URL's userinfo",
            good.replace("http://", &format!("http://oauth2:{TOKEN}@")),
            &["-v", "env"],
        ),
        (
            "a typo'd key holding the token",
            good.replace("TF_HTTP_PASSWORD", "TF_HTTP_PASWORD"),
            &["-v", "plan"],
        ),
        (
            "an unclosed quote before the token",
            good.replace(
                "export TF_STATE_NAME=\"dev-alice\"",
                "export TF_STATE_NAME=\"dev-alice",
            ),
            &["-v", "plan"],
        ),
        (
            "CRLF and a BOM",
            format!("\u{feff}{}", good.replace('\n', "\r\n")),
            &["-v", "plan"],
        ),
        ("world-readable .env", good.clone(), &["-v", "doctor"]),
    ];
    for (label, text, args) in variants {
        sweep.sandbox.write(".env", &text);
        if label == "world-readable .env" {
            let path = sweep.sandbox.path(".env");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        sweep.sweep(label, args);
    }
    sweep.sandbox.write(".env", &good);

    // The token in the shell, disagreeing with `.env`; and only in the shell.
    let cmd = sweep
        .tfw(&["-v", "env"])
        .env("TF_HTTP_PASSWORD", format!("{TOKEN}-other"));
    sweep.run("shell token disagrees", cmd, None);
    let without: String = good
        .lines()
        .filter(|l| !l.contains("TF_HTTP_PASSWORD"))
        .map(|l| format!("{l}\n"))
        .collect();
    sweep.sandbox.write(".env", &without);
    let cmd = sweep.tfw(&["-v", "plan"]).env("TF_HTTP_PASSWORD", TOKEN);
    sweep.run("token only in the shell", cmd, None);
    let cmd = sweep
        .tfw(&["-v", "state", "list"])
        .env("TF_HTTP_PASSWORD", TOKEN);
    sweep.run("token only in the shell, state list", cmd, None);
    sweep.sandbox.write(".env", &good);
}

fn ci_paths(sweep: &mut Sweep) {
    let env = sweep.sandbox.read(".env");
    std::fs::remove_file(sweep.sandbox.path(".env")).unwrap();
    let ci = |sweep: &Sweep, args: &[&str]| {
        sweep
            .tfw(args)
            .env("CI", "true")
            .env("CI_API_V4_URL", sweep.sandbox.gitlab.api_url())
            .env("CI_PROJECT_ID", "42")
            .env("CI_JOB_TOKEN", JOB_TOKEN)
    };
    for args in [
        &["-v", "plan"][..],
        &["-v", "apply", "--auto-approve"],
        &["-v", "apply", "--auto-approve", "--replan"],
        &["-v", "env"],
        &["-v", "doctor"],
        &["-v", "state", "list"],
        &["-v", "destroy", "--auto-approve"],
    ] {
        let cmd = ci(sweep, args);
        sweep.run(&format!("CI {}", args.join(" ")), cmd, None);
    }
    sweep.sandbox.gitlab.finish_job(JOB_TOKEN);
    let cmd = ci(sweep, &["-v", "plan"]);
    sweep.run("CI job token expired", cmd, None);
    sweep.sandbox.write(".env", env);
}

fn setup_paths(sweep: &mut Sweep) {
    let url = sweep.sandbox.gitlab.url();
    let flags = [
        "-v",
        "setup",
        "--force",
        "--token-stdin",
        "--url",
        &url,
        "--project",
        "group/infra",
        "--username",
        "alice",
    ];
    let cmd = sweep.tfw(&flags);
    sweep.run("setup --token-stdin", cmd, Some(&format!("{TOKEN}\n")));
    let cmd = sweep.tfw(&flags);
    sweep.run(
        "setup --token-stdin, a wrong token",
        cmd,
        Some(&format!("{TOKEN}x\n")),
    );
    let cmd = sweep.tfw(&flags);
    sweep.run("setup --token-stdin, no token", cmd, Some("\n"));
}

fn check_files(sweep: &Sweep, roots: &[&Path]) {
    let mut files = Vec::new();
    for root in roots {
        files.extend(files_below(root));
    }
    assert!(files.len() > 10, "{files:?}");
    for file in files {
        if is_env_file(&file) {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode & 0o077,
                0,
                "{} holds the token and is readable by others",
                file.display()
            );
            continue;
        }
        let bytes = std::fs::read(&file).unwrap_or_default();
        if let Some(secret) = leaked(&bytes) {
            panic!("`{secret}` in {}", file.display());
        }
        if file.extension().is_some_and(|e| e == "tfplan") {
            assert!(
                leaked(&unzipped(&file)).is_none(),
                "the token inside {}",
                file.display()
            );
        }
    }
    let _ = sweep;
}
