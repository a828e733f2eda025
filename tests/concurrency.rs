//! Issue "Reliability": two applies on the same state at once. One wins; the other stops
//! before changing anything and names the lock holder (or, when the winner finished between
//! its plan and its apply, says the state changed since its plan); no update is ever lost:
//! every successful apply is a version on the server, each on top of the one before.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::gitlab::{ALICE_TOKEN, BOB_TOKEN, Fault, Route};
use crate::support::{Cmd, MAIN_TF, Out, Sandbox, wait_with_output};

const STATE: &str = "shared";

/// alice's checkout is the sandbox; bob's is a second directory on the same server. Both
/// work on the state `shared`, applied once ("hello").
struct Team {
    sandbox: Sandbox,
    bob_dir: tempfile::TempDir,
}

impl Team {
    fn new() -> Team {
        let sandbox = Sandbox::new();
        sandbox.seed_env("alice", ALICE_TOKEN, STATE);
        let bob_dir = tempfile::tempdir().unwrap();
        let bob = bob_dir.path();
        std::fs::write(bob.join("main.tf"), MAIN_TF).unwrap();
        let env = sandbox.seed_env_text("bob", BOB_TOKEN, STATE);
        std::fs::write(bob.join(".env"), env).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bob.join(".env"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let team = Team { sandbox, bob_dir };
        team.alice(&["apply", "--auto-approve"]).run().success();
        team
    }

    fn alice(&self, args: &[&str]) -> Cmd {
        self.sandbox.tfw(args)
    }

    fn bob(&self, args: &[&str]) -> Cmd {
        let dir = self.bob_dir.path().to_str().unwrap().to_string();
        let mut all = vec!["-C", dir.as_str()];
        all.extend_from_slice(args);
        self.sandbox.tfw(&all)
    }

    fn set_greeting(&self, who: &str, greeting: &str) {
        let dir: PathBuf = match who {
            "alice" => self.sandbox.dir.path().to_path_buf(),
            _ => self.bob_dir.path().to_path_buf(),
        };
        std::fs::write(dir.join("main.tf"), MAIN_TF.replace("hello", greeting)).unwrap();
    }

    fn versions(&self) -> Vec<serde_json::Value> {
        self.sandbox
            .gitlab
            .versions("42", STATE)
            .into_iter()
            .map(|(_, bytes)| serde_json::from_slice(&bytes).unwrap())
            .collect()
    }
}

fn greeting(state: &serde_json::Value) -> &str {
    state["outputs"]["greeting"]["value"].as_str().unwrap_or("")
}

/// Serials one apart, one lineage: nothing written on top of a stale state.
#[track_caller]
fn history_is_linear(versions: &[serde_json::Value]) {
    for pair in versions.windows(2) {
        assert_eq!(
            pair[1]["serial"].as_u64(),
            pair[0]["serial"].as_u64().map(|s| s + 1),
            "{versions:#?}"
        );
        assert_eq!(pair[1]["lineage"], pair[0]["lineage"]);
    }
}

#[test]
fn the_second_apply_names_the_lock_holder_and_changes_nothing() {
    let team = Team::new();
    team.set_greeting("alice", "from alice");
    team.set_greeting("bob", "from bob");
    // alice's state write takes a while: bob starts while she holds the lock.
    team.sandbox.gitlab.fault(
        Fault::delay(Route::State, Duration::from_secs(3))
            .method("POST")
            .times(1),
    );
    team.sandbox.gitlab.clear_requests();
    let alice = team.alice(&["apply", "--auto-approve"]).spawn();
    let writing = team
        .sandbox
        .gitlab
        .wait_for_request(Duration::from_secs(60), |r| {
            r.method == "POST" && r.url.contains(&format!("/state/{STATE}?ID="))
        });
    assert!(writing.is_some(), "alice's apply never reached its write");
    let bob = team.bob(&["apply", "--auto-approve"]).run();
    let alice = wait_with_output(alice, Duration::from_secs(120));

    alice.success();
    assert_eq!(bob.status(), Some(1), "{}", bob.stderr());
    bob.stderr_has(&format!("state `{STATE}` is locked by alice"))
        .stderr_has("wait for alice to finish");
    assert!(
        bob.stderr().lines().any(|l| l.starts_with("hint:")),
        "{}",
        bob.stderr()
    );
    let versions = team.versions();
    assert_eq!(versions.len(), 2, "bob wrote nothing");
    assert_eq!(greeting(versions.last().unwrap()), "from alice");
    assert!(team.sandbox.gitlab.lock("42", STATE).is_none());

    // bob runs again: his change lands on top of alice's.
    team.bob(&["apply", "--auto-approve"]).run().success();
    let versions = team.versions();
    assert_eq!(versions.len(), 3);
    assert_eq!(greeting(versions.last().unwrap()), "from bob");
    history_is_linear(&versions);
}

#[test]
fn a_plan_overtaken_by_another_apply_is_refused() {
    let team = Team::new();
    team.set_greeting("bob", "from bob");
    team.bob(&["plan"]).run().success();
    // alice applies between bob's plan and bob's apply.
    team.set_greeting("alice", "from alice");
    team.alice(&["apply", "--auto-approve"]).run().success();
    let bob = team.bob(&["apply", "--auto-approve"]).run();
    assert_eq!(bob.status(), Some(1), "{}", bob.stderr());
    bob.stderr_has(&format!("state `{STATE}` changed since the plan was made"))
        .stderr_has("hint: run `tfw plan` again");
    let versions = team.versions();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        greeting(versions.last().unwrap()),
        "from alice",
        "alice's update is not lost"
    );
    assert!(team.sandbox.gitlab.lock("42", STATE).is_none());
    team.bob(&["plan"]).run().success();
    team.bob(&["apply", "--auto-approve"]).run().success();
    history_is_linear(&team.versions());
}

/// Started at the same moment, round after round, with no choreography: whatever the timing,
/// each run either succeeds or says why it did not (the holder, or a changed state), every
/// success is a version, and the history stays linear.
#[test]
fn racing_applies_never_lose_an_update() {
    let team = Team::new();
    let mut successes = 0;
    let mut refusals = 0;
    for round in 0..6 {
        let (a, b) = (format!("alice {round}"), format!("bob {round}"));
        team.set_greeting("alice", &a);
        team.set_greeting("bob", &b);
        let before = team.versions().len();
        let alice = team.alice(&["apply", "--auto-approve"]).spawn();
        let bob = team.bob(&["apply", "--auto-approve"]).spawn();
        let outs: Vec<(String, Out)> = vec![
            (a, wait_with_output(alice, Duration::from_secs(120))),
            (b, wait_with_output(bob, Duration::from_secs(120))),
        ];
        let versions = team.versions();
        let written: Vec<&str> = versions[before..].iter().map(greeting).collect();
        let mut won = 0;
        for (greeting, out) in &outs {
            if out.status() == Some(0) {
                won += 1;
                assert!(
                    written.contains(&greeting.as_str()),
                    "[round {round}] `{greeting}` succeeded but is not on the server: {written:?}"
                );
            } else {
                refusals += 1;
                assert_eq!(out.status(), Some(1), "[round {round}] {}", out.stderr());
                assert!(
                    [
                        "is locked by",
                        "was locked by another run",
                        "changed since the plan was made"
                    ]
                    .iter()
                    .any(|why| out.stderr().contains(why)),
                    "[round {round}] a refusal must say why:\n{}",
                    out.stderr()
                );
                assert!(
                    !written.contains(&greeting.as_str()),
                    "[round {round}] a refused apply wrote"
                );
            }
        }
        assert!(
            won >= 1,
            "[round {round}] nobody won:\n{}\n{}",
            outs[0].1.stderr(),
            outs[1].1.stderr()
        );
        assert_eq!(
            written.len(),
            won,
            "[round {round}] one version per success"
        );
        successes += won;
        assert!(
            team.sandbox.gitlab.lock("42", STATE).is_none(),
            "[round {round}] a lock was left"
        );
    }
    history_is_linear(&team.versions());
    assert_eq!(team.versions().len(), 1 + successes);
    eprintln!("{successes} applies won, {refusals} refused");
}

/// Two applies in one checkout (two terminals): they share `.terraform/` and the saved plans,
/// so tfw runs them one after the other; the second says who is running.
#[test]
fn two_applies_in_one_directory() {
    let team = Team::new();
    let mut refused = 0;
    for round in 0..6 {
        team.set_greeting("alice", &format!("v{round}"));
        let before = team.versions().len();
        let first = team.alice(&["apply", "--auto-approve"]).spawn();
        let second = team.alice(&["apply", "--auto-approve"]).spawn();
        let outs = [
            wait_with_output(first, Duration::from_secs(120)),
            wait_with_output(second, Duration::from_secs(120)),
        ];
        let won = outs.iter().filter(|o| o.status() == Some(0)).count();
        assert!(
            won >= 1,
            "[round {round}] nobody won:\n{}\n{}",
            outs[0].stderr(),
            outs[1].stderr()
        );
        for out in outs.iter().filter(|o| o.status() != Some(0)) {
            refused += 1;
            assert_eq!(out.status(), Some(1), "[round {round}] {}", out.stderr());
            out.stderr_has("tfw apply --auto-approve (pid ")
                .stderr_has("is running in this directory; nothing was changed");
        }
        let versions = team.versions();
        assert_eq!(
            versions.len(),
            before + 1,
            "[round {round}] the change is applied once"
        );
        assert_eq!(greeting(versions.last().unwrap()), format!("v{round}"));
        assert!(team.sandbox.gitlab.lock("42", STATE).is_none());
    }
    history_is_linear(&team.versions());
    eprintln!("{refused} of 12 applies were refused while the other ran");
}
