//! What a person sees: `--help` of every command and the main error messages as insta
//! snapshots (so a wording change is a deliberate, reviewed diff in `tests/snapshots/`), the
//! setup wizard driven in a pseudo-terminal against the GitLab test server, and the bash
//! completion script loaded in a real bash.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use clap::CommandFactory;
use expectrl::{Eof, Expect};

use crate::support::gitlab::{ALICE_TOKEN, BOB_TOKEN};
use crate::support::{MAIN_TF, Out, Sandbox};

/// Output with the sandbox's paths and the test server's address replaced by fixed words,
/// so snapshots do not depend on temporary directories or ports.
fn redact(sandbox: &Sandbox, text: &str) -> String {
    let mut text = text.to_string();
    for dir in [
        sandbox.dir.path().to_path_buf(),
        sandbox.dir.path().canonicalize().unwrap(),
    ] {
        text = text.replace(&dir.display().to_string(), "[DIR]");
    }
    text.replace(&sandbox.gitlab.url(), "[GITLAB]")
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// stderr, or both streams with a marker when tfw also printed data.
fn shown(sandbox: &Sandbox, out: &Out) -> String {
    let mut text = format!("exit: {:?}\n", out.status());
    if !out.stdout.is_empty() {
        text.push_str(&format!("--- stdout\n{}", redact(sandbox, &out.stdout)));
        text.push_str("--- stderr\n");
    }
    text.push_str(&redact(sandbox, out.stderr()));
    text
}

// ---------------------------------------------------------------------------------------
// --help

/// Every visible command path, `tfw` itself first.
fn command_paths(command: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(path.clone());
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        path.push(sub.get_name().to_string());
        command_paths(sub, path, out);
        path.pop();
    }
}

#[test]
fn help_of_every_command() {
    let sandbox = Sandbox::empty();
    let mut paths = Vec::new();
    command_paths(&tfw::cli::Cli::command(), &mut Vec::new(), &mut paths);
    assert!(paths.len() > 25, "found only {} commands", paths.len());
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = sandbox.tfw(&args).run();
        out.success();
        let name = format!(
            "help_{}",
            ["tfw"]
                .iter()
                .copied()
                .chain(path.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("_")
        );
        assert!(
            out.stdout.contains("Example"),
            "`tfw {}` has no examples in its --help",
            path.join(" ")
        );
        insta::assert_snapshot!(name, out.stdout);
    }
}

// ---------------------------------------------------------------------------------------
// Error messages

/// A sandbox with `main.tf` and this `.env`.
fn with_env(env: &str) -> Sandbox {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    sandbox.write(".env", env.replace("{url}", &sandbox.gitlab.url()));
    sandbox
}

const SHORT: &str = "GITLAB_URL={url}\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD=glpat-alice-0123456789abcdef\n";

#[test]
fn error_missing_env_file() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    let out = sandbox.tfw(&["plan"]).run();
    insta::assert_snapshot!("error_missing_env_file", shown(&sandbox, &out));
}

/// `tfw plan` with this `.env`: what it says is snapshot `name`.
fn plan_error(name: &str, env: &str) {
    let sandbox = with_env(env);
    let out = sandbox.tfw(&["plan"]).run();
    insta::assert_snapshot!(name, shown(&sandbox, &out));
}

#[test]
fn error_missing_key() {
    plan_error(
        "error_missing_key",
        &SHORT.replace("TF_HTTP_USERNAME=alice\n", ""),
    );
}

#[test]
fn error_placeholder_left() {
    let env = SHORT.replace("glpat-alice-0123456789abcdef", "\"<your-access-token>\"");
    plan_error("error_placeholder_left", &env);
}

#[test]
fn error_bad_url() {
    let env = SHORT.replace("GITLAB_URL={url}", "GITLAB_URL=gitlab.example.com");
    plan_error("error_bad_url", &env);
}

#[test]
fn error_address_and_state_disagree() {
    let sandbox = Sandbox::new();
    let env = sandbox
        .seed_env_text("alice", ALICE_TOKEN, "dev-alice")
        .replace("/terraform/state/${TF_STATE_NAME}", "/terraform/state/dev");
    sandbox.write(".env", env);
    let out = sandbox.tfw(&["plan"]).run();
    insta::assert_snapshot!("error_address_and_state_disagree", shown(&sandbox, &out));
}

#[test]
fn error_unknown_backend_key_suggests_the_right_one() {
    plan_error(
        "error_unknown_backend_key",
        &format!("{SHORT}TF_HTTP_RETRY_MAXX=5\n"),
    );
}

#[test]
fn error_apply_without_a_terminal_needs_auto_approve() {
    let sandbox = Sandbox::new();
    let out = sandbox.tfw(&["apply"]).run();
    insta::assert_snapshot!("error_apply_needs_auto_approve", shown(&sandbox, &out));
}

#[test]
fn error_protected_destroy_is_refused() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .tfw(&["--state", "prod", "destroy", "--auto-approve"])
        .run();
    insta::assert_snapshot!("error_protected_destroy", shown(&sandbox, &out));
    assert!(
        sandbox.gitlab.requests().is_empty(),
        "refused before any request"
    );
}

#[test]
fn setup_without_a_terminal_prints_the_lines_to_write() {
    let sandbox = Sandbox::empty();
    let url = sandbox.gitlab.url();
    let out = sandbox
        .tfw(&["setup", "--url", &url, "--project", "group/infra"])
        .run();
    insta::assert_snapshot!("setup_without_a_terminal", shown(&sandbox, &out));
    assert!(!sandbox.path(".env").exists());
}

#[test]
fn setup_never_replaces_env_without_force() {
    let sandbox = Sandbox::new();
    let before = sandbox.read(".env");
    let out = sandbox
        .tfw(&["setup", "--token-stdin"])
        .stdin(BOB_TOKEN)
        .run();
    insta::assert_snapshot!("setup_env_exists", shown(&sandbox, &out));
    assert_eq!(sandbox.read(".env"), before);
}

// ---------------------------------------------------------------------------------------
// Setup without a terminal: --token-stdin

/// `tfw [before...] setup --token-stdin` for alice on `project`, `token` on stdin.
fn setup_stdin(sandbox: &Sandbox, before: &[&str], project: &str, token: &str) -> Out {
    let url = sandbox.gitlab.url();
    let mut args = before.to_vec();
    args.extend([
        "setup",
        "--token-stdin",
        "--url",
        &url,
        "--project",
        project,
    ]);
    args.extend(["--username", "alice"]);
    sandbox.tfw(&args).stdin(&format!("{token}\n")).run()
}

#[test]
fn setup_token_stdin_writes_a_private_env_that_works() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    let out = setup_stdin(&sandbox, &[], "group/infra", ALICE_TOKEN);
    out.success()
        .stderr_has("Wrote `.env` (mode 600)")
        .lacks(ALICE_TOKEN);
    assert_eq!(mode(&sandbox.path(".env")), 0o600);
    let env = sandbox.read(".env");
    assert!(
        env.contains(&format!("GITLAB_URL=\"{}\"", sandbox.gitlab.url())),
        "{env}"
    );
    assert!(env.contains("GITLAB_PROJECT=\"group/infra\""), "{env}");
    assert!(
        env.contains(&format!("TF_HTTP_PASSWORD=\"{ALICE_TOKEN}\"")),
        "{env}"
    );
    assert!(
        !env.contains("TF_STATE_NAME"),
        "the personal state needs no line: {env}"
    );
    // The file is complete: the GitLab check of `doctor` passes with it.
    sandbox.tfw(&["doctor"]).run().success();
}

#[test]
fn setup_with_state_writes_it() {
    let sandbox = Sandbox::empty();
    setup_stdin(&sandbox, &["--state", "team/dev.eu"], "42", ALICE_TOKEN).success();
    let env = sandbox.read(".env");
    assert!(env.contains("TF_STATE_NAME=\"team/dev.eu\""), "{env}");
    sandbox
        .tfw(&["env"])
        .run()
        .success()
        .stdout_has("/terraform/state/team%2Fdev%2Eeu");
}

#[test]
fn setup_token_stdin_refuses_a_bad_token_and_writes_nothing() {
    let sandbox = Sandbox::empty();
    setup_stdin(&sandbox, &[], "group/infra", "glpat-wrong-token-000")
        .code(1)
        .stderr_has("rejected the token: GitLab does not know it")
        .lacks("glpat-wrong-token-000");
    assert!(!sandbox.path(".env").exists());
    setup_stdin(&sandbox, &[], "group/nope", ALICE_TOKEN)
        .code(1)
        .stderr_has("no project `group/nope`");
    assert!(!sandbox.path(".env").exists());
}

#[test]
fn setup_force_converts_an_old_env_and_keeps_the_rest() {
    // The team's old format: TF_HTTP_ADDRESS built by hand, cloud keys alongside.
    let sandbox = Sandbox::new();
    sandbox.seed_env("alice", ALICE_TOKEN, "staging");
    let before = sandbox.read(".env");
    let out = sandbox
        .tfw(&["setup", "--force", "--token-stdin"])
        .stdin(ALICE_TOKEN)
        .run();
    out.success()
        .stderr_has("the previous file is kept as `.tfw/env-backups/.env.");
    let env = sandbox.read(".env");
    assert!(
        env.contains(&format!("GITLAB_URL=\"{}\"", sandbox.gitlab.url())),
        "{env}"
    );
    assert!(env.contains("GITLAB_PROJECT=\"42\""), "{env}");
    assert!(env.contains("TF_STATE_NAME=\"staging\""), "{env}");
    assert!(env.contains("AWS_SECRET_ACCESS_KEY="), "{env}");
    assert!(!env.contains("TF_HTTP_ADDRESS"), "{env}");
    let backups: Vec<_> = std::fs::read_dir(sandbox.path(".tfw/env-backups"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(backups[0].path()).unwrap(), before);
    assert_eq!(mode(&backups[0].path()), 0o600);
    // Same backend as before, reached the short way.
    sandbox
        .tfw(&["env"])
        .run()
        .success()
        .stdout_has("/projects/42/terraform/state/staging");
}

// ---------------------------------------------------------------------------------------
// Setup in a terminal

/// tfw in a pseudo-terminal, with everything it showed kept for the final checks.
struct Pty {
    session: expectrl::session::OsSession,
    seen: String,
}

impl Pty {
    fn start(sandbox: &Sandbox, args: &[&str]) -> Self {
        let command = sandbox
            .tfw(args)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .command;
        let mut session = expectrl::Session::spawn(command).expect("spawn in a pty");
        session.set_expect_timeout(Some(Duration::from_secs(60)));
        Pty {
            session,
            seen: String::new(),
        }
    }

    #[track_caller]
    fn expect(&mut self, text: &str) {
        match self.session.expect(text) {
            Ok(found) => self
                .seen
                .push_str(&String::from_utf8_lossy(found.as_bytes())),
            Err(err) => panic!(
                "waiting for {text:?}: {err}\n--- seen so far\n{}",
                self.seen
            ),
        }
    }

    fn send(&mut self, line: &str) {
        self.session.send_line(line).unwrap();
    }

    /// Types into a hidden prompt. The prompt turns echo off with TCSAFLUSH, which throws
    /// away anything typed before: wait until the terminal really stopped echoing.
    fn send_secret(&mut self, line: &str) {
        // A yes/no prompt just before also runs with echo off (raw mode): require echo to
        // stay off for a moment, so the hidden prompt has really taken the terminal.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let echo = |tty: &Self| tty.session.get_process().get_echo().unwrap_or(false);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "the hidden prompt never turned echo off"
            );
            if !echo(self) {
                std::thread::sleep(Duration::from_millis(200));
                if !echo(self) {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.send(line);
    }

    /// Waits for the end; returns all that was shown.
    #[track_caller]
    fn finish(mut self) -> String {
        let found = self.session.expect(Eof).unwrap();
        self.seen
            .push_str(&String::from_utf8_lossy(found.as_bytes()));
        self.seen
    }
}

#[test]
fn setup_wizard_in_a_terminal_checks_with_gitlab_and_asks_again() {
    let sandbox = Sandbox::empty();
    let mut tty = Pty::start(&sandbox, &["setup"]);
    tty.expect("GitLab URL");
    tty.send(&sandbox.gitlab.url());
    tty.expect("Project");
    tty.send("group/infra");
    tty.expect("GitLab username");
    tty.send("alice");
    tty.expect("personal_access_tokens?name=tfw&scopes=api");
    tty.expect("Access token (hidden)");
    tty.send_secret("glpat-typo-0000");
    tty.expect("rejected the token: GitLab does not know it");
    tty.expect("Correct which answer?");
    // Enter takes the answer suggested: the token.
    tty.session.send("\r").unwrap();
    // Only the token is asked again.
    tty.expect("Access token (hidden)");
    tty.send_secret(ALICE_TOKEN);
    tty.expect("GitLab accepted the token of `alice` for `group/infra`");
    tty.expect("Wrote `.env` (mode 600)");
    let seen = tty.finish();
    assert!(seen.contains("next: `tfw init`"), "{seen}");
    assert!(!seen.contains(ALICE_TOKEN), "the token was shown: {seen}");
    assert!(
        !seen.contains("glpat-typo-0000"),
        "the token was shown: {seen}"
    );
    let after_retry = seen.rsplit("Correct which answer?").next().unwrap();
    assert!(
        !after_retry.contains("GitLab URL:") && !after_retry.contains("Project ("),
        "{seen}"
    );
    let env = sandbox.read(".env");
    assert!(
        env.contains(&format!("TF_HTTP_PASSWORD=\"{ALICE_TOKEN}\"")),
        "{env}"
    );
    assert!(env.contains("TF_HTTP_USERNAME=\"alice\""), "{env}");
    assert_eq!(mode(&sandbox.path(".env")), 0o600);
}

#[test]
fn setup_wizard_names_a_wrong_project_and_can_stop() {
    let sandbox = Sandbox::empty();
    let url = sandbox.gitlab.url();
    let mut tty = Pty::start(&sandbox, &["setup", "--url", &url, "--username", "alice"]);
    tty.expect("Project");
    tty.send("group/nope");
    tty.expect("Access token (hidden)");
    tty.send_secret(ALICE_TOKEN);
    tty.expect("shows no project `group/nope` to this token (404)");
    tty.expect("Correct which answer?");
    // Esc stops.
    tty.session.send("\x1b").unwrap();
    tty.expect("nothing was written to `.env`");
    let seen = tty.finish();
    // Flags given are not asked.
    assert!(
        !seen.contains("GitLab URL:") && !seen.contains("GitLab username:"),
        "{seen}"
    );
    assert!(!sandbox.path(".env").exists());
}

#[test]
fn init_without_env_offers_the_wizard_then_initialises() {
    let sandbox = Sandbox::empty();
    sandbox.write("main.tf", MAIN_TF);
    let mut tty = Pty::start(&sandbox, &["init"]);
    tty.expect("there is no `.env` here yet");
    tty.expect("Set it up now?");
    tty.send("y");
    tty.expect("GitLab URL");
    tty.send(&sandbox.gitlab.url());
    tty.expect("Project");
    tty.send("42");
    tty.expect("GitLab username");
    tty.send("alice");
    tty.expect("Access token (hidden)");
    tty.send_secret(ALICE_TOKEN);
    tty.expect("Wrote `.env` (mode 600)");
    tty.expect("Initialising for state");
    tty.expect("successfully initialized");
    tty.finish();
    assert!(sandbox.path(".tfw/init.json").exists());
}

// ---------------------------------------------------------------------------------------
// Shell completion

/// Runs the completion function bash would run for `line` (the last word is completed),
/// with the generated script sourced, and returns the candidates, one a line.
fn bash_complete(sandbox: &Sandbox, line: &[&str]) -> String {
    let script = sandbox.tfw(&["completions", "bash"]).run();
    script.success();
    sandbox.write("tfw.bash", &script.stdout);
    let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        r#"source ./tfw.bash
function=$(complete -p tfw | sed -E 's/.*-F ([^ ]+).*/\1/')
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$function" tfw "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = words.join(" ")
    );
    sandbox.write("complete.sh", program);
    let mut cmd = sandbox.tfw(&[]);
    cmd.command = std::process::Command::new("bash");
    cmd.command
        .args(["--norc", "--noprofile", "complete.sh"])
        .current_dir(sandbox.dir.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", sandbox.bin.display()))
        .env("HOME", sandbox.home.path());
    let out = cmd.run();
    out.success();
    out.stdout.clone()
}

#[test]
fn bash_completes_pl_to_plan() {
    let sandbox = Sandbox::empty();
    assert_eq!(bash_complete(&sandbox, &["tfw", "pl"]), "plan\n");
    // The hidden command is never offered.
    let candidates = bash_complete(&sandbox, &["tfw", "c"]);
    assert_eq!(candidates, "clean\ncompletions\nci\n");
}

#[test]
fn bash_completes_state_names_from_gitlab() {
    let sandbox = Sandbox::new();
    for name in ["staging", "prod", "dev-bob"] {
        sandbox.gitlab.put_state(
            "42",
            name,
            br#"{"version":4,"serial":1,"lineage":"x","outputs":{},"resources":[]}"#,
        );
    }
    std::os::unix::fs::symlink(crate::support::TFW, sandbox.bin.join("tfw")).unwrap();
    // The names a TAB offers come from a cache (filled in the background on a first TAB that
    // GitLab does not answer at once): filled first, so a slow machine cannot empty a TAB.
    sandbox
        .tfw(&["complete-states", "--refresh"])
        .run()
        .success();
    let candidates = bash_complete(&sandbox, &["tfw", "use", "st"]);
    assert_eq!(candidates, "staging\n");
    let candidates = bash_complete(&sandbox, &["tfw", "--state", "pr"]);
    assert_eq!(candidates, "prod\n");
    let candidates = bash_complete(&sandbox, &["tfw", "state", "show", "dev-"]);
    assert_eq!(candidates, "dev-bob\n");
}
