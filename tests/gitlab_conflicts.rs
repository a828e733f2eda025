//! GitLab's conflicts on a state's lock, produced from the state as GitLab produces them
//! (issue 14, item 2): a lock held by someone else (409 with the holder's LockInfo), an unlock
//! naming a lock that is no longer held (409), a lock request racing its holder's unlock (500:
//! the holder is gone before GitLab reads it back), a write after the lock was taken over
//! (500), and GitLab's 409 that is not about a Terraform lock at all (`409 Conflict: Resource
//! lock`, injected: it needs two database transactions colliding). tfw names each cause.
use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::support::client::{alice, lock_body, send};
use crate::support::gitlab::{BOB, Fault, GitLab, Meanwhile, Route};

const PROJECT: &str = "42";
const BOB_LOCK: &str = "b0b0b0b0-0000-4000-8000-00000000b0b0";

fn doc(serial: u64) -> Vec<u8> {
    format!(r#"{{"version":4,"terraform_version":"1.0.3","serial":{serial},"lineage":"l-1","outputs":{{}},"resources":[]}}"#)
        .into_bytes()
}

fn bob_locks(gl: &GitLab, state: &str) {
    gl.set_lock(
        PROJECT,
        state,
        json!({ "ID": BOB_LOCK, "Who": BOB, "Created": "2026-11-20T09:15:00Z" }),
    );
}

#[test]
fn gitlab_answers_overlapping_lock_requests_from_the_state() {
    let gl = GitLab::start();
    gl.put_state(PROJECT, "dev", &doc(1));
    let lock = format!("{}/lock", gl.state_url(PROJECT, "dev"));

    // The holder releases between `lock!` and the read-back: `nil.username`, a 500.
    bob_locks(&gl, "dev");
    gl.meanwhile(Route::Lock, "POST", "dev", Meanwhile::Unlock);
    let raced = send("POST", &lock, &alice(), Some(&lock_body("a11ce", "alice")));
    assert_eq!(raced.status, 500);
    assert_eq!(
        raced.json(),
        json!({ "message": "500 Internal Server Error" })
    );
    assert_eq!(gl.lock(PROJECT, "dev"), None);
    assert_eq!(
        send("POST", &lock, &alice(), Some(&lock_body("a11ce", "alice"))).status,
        200
    );

    // Released and taken by someone else meanwhile: the 409 names who holds it now.
    gl.meanwhile(
        Route::Lock,
        "POST",
        "dev",
        Meanwhile::Relock {
            who: BOB.into(),
            id: "b0b-2".into(),
        },
    );
    let taken = send(
        "POST",
        &lock,
        &alice(),
        Some(&lock_body("a11ce-2", "alice")),
    );
    assert_eq!(taken.status, 409);
    assert_eq!(
        (taken.json()["ID"].clone(), taken.json()["Who"].clone()),
        (json!("b0b-2"), json!(BOB))
    );

    // `delete '/lock'` answers with the value of `status`: the code itself.
    let wrong = send("DELETE", &format!("{lock}?ID=a11ce"), &alice(), None);
    assert_eq!((wrong.status, wrong.json()), (409, json!(409)));
    let released = send("DELETE", &format!("{lock}?ID=b0b-2"), &alice(), None);
    assert_eq!((released.status, released.json()), (200, json!(200)));
}

#[test]
fn tfw_unlock_racing_the_holders_own_unlock_releases_nothing_and_says_so() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(PROJECT, "dev-alice", &doc(1));
    bob_locks(&sandbox.gitlab, "dev-alice");
    sandbox
        .gitlab
        .meanwhile(Route::Lock, "POST", "dev-alice", Meanwhile::Unlock);
    sandbox
        .tfw(&["state", "unlock", "--force", "--confirm", "dev-alice"])
        .run()
        .success()
        .stderr_has("the lock on `dev-alice` was released meanwhile; nothing to do");
    let statuses: Vec<u16> = sandbox
        .gitlab
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/lock") && r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [500, 200], "GitLab's 500, then tfw's one retry");
    assert_eq!(sandbox.gitlab.lock(PROJECT, "dev-alice"), None);
}

#[test]
fn a_lock_taken_over_before_tfw_releases_it_is_left_alone() {
    let sandbox = Sandbox::new();
    sandbox.gitlab.put_state(PROJECT, "dev-alice", &doc(1));
    bob_locks(&sandbox.gitlab, "dev-alice");
    sandbox.gitlab.meanwhile(
        Route::Lock,
        "DELETE",
        "dev-alice",
        Meanwhile::Relock {
            who: "carol".into(),
            id: "c4r0l".into(),
        },
    );
    sandbox
        .tfw(&["state", "unlock", "--force", "--confirm", "dev-alice"])
        .run()
        .code(1)
        .stderr_has("the lock on `dev-alice` changed since tfw looked (it is no longer bob's); nothing was released");
    assert_eq!(
        sandbox.gitlab.lock(PROJECT, "dev-alice").unwrap()["ID"],
        "c4r0l"
    );
}

#[test]
fn an_apply_whose_lock_was_taken_over_says_the_write_and_the_unlock_met_another_lock() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    sandbox.write("extra.tf", "output \"more\" { value = 2 }\n");
    // Someone force-unlocks and locks while terraform applies: its write gets GitLab's 500,
    // its unlock (with its own ID) a 409.
    sandbox.gitlab.meanwhile(
        Route::State,
        "POST",
        "dev-alice",
        Meanwhile::Relock {
            who: BOB.into(),
            id: BOB_LOCK.into(),
        },
    );
    let out = sandbox.tfw(&["apply", "--auto-approve"]).run();
    out.code(1)
        .stderr_has("was NOT saved to GitLab")
        .stderr_has("the state is now locked by bob")
        .stderr_has("errored.tfstate")
        .stderr_has("terraform's lock on `dev-alice` was gone when it released it")
        .lacks("release it with `tfw state unlock dev-alice`");
    assert_eq!(
        sandbox.gitlab.lock(PROJECT, "dev-alice").unwrap()["ID"],
        BOB_LOCK
    );
}

#[test]
fn gitlabs_busy_record_409_is_not_told_as_someones_lock() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["apply", "--auto-approve"]).run().success();
    let busy = || {
        Fault::respond(
            Route::Lock,
            409,
            r#"{"message":"409 Conflict: Resource lock"}"#,
        )
        .method("POST")
        .times(1)
    };
    sandbox.gitlab.fault(busy());
    sandbox
        .tfw(&["plan"])
        .run()
        .code(1)
        .stderr_has("409 that names no lock holder")
        .stderr_has("Resource lock")
        .stderr_has("run the command again")
        .lacks("has finished since");
    sandbox.gitlab.fault(busy());
    let backup = sandbox.path("state.json");
    std::fs::write(&backup, doc(7)).unwrap();
    let restore = sandbox
        .tfw(&[
            "--state",
            "dev-alice",
            "state",
            "restore",
            backup.to_str().unwrap(),
            "--confirm",
            "dev-alice",
        ])
        .run();
    restore
        .code(1)
        .stderr_has("409 Conflict: Resource lock")
        .lacks("locked by someone");
    assert_eq!(sandbox.gitlab.lock(PROJECT, "dev-alice"), None::<Value>);
}
