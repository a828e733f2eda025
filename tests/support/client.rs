//! A plain HTTP client for the tests that talk to the GitLab test server directly (no tfw,
//! no terraform): one request, its status and body, and the users' credentials.
use std::io::Read;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::gitlab::{
    ALICE, ALICE_TOKEN, BOB, BOB_TOKEN, DAVE, DAVE_TOKEN, GitLab, basic_auth,
};

const PROJECT: &str = "42";

pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build()
}

pub(crate) fn send_with(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Answer {
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(body) => request.send_bytes(body),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let mut body = Vec::new();
    response
        .into_reader()
        .read_to_end(&mut body)
        .expect("read the body");
    Answer { status, body }
}

pub(crate) fn send(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Answer {
    send_with(&agent(), method, url, headers, body)
}

pub(crate) fn as_user(username: &str, token: &str) -> Vec<(&'static str, String)> {
    vec![("Authorization", basic_auth(username, token))]
}

pub(crate) fn alice() -> Vec<(&'static str, String)> {
    as_user(ALICE, ALICE_TOKEN)
}

pub(crate) fn bob() -> Vec<(&'static str, String)> {
    as_user(BOB, BOB_TOKEN)
}

pub(crate) fn dave() -> Vec<(&'static str, String)> {
    as_user(DAVE, DAVE_TOKEN)
}

pub(crate) fn state_doc(serial: u64) -> Vec<u8> {
    // Odd spacing on purpose: the server must keep the bytes exactly.
    format!("{{\"version\": 4,  \"serial\":{serial},\n \"lineage\":\"l-1\", \"outputs\":{{}}}}")
        .into_bytes()
}

pub(crate) fn lock_info(id: &str, who: &str) -> Value {
    json!({
        "ID": id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": who,
        "Version": "1.0.3",
        "Created": "2024-05-01T12:00:00.123456789Z",
        "Path": "",
    })
}

pub(crate) fn lock_body(id: &str, who: &str) -> Vec<u8> {
    lock_info(id, who).to_string().into_bytes()
}

pub(crate) fn graphql(gl: &GitLab, headers: &[(&str, String)], body: Value) -> Answer {
    send(
        "POST",
        &gl.graphql_url(),
        headers,
        Some(body.to_string().as_bytes()),
    )
}

/// The GraphQL query tfw's state listing sends, for the tests that answer or break it.
pub(crate) const LIST_STATES: &str = "query($fullPath: ID!) { project(fullPath: $fullPath) { terraformStates { nodes { name lockedAt lockedByUser { username } updatedAt latestVersion { serial createdAt createdByUser { username } job { name } } } } } }";
