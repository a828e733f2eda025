//! Issue 20, items 4 and 6 (second part): messages are tfw's own (a network failure says
//! what was tried and what to do, zero counts read naturally, a crash names only files that
//! exist), and every `TFW_*` setting is read like the others, `.env` included, and shown.

use std::time::Duration;

use crate::support::gitlab::{Fault, Route, closed_port_url};
use crate::support::tty::Tty;
use crate::support::{Sandbox, terraform};

#[test]
fn an_unreachable_gitlab_is_described_by_what_was_tried() {
    let sandbox = Sandbox::new();
    let url = closed_port_url();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let env = sandbox.read(".env").replace(&sandbox.gitlab.url(), &url);
    sandbox.write(".env", env);
    let out = sandbox.tfw(&["state", "list"]).run();
    out.code(1)
        .stderr_has(&format!(
            "cannot reach GitLab at {host}: connection refused"
        ))
        .stderr_has("tried directly (no proxy applies)")
        .stderr_has("hint: check the URL in .env")
        .lacks("Network Error");
}

#[test]
fn a_proxy_is_named_with_its_variable_and_never_its_password() {
    let sandbox = Sandbox::new();
    let proxy = closed_port_url();
    let shown = proxy.trim_end_matches('/');
    let with_password = proxy.replace("http://", "http://bob:hunter2hunter@");
    // No name lookup happens: the (refusing) proxy on loopback is asked first.
    sandbox.write(
        ".env",
        "GITLAB_URL=http://gitlab.invalid\nGITLAB_PROJECT=42\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD=glpat-alice-0123456789abcdef\n",
    );
    let out = sandbox
        .tfw(&["state", "list"])
        .env("HTTP_PROXY", &with_password)
        .run();
    out.code(1)
        .stderr_has("cannot reach GitLab at gitlab.invalid:80")
        .stderr_has(&format!("through the proxy {shown} (HTTP_PROXY)"))
        .stderr_has("NO_PROXY")
        .lacks("hunter2hunter")
        .lacks("Network Error");
}

#[test]
fn tfw_http_timeout_in_dotenv_is_used_and_shown_with_its_line() {
    let sandbox = Sandbox::new();
    let mut env = sandbox.read(".env");
    env.push_str("TFW_HTTP_TIMEOUT=1\n");
    let line = env.lines().count();
    sandbox.write(".env", &env);
    let out = sandbox.tfw(&["env"]).env_remove("TFW_HTTP_TIMEOUT").run();
    out.success();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("TFW_HTTP_TIMEOUT"))
        .unwrap_or_else(|| panic!("no TFW_HTTP_TIMEOUT row:\n{}", out.stdout));
    assert!(row.contains(&format!(".env:{line})")), "{row}");
    assert!(
        out.stdout
            .contains("directly (no proxy applies), waiting 1 s"),
        "{}",
        out.stdout
    );

    sandbox
        .gitlab
        .fault(Fault::hang(Route::GraphQL, Duration::from_secs(30)));
    let out = sandbox
        .tfw(&["state", "list"])
        .env_remove("TFW_HTTP_TIMEOUT")
        .timeout(Duration::from_secs(25))
        .run();
    out.code(1)
        .stderr_has("did not answer in time: no answer within 1 s")
        .stderr_has(&format!("now 1, {}", sandbox.path(".env").display()));

    // Unset, the default is shown as such; a typo is named, not ignored.
    sandbox.write(
        ".env",
        env.replace("TFW_HTTP_TIMEOUT=1", "TFW_HTTP_TIMOUT=5"),
    );
    let out = sandbox.tfw(&["env"]).env_remove("TFW_HTTP_TIMEOUT").run();
    out.success()
        .stderr_has("`TFW_HTTP_TIMOUT` is not a tfw setting")
        .stderr_has("did you mean `TFW_HTTP_TIMEOUT`?");
    assert!(
        out.stdout.lines().any(|l| l.starts_with("TFW_HTTP_TIMEOUT")
            && l.contains("30")
            && l.contains("(default)")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_destroy_with_nothing_to_destroy_says_so() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let mut tty = Tty::start(&sandbox, &["destroy"]);
    tty.expect("Destroy on state dev-alice: nothing to destroy");
    tty.expect("Type `yes` to destroy `dev-alice`");
    tty.send_line("no");
    let (seen, code) = tty.finish();
    assert_eq!(code, 1, "{seen}");
    assert!(!seen.contains("0 to destroy"), "{seen}");
    assert!(!seen.contains("0 to add"), "{seen}");
}

#[test]
fn a_crash_names_crash_log_only_when_there_is_one() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.write(
        "main.tf",
        crate::support::MAIN_TF.replace("hello", "changed"),
    );
    let script = format!(
        "real='{}'\nif [ \"$1\" = apply ]; then\n  [ -n \"$WRITE_CRASH_LOG\" ] && echo 'goroutine 1' > crash.log\n  echo 'panic: runtime error: invalid memory address' >&2\n  exit 11\nfi\nexec \"$real\" \"$@\"",
        terraform().display()
    );
    let binary = sandbox.fake_binary("terraform-panicking", &script);
    let out = sandbox
        .tfw(&["apply", "--auto-approve"])
        .env("TFW_BINARY", &binary)
        .run();
    out.code(11)
        .stderr_has("crashed (exit 11; its panic message is above)")
        .lacks("crash.log");
    sandbox.write("main.tf", crate::support::MAIN_TF.replace("hello", "again"));
    let out = sandbox
        .tfw(&["apply", "--auto-approve"])
        .env("TFW_BINARY", &binary)
        .env("WRITE_CRASH_LOG", "1")
        .run();
    out.code(11)
        .stderr_has("crashed (exit 11; see `crash.log`)");
}
