//! Issue 20, items 1, 2, 5 and 6 (setup): every interactive element leaves the terminal as it
//! found it (Ctrl-C, Esc, a signal), read from the escape sequences tfw wrote; the picker
//! matches names only, marks the current and protected states and lock holders, in `tfw use`'s
//! order; waits say what they wait for and how long; completion never waits on GitLab; setup
//! lets any answer be corrected.

use std::time::Duration;

use serde_json::json;

use crate::support::Sandbox;
use crate::support::gitlab::{ALICE_TOKEN, Fault, GitLab, Route};
use crate::support::tty::{
    CLEAR_LINE, HIDE_CURSOR, SHOW_CURSOR, Tty, cursor_restored, through_shell,
};

const CTRL_C: &str = "\x03";
const ESC: &str = "\x1b";

fn doc(serial: u64) -> Vec<u8> {
    json!({"version": 4, "serial": serial, "lineage": "l", "outputs": {}, "resources": []})
        .to_string()
        .into_bytes()
}

/// dev-alice (current), perf, prod (protected), staging locked by bob.
fn states() -> Sandbox {
    let sandbox = Sandbox::new();
    for (serial, name) in [(3, "dev-alice"), (4, "perf"), (12, "prod"), (7, "staging")] {
        sandbox.gitlab.put_state("42", name, &doc(serial));
    }
    sandbox.gitlab.set_lock(
        "42",
        "staging",
        json!({"ID": "b0b", "Who": "bob", "Operation": "OperationTypeApply"}),
    );
    sandbox
}

/// What was drawn after the last time the screen was cleared for a new frame.
fn last_frame(seen: &str) -> &str {
    seen.rsplit(CLEAR_LINE).next().unwrap_or(seen)
}

#[test]
fn the_picker_matches_names_only_and_marks_states_in_the_listings_order() {
    let sandbox = states();
    let listed = sandbox.tfw(&["use"]).run();
    listed.success();
    let order: Vec<&str> = ["dev-alice", "perf", "prod", "staging"]
        .into_iter()
        .filter(|name| listed.stdout.contains(name))
        .collect();
    let mut tty = Tty::start(&sandbox, &["use"]);
    tty.expect("type to filter");
    tty.expect("locked by bob");
    let first = tty.seen.clone();
    let at = |name: &str| first.find(&format!(" {name} ")).unwrap_or(usize::MAX);
    let mut drawn = order.clone();
    drawn.sort_by_key(|name| at(name));
    assert_eq!(
        drawn, order,
        "picker order differs from `tfw use`:\n{first}"
    );
    assert!(first.contains("* dev-alice"), "{first}");
    assert!(first.contains("prod [protected]"), "{first}");
    // `ago` is in every row's time, in no name.
    tty.send("ago");
    tty.expect("no state name matches `ago`");
    tty.send("\x7f\x7f\x7f");
    tty.send("prd");
    tty.expect("State (type to filter, Esc to cancel): prd");
    tty.expect("prod [protected]");
    let frame = last_frame(&tty.seen).to_string();
    assert!(!frame.contains("perf"), "{frame:?}");
    tty.send(ESC);
    tty.expect("nothing changed");
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    cursor_restored(&seen);
    let after = seen.rsplit(HIDE_CURSOR).next().unwrap();
    assert!(
        after.contains(CLEAR_LINE),
        "the rows were not cleared: {after:?}"
    );
    assert!(sandbox.read(".env").contains("dev-alice"));
}

#[test]
fn ctrl_c_in_the_picker_clears_it_and_shows_the_cursor() {
    let sandbox = states();
    let mut tty = Tty::start(&sandbox, &["use"]);
    tty.expect("locked by bob");
    tty.send(CTRL_C);
    let (seen, code) = tty.finish();
    assert_eq!(code, 130, "{seen}");
    cursor_restored(&seen);
    // After the last row drawn: every row cleared, then the cursor shown.
    let tail = &seen[seen.rfind("staging").unwrap()..];
    assert!(tail.matches(CLEAR_LINE).count() >= 5, "{tail:?}");
    assert!(tail.contains(SHOW_CURSOR), "{tail:?}");
}

#[test]
fn a_signal_while_the_picker_is_open_clears_it_too() {
    let sandbox = states();
    let mut tty = Tty::start(&sandbox, &["use"]);
    tty.expect("locked by bob");
    let pid = tty.session.get_process().pid().as_raw();
    // SAFETY: kill(2) to the tfw this test started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let (seen, code) = tty.finish();
    assert_eq!(code, 128 + libc::SIGTERM, "{seen}");
    cursor_restored(&seen);
    let tail = &seen[seen.rfind("staging").unwrap()..];
    assert!(tail.matches(CLEAR_LINE).count() >= 5, "{tail:?}");
}

#[test]
fn ctrl_c_at_setups_correction_menu_clears_it() {
    let sandbox = Sandbox::empty();
    let url = sandbox.gitlab.url();
    let args = [
        "setup",
        "--url",
        &url,
        "--project",
        "group/infra",
        "--username",
        "alice",
    ];
    let mut tty = Tty::start(&sandbox, &args);
    tty.expect("Access token (hidden)");
    secret(&mut tty, "glpat-typo-0000");
    tty.expect("none: stop, write nothing");
    tty.send(CTRL_C);
    let (seen, code) = tty.finish();
    assert_eq!(code, 130, "{seen}");
    cursor_restored(&seen);
    let tail = &seen[seen.rfind("none: stop, write nothing").unwrap()..];
    // The prompt, five rows and the line below them.
    assert!(tail.matches(CLEAR_LINE).count() >= 7, "{tail:?}");
    assert!(!sandbox.path(".env").exists());
}

#[test]
fn ctrl_c_at_a_hidden_prompt_gives_the_terminal_back_its_echo() {
    let sandbox = Sandbox::empty();
    let url = sandbox.gitlab.url();
    let args = [
        "setup",
        "--url",
        &url,
        "--project",
        "group/infra",
        "--username",
        "alice",
    ];
    // The pseudo-terminal starts without echo; a person's terminal echoes.
    let command = crate::support::tty::term(sandbox.tfw(&args))
        .env("NO_COLOR", "1")
        .command;
    let mut tty = Tty::spawn(through_shell(&command, "stty echo; exec \"$@\""));
    tty.expect("Access token (hidden)");
    let echo = |tty: &Tty| tty.session.get_process().get_echo().unwrap();
    // The prompt turns echo off; then Ctrl-C.
    while echo(&tty) {
        std::thread::sleep(Duration::from_millis(20));
    }
    tty.send(CTRL_C);
    let (seen, code, echo) = tty.finish_echo();
    assert_eq!(code, 130, "{seen}");
    assert!(echo, "echo was left off");
    assert!(
        seen.ends_with(&format!("\r{CLEAR_LINE}{SHOW_CURSOR}")),
        "{seen:?}"
    );
    assert!(!sandbox.path(".env").exists());
}

#[test]
fn ctrl_c_at_a_confirmation_clears_the_line_and_discards_the_plan() {
    let sandbox = Sandbox::new();
    let mut tty = Tty::start(&sandbox, &["apply"]);
    tty.expect("Type `yes` to apply `dev-alice`");
    tty.send("ye");
    tty.send(CTRL_C);
    let (seen, code) = tty.finish();
    assert_eq!(code, 130, "{seen}");
    assert!(
        seen.ends_with(&format!("\r{CLEAR_LINE}{SHOW_CURSOR}")),
        "{seen:?}"
    );
    assert!(!sandbox.path(".tfw/plans/dev-alice.tfplan").exists());
    assert!(!sandbox.path(".tfw/plans/dev-alice.json").exists());
    assert!(sandbox.gitlab.state("42", "dev-alice").is_none());
}

#[test]
fn a_long_wait_says_what_and_how_long_and_ctrl_c_clears_it() {
    let sandbox = Sandbox::new();
    sandbox
        .gitlab
        .fault(Fault::hang(Route::GraphQL, Duration::from_secs(60)));
    let command = crate::support::tty::term(sandbox.tfw(&["state", "list"]))
        .env("NO_COLOR", "1")
        .env("TFW_HTTP_TIMEOUT", "90")
        .command;
    let mut tty = Tty::spawn(command);
    tty.expect("asking GitLab to");
    tty.expect("(1s)");
    tty.expect("(2s)");
    tty.send(CTRL_C);
    let (seen, code) = tty.finish();
    assert_eq!(code, 130, "{seen}");
    let tail = &seen[seen.rfind("(2s)").unwrap()..];
    assert!(
        tail.contains(CLEAR_LINE),
        "the spinner was left on screen: {tail:?}"
    );
    cursor_restored(&seen);
}

#[test]
fn completion_answers_from_its_cache_while_gitlab_is_stalled() {
    let sandbox = states();
    // Filled once (as the background refresh fills it), private like the rest of `.tfw/`.
    sandbox
        .tfw(&["complete-states", "--refresh"])
        .run()
        .success();
    let cache = sandbox.path(".tfw/complete-states.json");
    let mode = |path: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(&cache), 0o600);
    let out = sandbox.tfw(&["complete-states"]).run();
    out.success();
    assert_eq!(out.stdout, "dev-alice\nperf\nprod\nstaging\n");

    // GitLab stops answering; tfw would wait 120 s for it, the test only 60.
    sandbox
        .gitlab
        .fault(Fault::hang(Route::GraphQL, Duration::from_secs(120)));
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    old["at"] = json!(0);
    std::fs::write(&cache, old.to_string()).unwrap();
    sandbox.gitlab.clear_requests();
    let out = sandbox
        .tfw(&["complete-states"])
        .env("TFW_HTTP_TIMEOUT", "120")
        .timeout(Duration::from_secs(60))
        .run();
    out.success();
    assert_eq!(out.stdout, "dev-alice\nperf\nprod\nstaging\n");
    assert_eq!(out.stderr(), "");

    // No cache at all: nothing, at once, while GitLab still holds the question.
    std::fs::remove_file(&cache).unwrap();
    let out = sandbox
        .tfw(&["complete-states"])
        .env("TFW_HTTP_TIMEOUT", "120")
        .timeout(Duration::from_secs(60))
        .run();
    out.success();
    assert_eq!(out.stdout, "");
    assert!(
        sandbox
            .gitlab
            .requests()
            .iter()
            .any(|r| r.url.contains("graphql") && r.status == 0),
        "GitLab was not asked, or answered"
    );
}

#[test]
fn setup_lets_the_url_and_the_username_be_corrected_after_a_refused_token() {
    let sandbox = Sandbox::empty();
    // A GitLab that knows nobody: every token is refused there.
    let elsewhere = GitLab::start_empty();
    let mut tty = Tty::start(&sandbox, &["setup", "--project", "group/infra"]);
    tty.expect("GitLab URL");
    tty.send_line(&elsewhere.url());
    tty.expect("GitLab username");
    tty.send_line("alcie");
    tty.expect("Access token (hidden)");
    secret(&mut tty, ALICE_TOKEN);
    tty.expect("Correct which answer?");
    // Down once: the username.
    tty.send("\x1b[B\r");
    tty.expect("GitLab username");
    tty.send_line("alice");
    tty.expect("Correct which answer?");
    // Down twice: the URL.
    tty.send("\x1b[B\x1b[B\r");
    tty.expect("GitLab URL");
    // The wrong URL is the default: replaced by typing.
    tty.send_line(&sandbox.gitlab.url());
    tty.expect("Wrote `.env` (mode 600)");
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    let env = sandbox.read(".env");
    assert!(
        env.contains(&format!("GITLAB_URL=\"{}\"", sandbox.gitlab.url())),
        "{env}"
    );
    assert!(env.contains("TF_HTTP_USERNAME=\"alice\""), "{env}");
    assert!(!seen.contains(ALICE_TOKEN), "{seen}");
}

/// Types into the hidden prompt once it has turned echo off (typed before, it is flushed).
fn secret(tty: &mut Tty, text: &str) {
    while tty.session.get_process().get_echo().unwrap_or(false) {
        std::thread::sleep(Duration::from_millis(20));
    }
    tty.send_line(text);
}
