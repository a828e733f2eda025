//! The GitLab test server's own machinery, which the fault tests rely on: injected faults
//! (errors, delays, hangs, truncated bodies), the request log, parallel service and a clean
//! shutdown; and once, the real Terraform `http` backend against it.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::client::*;
use crate::support::gitlab::{
    ALICE, ALICE_TOKEN, BOB, Fault, GitLab, PROJECT_PATH, Route, basic_auth, closed_port_url,
};

const PROJECT: &str = "42";

#[test]
fn faults_answer_by_route_and_method_the_first_n_times() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.put_state(PROJECT, "prod", &state_doc(1));

    gl.fault(Fault::status(Route::State, 500).method("GET").times(2));
    gl.fault(Fault::respond(
        Route::Lock,
        409,
        lock_info("theirs", BOB).to_string(),
    ));
    for _ in 0..2 {
        let failed = send("GET", &url, &alice(), None);
        assert_eq!(failed.status, 500);
        assert_eq!(
            failed.json(),
            json!({"message": "500 Internal Server Error"})
        );
    }
    assert_eq!(
        send("GET", &url, &alice(), None).status,
        200,
        "only the first two"
    );
    assert_eq!(
        send("POST", &url, &alice(), Some(&state_doc(2))).status,
        200,
        "only GET"
    );

    let lock = send(
        "POST",
        &format!("{url}/lock"),
        &alice(),
        Some(&lock_body("mine", ALICE)),
    );
    assert_eq!(lock.status, 409);
    assert_eq!(lock.json()["ID"], "theirs");
    assert_eq!(
        gl.lock(PROJECT, "prod"),
        None,
        "a faulted request has no effect"
    );

    gl.clear_faults();
    gl.fault(Fault::status(Route::Any, 401).state("other"));
    assert_eq!(send("GET", &url, &alice(), None).status, 200);
    assert_eq!(
        send("GET", &gl.state_url(PROJECT, "other"), &alice(), None).status,
        401
    );
    gl.clear_faults();
    gl.fault(Fault::status(Route::GraphQL, 503));
    let answer = graphql(
        &gl,
        &alice(),
        json!({"query": LIST_STATES, "variables": {"fullPath": PROJECT_PATH}}),
    );
    assert_eq!(answer.status, 503);
}

#[test]
fn delay_fault_then_normal_handling_and_the_log_shows_it_pending() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.fault(Fault::delay(Route::State, Duration::from_millis(600)).method("POST"));

    let started = Instant::now();
    let writer = {
        let url = url.clone();
        thread::spawn(move || send("POST", &url, &alice(), Some(&state_doc(1))).status)
    };
    let pending = gl
        .wait_for_request(Duration::from_secs(5), |r| r.method == "POST")
        .expect("the POST arrives");
    assert_eq!(pending.status, 0, "still being delayed");
    assert_eq!(gl.state(PROJECT, "prod"), None);

    assert_eq!(writer.join().unwrap(), 200);
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(gl.state(PROJECT, "prod"), Some(state_doc(1)));
    assert_eq!(gl.requests().last().unwrap().status, 200);
}

#[test]
fn hang_fault_never_answers() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.fault(Fault::hang(Route::Lock, Duration::from_secs(30)).times(1));
    let impatient = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(300))
        .build();

    let started = Instant::now();
    let hung = impatient
        .post(&format!("{url}/lock"))
        .set("Authorization", &basic_auth(ALICE, ALICE_TOKEN))
        .send_bytes(&lock_body("a", "b"));
    assert!(matches!(hung, Err(ureq::Error::Transport(_))), "{hung:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(gl.lock(PROJECT, "prod"), None);
    assert_eq!(gl.requests()[0].status, 0);

    let second = send(
        "POST",
        &format!("{url}/lock"),
        &alice(),
        Some(&lock_body("a", "b")),
    );
    assert_eq!(second.status, 200);
}

#[test]
fn truncated_fault_announces_more_than_it_sends() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    gl.put_state(PROJECT, "prod", &state_doc(1));
    gl.fault(Fault::truncate(Route::State).method("GET").times(1));

    let response = agent()
        .get(&url)
        .set("Authorization", &basic_auth(ALICE, ALICE_TOKEN))
        .call()
        .expect("the headers arrive");
    assert_eq!(response.status(), 200);
    let announced: usize = response.header("Content-Length").unwrap().parse().unwrap();
    assert!(announced > state_doc(1).len());
    let mut body = Vec::new();
    assert!(response.into_reader().read_to_end(&mut body).is_err());
    assert!(body.len() < state_doc(1).len());

    assert_eq!(send("GET", &url, &alice(), None).body, state_doc(1));
}

#[test]
fn closed_port_url_refuses_connections() {
    let url = closed_port_url();
    match agent().get(&format!("{url}/api/v4")).call() {
        Err(ureq::Error::Transport(t)) => {
            assert_eq!(t.kind(), ureq::ErrorKind::ConnectionFailed, "{t}")
        }
        other => panic!("expected a refused connection, got {other:?}"),
    }
}

#[test]
fn request_log_records_method_raw_url_user_status_and_body() {
    let gl = GitLab::start();
    let url = format!("{}?ID=abc%2Bdef", gl.state_url(PROJECT, "env/prod"));
    send("POST", &url, &alice(), Some(&state_doc(1)));
    send(
        "GET",
        &gl.state_url(PROJECT, "nope"),
        &as_user(BOB, "bad"),
        None,
    );

    let log = gl.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "POST");
    assert_eq!(
        log[0].url,
        "/api/v4/projects/42/terraform/state/env%2Fprod?ID=abc%2Bdef"
    );
    assert_eq!(
        log[0].path(),
        "/api/v4/projects/42/terraform/state/env%2Fprod"
    );
    assert_eq!(log[0].user.as_deref(), Some(ALICE));
    assert_eq!(log[0].status, 500, "an ID sent to an unlocked state");
    assert_eq!(log[0].body, state_doc(1));
    assert!(
        log[0]
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );
    assert_eq!((log[1].user.clone(), log[1].status), (None, 401));

    gl.clear_requests();
    assert_eq!(gl.requests(), vec![]);
    gl.set_request_log(false);
    send("GET", &gl.state_url(PROJECT, "nope"), &alice(), None);
    assert_eq!(gl.requests(), vec![]);
}

#[test]
fn concurrent_requests_are_served_in_parallel() {
    let gl = GitLab::start();
    // One slow request must not hold up the others.
    gl.fault(Fault::delay(Route::State, Duration::from_secs(2)).state("slow"));
    let slow = {
        let url = gl.state_url(PROJECT, "slow");
        thread::spawn(move || send("GET", &url, &alice(), None).status)
    };
    let started = Instant::now();
    let workers: Vec<_> = (0..16u64)
        .map(|i| {
            let url = gl.state_url(PROJECT, &format!("s{i}"));
            thread::spawn(move || {
                let agent = agent();
                let post = send_with(&agent, "POST", &url, &alice(), Some(&state_doc(i + 1)));
                let get = send_with(&agent, "GET", &url, &alice(), None);
                (post.status, get.body)
            })
        })
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        assert_eq!(worker.join().unwrap(), (200, state_doc(i as u64 + 1)));
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(slow.join().unwrap(), 404);
    assert_eq!(gl.state_names(PROJECT).len(), 16);
}

#[test]
fn dropping_the_server_ends_hangs_closes_connections_and_frees_the_port() {
    let gl = GitLab::start();
    let url = gl.state_url(PROJECT, "prod");
    let port = gl.port();

    // An idle keep-alive connection and a hung request are both in flight at drop time.
    let keep_alive = agent();
    assert_eq!(
        send_with(&keep_alive, "GET", &url, &alice(), None).status,
        404
    );
    gl.fault(Fault::hang(Route::State, Duration::from_secs(60)));
    let hung = {
        let url = url.clone();
        thread::spawn(move || {
            agent()
                .get(&url)
                .set("Authorization", &basic_auth(ALICE, ALICE_TOKEN))
                .call()
                .is_err()
        })
    };
    gl.wait_for_request(Duration::from_secs(5), |r| r.status == 0)
        .expect("the hung request arrives");

    let started = Instant::now();
    drop(gl);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drop took {:?}",
        started.elapsed()
    );
    assert!(
        hung.join().unwrap(),
        "the hung request fails instead of waiting 60 s"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// The real Terraform binary: `$TFW_TEST_TERRAFORM`, else the cached install.
fn terraform_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TFW_TEST_TERRAFORM").filter(|p| !p.is_empty()) {
        return path.into();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-test-terraform");
    let output = Command::new(&script)
        .output()
        .expect("run scripts/install-test-terraform");
    assert!(
        output.status.success(),
        "install-test-terraform failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

#[test]
fn real_terraform_applies_through_the_http_backend() {
    let gl = GitLab::start();
    let terraform = terraform_binary();
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("main.tf"),
        "terraform {\n  backend \"http\" {}\n}\n\noutput \"x\" {\n  value = \"hello\"\n}\n",
    )
    .unwrap();
    let address = gl.state_url(PROJECT_PATH, "smoke");
    let lock_address = format!("{address}/lock");

    let run = |args: &[&str]| {
        let output = Command::new(&terraform)
            .args(args)
            .current_dir(work.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_HTTP_ADDRESS", &address)
            .env("TF_HTTP_LOCK_ADDRESS", &lock_address)
            .env("TF_HTTP_UNLOCK_ADDRESS", &lock_address)
            .env("TF_HTTP_LOCK_METHOD", "POST")
            .env("TF_HTTP_UNLOCK_METHOD", "DELETE")
            .env("TF_HTTP_USERNAME", ALICE)
            .env("TF_HTTP_PASSWORD", ALICE_TOKEN)
            .output()
            .expect("run terraform");
        assert!(
            output.status.success(),
            "terraform {args:?} failed\nstdout:\n{}\nstderr:\n{}\nrequests:\n{:#?}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            gl.requests()
                .iter()
                .map(|r| format!("{} {} -> {}", r.method, r.url, r.status))
                .collect::<Vec<_>>()
        );
    };
    run(&["init", "-input=false", "-reconfigure", "-no-color"]);
    run(&["apply", "-auto-approve", "-input=false", "-no-color"]);

    let state: Value =
        serde_json::from_slice(&gl.state(PROJECT, "smoke").expect("a state was written")).unwrap();
    assert_eq!(state["outputs"]["x"]["value"], "hello");
    assert_eq!(gl.lock(PROJECT, "smoke"), None, "terraform unlocked");

    let log = gl.requests();
    let saw = |method: &str, suffix: &str, status: u16| {
        log.iter()
            .any(|r| r.method == method && r.path().ends_with(suffix) && r.status == status)
    };
    assert!(saw("POST", "/smoke/lock", 200));
    assert!(saw("POST", "/smoke", 200));
    assert!(saw("DELETE", "/smoke/lock", 200));
    assert!(log.iter().all(|r| r.user.as_deref() == Some(ALICE)));
    assert!(log.iter().all(|r| !r.url.contains(ALICE_TOKEN)));
    // The write carried the lock ID Terraform had taken.
    let write = log
        .iter()
        .find(|r| r.method == "POST" && r.path().ends_with("/smoke"))
        .unwrap();
    assert!(write.url.contains("?ID="), "{}", write.url);
}
