//! Issue "Reliability": GitLab misbehaving, one fault at a time. Every case checks the same
//! four things: tfw's exit code, an `error:` that names the cause and a `hint:` that names the
//! fix, no secret anywhere in the output, and the state on the server unchanged (or, where a
//! fault leaves something behind, exactly what tfw says is left). The faults come from the
//! GitLab test server (`Fault`); terraform's own client retries, so `.env` makes it retry once,
//! without waiting, and tfw's own calls wait `TFW_HTTP_TIMEOUT=2` seconds.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::support::gitlab::{ALICE_TOKEN, Fault, Route, basic_auth, closed_port_url};
use crate::support::{MAIN_TF, Out, Sandbox};

const LOCKED_BY_BOB: &str = r#"{"ID":"5e1f0c2a-0000-4000-8000-00000000b0b0","Operation":"OperationTypeApply","Info":"","Who":"bob","Version":"1.0.3","Created":"2026-11-20T09:15:00Z","Path":""}"#;

/// How the server and the working directory look after the failed command.
#[derive(Debug, Clone, Copy, PartialEq)]
enum After {
    /// No new version, no lock: nothing happened.
    Unchanged,
    /// No new version; the lock the fault left (terraform's unlock failed) is still alice's,
    /// and tfw said so.
    LockLeftByAlice,
    /// No new version; bob's lock (set up by the case) is untouched.
    LockedByBob,
    /// The write was refused: no new version, no lock, and the new state is in
    /// `errored.tfstate`, readable by its owner only.
    Errored,
}

/// What the sandbox looks like before the fault.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Setup {
    Normal,
    /// `tfw plan` ran first: `tfw apply` then uses the saved plan, so the first state
    /// download is terraform's (1.0 reads the state to show the plan to the gate) and the
    /// second tfw's own backup.
    SavedPlan,
    UnknownToken,
    MissingProject,
    Unreachable,
    BobHoldsTheLock,
}

struct Case {
    name: &'static str,
    setup: Setup,
    faults: Vec<Fault>,
    args: &'static [&'static str],
    code: i32,
    /// In an `error:` line.
    cause: &'static str,
    /// In a `hint:` line.
    fix: &'static str,
    after: After,
}

fn case(
    name: &'static str,
    setup: Setup,
    faults: Vec<Fault>,
    args: &'static [&'static str],
    (cause, fix): (&'static str, &'static str),
    after: After,
) -> Case {
    Case {
        name,
        setup,
        faults,
        args,
        code: 1,
        cause,
        fix,
        after,
    }
}

const APPLY: &[&str] = &["apply", "--auto-approve"];

fn post(route: Route, status: u16) -> Fault {
    Fault::status(route, status).method("POST")
}

/// Faults on the calls terraform makes (lock, read, write, unlock).
fn terraform_cases() -> Vec<Case> {
    use After::*;
    use Setup::*;
    let write_refused = "was NOT saved to GitLab";
    let errored_fix = "tfw exec -- state push errored.tfstate";
    vec![
        case(
            "unknown token (401)",
            UnknownToken,
            vec![],
            APPLY,
            (
                "does not know the token in `TF_HTTP_PASSWORD`",
                "personal_access_tokens?name=tfw&scopes=api",
            ),
            Unchanged,
        ),
        case(
            "401 on every call",
            Normal,
            vec![Fault::status(Route::Any, 401)],
            APPLY,
            (
                "does not know the token in `TF_HTTP_PASSWORD`",
                "personal_access_tokens?name=tfw&scopes=api",
            ),
            Unchanged,
        ),
        // A plain 403 to a Maintainer of an unarchived project with an `api` token: GitLab's
        // answer gives no cause, so tfw names none and says what to check.
        case(
            "403 on lock, no cause given",
            Normal,
            vec![post(Route::Lock, 403)],
            APPLY,
            (
                "refused to lock `dev-alice`: GitLab refused this (403 Forbidden) although your role is Maintainer",
                "state protection rule",
            ),
            Unchanged,
        ),
        case(
            "403 on the state write",
            Normal,
            vec![post(Route::State, 403)],
            APPLY,
            (write_refused, errored_fix),
            Errored,
        ),
        case(
            "404: no such project",
            MissingProject,
            vec![],
            APPLY,
            (
                "shows no project `4242` to this token (404)",
                "GITLAB_PROJECT",
            ),
            Unchanged,
        ),
        case(
            "404 on lock",
            Normal,
            vec![post(Route::Lock, 404)],
            &["plan"],
            ("could not lock state `dev-alice`", "GITLAB_PROJECT"),
            Unchanged,
        ),
        case(
            "409: bob holds the lock",
            BobHoldsTheLock,
            vec![],
            APPLY,
            ("locked by bob", "tfw state unlock dev-alice --force"),
            LockedByBob,
        ),
        case(
            "409 lock answer, holder unknown to GitLab",
            Normal,
            vec![Fault::respond(Route::Lock, 409, LOCKED_BY_BOB).method("POST")],
            APPLY,
            (
                "lock ID 5e1f0c2a-0000-4000-8000-00000000b0b0",
                "run the command again",
            ),
            Unchanged,
        ),
        case(
            "422 duplicate serial",
            Normal,
            vec![
                Fault::respond(
                    Route::State,
                    422,
                    r#"{"message":"Version has already been taken"}"#,
                )
                .method("POST"),
            ],
            APPLY,
            ("refused the request (422)", errored_fix),
            Errored,
        ),
        // GitLab's answer to a write whose lock ID is not the held lock's, and to a server
        // error alike: tfw says both, and what the lock looks like now.
        case(
            "500 on the state write",
            Normal,
            vec![post(Route::State, 500)],
            APPLY,
            (
                "whose lock ID does not match the lock it holds",
                errored_fix,
            ),
            Errored,
        ),
        case(
            "422: the state is being deleted",
            Normal,
            vec![
                Fault::respond(Route::State, 422, r#"{"message":"State is deleted"}"#)
                    .method("GET"),
            ],
            APPLY,
            ("is being deleted", "the name can be used again"),
            Unchanged,
        ),
        case(
            "500 on read",
            Normal,
            vec![Fault::status(Route::State, 500).method("GET")],
            APPLY,
            ("could not read state `dev-alice`", "try again"),
            Unchanged,
        ),
        case(
            "500 on lock",
            Normal,
            vec![post(Route::Lock, 500)],
            APPLY,
            ("could not lock state `dev-alice`", "try again"),
            Unchanged,
        ),
        case(
            "500 on unlock",
            Normal,
            vec![Fault::status(Route::Lock, 500).method("DELETE")],
            APPLY,
            (
                "could not release its lock on `dev-alice`",
                "tfw state unlock dev-alice",
            ),
            LockLeftByAlice,
        ),
        case(
            "truncated state download",
            Normal,
            vec![Fault::truncate(Route::State).method("GET")],
            APPLY,
            ("broke before the whole answer arrived", "try again"),
            Unchanged,
        ),
        case(
            "lock request never answered",
            Normal,
            vec![Fault::hang(Route::Lock, Duration::from_secs(2)).method("POST")],
            &["plan"],
            ("could not lock state `dev-alice`", "try again"),
            Unchanged,
        ),
        case(
            "connection refused",
            Unreachable,
            vec![],
            APPLY,
            ("connection refused", "check the URL in .env"),
            Unchanged,
        ),
        case(
            "connection refused, plan",
            Unreachable,
            vec![],
            &["plan"],
            ("connection refused", "check the URL in .env"),
            Unchanged,
        ),
    ]
}

/// The state download terraform 1.0 makes to show the saved plan (the gate's `show -json`)
/// goes through; `fault` hits the next one, tfw's own backup.
fn after_the_gates_read(fault: Fault) -> Vec<Fault> {
    vec![Fault::pass(Route::State).method("GET").times(1), fault]
}

/// Faults on tfw's own calls: the backup before an apply, the lock holder lookup, doctor.
fn tfw_cases() -> Vec<Case> {
    use After::*;
    use Setup::*;
    vec![
        case(
            "backup: no answer",
            SavedPlan,
            after_the_gates_read(Fault::hang(Route::State, Duration::from_secs(30)).method("GET")),
            APPLY,
            ("did not answer in time", "TFW_HTTP_TIMEOUT"),
            Unchanged,
        ),
        case(
            "backup: truncated answer",
            SavedPlan,
            after_the_gates_read(Fault::truncate(Route::State).method("GET")),
            APPLY,
            ("broke before the whole answer arrived", "try again"),
            Unchanged,
        ),
        case(
            "backup: 500",
            SavedPlan,
            after_the_gates_read(Fault::status(Route::State, 500).method("GET")),
            APPLY,
            ("GitLab answered 500", "try again in a moment"),
            Unchanged,
        ),
        case(
            "backup: 401",
            SavedPlan,
            after_the_gates_read(Fault::status(Route::State, 401).method("GET")),
            APPLY,
            (
                "does not know the token in `TF_HTTP_PASSWORD`",
                "personal_access_tokens?name=tfw&scopes=api",
            ),
            Unchanged,
        ),
        case(
            "lock holder lookup never answered",
            BobHoldsTheLock,
            vec![Fault::hang(Route::GraphQL, Duration::from_secs(30))],
            &["plan"],
            ("is locked", "tfw state unlock dev-alice --force"),
            LockedByBob,
        ),
        case(
            "doctor: connection refused",
            Unreachable,
            vec![],
            &["doctor"],
            ("connection refused", "check the URL in .env"),
            Unchanged,
        ),
        case(
            "doctor: 401",
            UnknownToken,
            vec![],
            &["doctor"],
            ("401", "TF_HTTP_PASSWORD"),
            Unchanged,
        ),
        case(
            "state list: 500",
            Normal,
            vec![Fault::status(Route::GraphQL, 500)],
            &["state", "list"],
            ("500", "try again"),
            Unchanged,
        ),
        case(
            "state list: no answer",
            Normal,
            vec![Fault::hang(Route::GraphQL, Duration::from_secs(30))],
            &["state", "list"],
            ("did not answer in time", "TFW_HTTP_TIMEOUT"),
            Unchanged,
        ),
        case(
            "state show: truncated download",
            Normal,
            vec![Fault::truncate(Route::State).method("GET")],
            &["state", "show"],
            ("broke before the whole answer arrived", "try again"),
            Unchanged,
        ),
    ]
}

/// A state applied once (output "hello"), then the configuration changed to "changed", and
/// terraform's client told to retry once without waiting.
fn prepared(setup: Setup) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.tfw(APPLY).run().success();
    sandbox.write("main.tf", MAIN_TF.replace("hello", "changed"));
    let mut env = sandbox.read(".env");
    env.push_str("TF_HTTP_RETRY_MAX=1\nTF_HTTP_RETRY_WAIT_MIN=0\nTF_HTTP_RETRY_WAIT_MAX=1\n");
    match setup {
        Setup::Normal | Setup::SavedPlan | Setup::BobHoldsTheLock => {}
        Setup::UnknownToken => env = env.replace(ALICE_TOKEN, "glpat-unknown-00000000000000"),
        Setup::MissingProject => env = env.replace("/projects/42/", "/projects/4242/"),
        Setup::Unreachable => env = env.replace(&sandbox.gitlab.url(), &closed_port_url()),
    }
    sandbox.write(".env", env);
    if setup == Setup::SavedPlan {
        sandbox.tfw(&["plan"]).run().success();
    }
    if setup == Setup::BobHoldsTheLock {
        sandbox.gitlab.set_lock(
            "42",
            "dev-alice",
            serde_json::from_str(LOCKED_BY_BOB).unwrap(),
        );
    }
    sandbox
}

#[track_caller]
fn check_message(case: &Case, out: &Out) {
    let lines = |prefix: &str| -> Vec<&str> {
        out.stderr()
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect()
    };
    assert!(
        lines("error:")
            .iter()
            .any(|l| l.to_lowercase().contains(&case.cause.to_lowercase())),
        "[{}] no `error:` line names the cause {:?}\n--- stderr\n{}",
        case.name,
        case.cause,
        out.stderr()
    );
    assert!(
        lines("hint:").iter().any(|l| l.contains(case.fix)),
        "[{}] no `hint:` line names the fix {:?}\n--- stderr\n{}",
        case.name,
        case.fix,
        out.stderr()
    );
    for secret in [ALICE_TOKEN.to_string(), basic_auth("alice", ALICE_TOKEN)] {
        assert!(
            !out.all().contains(&secret),
            "[{}] the token leaked:\n{}",
            case.name,
            out.all()
        );
    }
}

#[track_caller]
fn check_server(case: &Case, sandbox: &Sandbox, before: &[(u64, Vec<u8>)], out: &Out) {
    let name = case.name;
    assert_eq!(
        sandbox.gitlab.versions("42", "dev-alice"),
        before,
        "[{name}] the state on the server changed\n{}",
        out.stderr()
    );
    let lock = sandbox.gitlab.lock("42", "dev-alice");
    let holder = lock
        .as_ref()
        .and_then(|l| l["Who"].as_str().map(str::to_string));
    match case.after {
        After::Unchanged | After::Errored => {
            assert_eq!(
                holder,
                None,
                "[{name}] a lock was left behind\n{}",
                out.stderr()
            )
        }
        After::LockLeftByAlice => {
            assert_eq!(holder.as_deref(), Some("alice"), "[{name}]");
            assert!(
                out.stderr().contains("still locked by alice"),
                "[{name}] {}",
                out.stderr()
            );
        }
        After::LockedByBob => assert_eq!(holder.as_deref(), Some("bob"), "[{name}]"),
    }
    let errored = sandbox.path("errored.tfstate");
    if case.after == After::Errored {
        let text = std::fs::read_to_string(&errored).expect("terraform keeps errored.tfstate");
        assert!(
            text.contains("changed"),
            "[{name}] errored.tfstate holds the new state"
        );
        assert!(!text.contains(ALICE_TOKEN));
        let mode = std::fs::metadata(&errored).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "[{name}] errored.tfstate holds secrets: owner only"
        );
    } else {
        assert!(!errored.exists(), "[{name}] unexpected errored.tfstate");
    }
}

/// Runs every case and reports every failing one at once (one broken message should not hide
/// the next).
fn run_table(cases: Vec<Case>) -> usize {
    let count = cases.len();
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|case| {
            let name = case.name;
            std::panic::catch_unwind(move || run_case(&case))
                .err()
                .map(|panic| {
                    let text = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    format!("=== {name}\n{text}")
                })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {count} fault cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    count
}

fn run_case(case: &Case) {
    let sandbox = prepared(case.setup);
    let before = sandbox.gitlab.versions("42", "dev-alice");
    assert!(!before.is_empty());
    let plan_before = sandbox.path(".tfw/plans/dev-alice.tfplan").exists();
    for fault in case.faults.clone() {
        sandbox.gitlab.fault(fault);
    }
    let out = sandbox.tfw(case.args).env("TFW_HTTP_TIMEOUT", "2").run();
    if std::env::var_os("TFW_FAULTS_SHOW").is_some() {
        // `TFW_FAULTS_SHOW=1 cargo test --test tfw faults:: -- --nocapture` prints every
        // message, to review the wording.
        eprintln!(
            "=== {} (exit {:?})\n{}",
            case.name,
            out.status(),
            out.stderr()
        );
    }
    assert_eq!(
        out.status(),
        Some(case.code),
        "[{}] exit code\n--- stderr\n{}",
        case.name,
        out.stderr()
    );
    check_message(case, &out);
    check_server(case, &sandbox, &before, &out);
    if plan_before {
        // tfw's own call failed before terraform ran: the reviewed plan is kept for a retry.
        assert!(
            sandbox.path(".tfw/plans/dev-alice.tfplan").exists(),
            "[{}]",
            case.name
        );
    }
    let previous = &before.last().unwrap().1;
    let backups = std::fs::read_dir(sandbox.path(".tfw/backups/dev-alice"));
    for entry in backups.into_iter().flatten().flatten() {
        assert_eq!(
            &std::fs::read(entry.path()).unwrap(),
            previous,
            "[{}] a backup differs from the state it copies",
            case.name
        );
    }
}

#[test]
fn terraform_meets_a_failing_gitlab() {
    let count = run_table(terraform_cases());
    assert!(count >= 18);
}

#[test]
fn tfw_meets_a_failing_gitlab() {
    let count = run_table(tfw_cases());
    assert!(count >= 10);
}

/// After the fault is gone, the same command just works: nothing was left half-done.
#[test]
fn a_retry_after_the_fault_succeeds() {
    let sandbox = prepared(Setup::Normal);
    sandbox.gitlab.fault(post(Route::Lock, 500));
    sandbox.tfw(APPLY).run().code(1);
    sandbox.gitlab.clear_faults();
    sandbox.tfw(APPLY).run().success();
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(state["outputs"]["greeting"]["value"], "changed");
    assert_eq!(sandbox.gitlab.versions("42", "dev-alice").len(), 2);
}

/// A refused write leaves `errored.tfstate`; once GitLab works, the command tfw names puts the
/// state back where it belongs, and nothing is lost.
#[test]
fn errored_state_can_be_pushed_as_the_hint_says() {
    let sandbox = prepared(Setup::Normal);
    sandbox.gitlab.fault(post(Route::State, 500));
    sandbox
        .tfw(APPLY)
        .run()
        .code(1)
        .stderr_has("tfw exec -- state push errored.tfstate");
    sandbox.gitlab.clear_faults();
    sandbox
        .tfw(&["exec", "--", "state", "push", "errored.tfstate"])
        .run()
        .success();
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(state["outputs"]["greeting"]["value"], "changed");
    assert!(sandbox.gitlab.lock("42", "dev-alice").is_none());
    sandbox
        .tfw(&["plan", "--", "-detailed-exitcode"])
        .run()
        .code(0);
}
