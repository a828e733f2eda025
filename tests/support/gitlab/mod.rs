//! An in-process stand-in for GitLab's Terraform state API, for the integration tests.
//!
//! tfw's whole job is to drive Terraform's `http` backend against GitLab-managed state and to
//! cope with every answer GitLab can give, so the tests need a GitLab that answers exactly like
//! the real one (`/work/shared/reference/gitlab-state-api.md`, cross-checked against GitLab's
//! `lib/api/terraform/state.rb`, `state_version.rb`, `Terraform::RemoteStateHandler`, the
//! GraphQL types and `lib/api/members.rb`) and that can also misbehave on demand (faults),
//! while letting a test look inside (state, versions, locks, the request log).
//! `examples/gitlab_test_server.rs` runs the same code as a standalone process.
//!
//! The parts: `control` (what a test sets up and looks at), `model` (projects, people,
//! tokens, jobs, and who a request is), `state_api` (the Terraform state routes), `graphql`,
//! `rest` (project, user, members, jobs), `server` (routing and faults) and `http`. The fleet
//! routes (`/work/shared/reference/gitlab-fleet-api.md`: groups, repository files and tree,
//! branches, commits, merge requests) are routed by `fleet_routes` over the model of
//! `repo_model`, and set up through `control_repo`; the issues routes of `tfw drift --issues`
//! are `issues`.
//!
//! The HTTP layer is a small hand-written HTTP/1.1 server on `std::net` rather than tiny_http:
//! the faults need to close a keep-alive connection in the middle of a response (truncated
//! bodies, hung requests) and tiny_http gives no way to close a connection from the server
//! side, and dropping the server must also tear down idle keep-alive connections so that no
//! thread outlives the test.
#![allow(dead_code)]

mod auth;
mod branches;
mod commits;
mod control;
mod control_ci;
mod control_repo;
mod fault;
mod fleet_routes;
mod graphql;
mod graphql_ci;
mod graphql_parse;
mod groups;
mod http;
mod issues;
mod meanwhile;
mod merge_requests;
mod merge_requests_read;
mod model;
mod paging;
mod refusals;
mod repo_files;
mod repo_model;
mod rest;
mod rest_rules;
mod server;
mod state_api;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

#[allow(unused_imports)]
pub use control::JobIds;
pub use fault::{Fault, FaultAction};
use http::{accept_loop, base64_encode, lock_ignoring_poison};
#[allow(unused_imports)]
pub use issues::IssueView;
#[allow(unused_imports)]
pub use meanwhile::Meanwhile;
use model::World;
pub use repo_model::FileMode;
#[allow(unused_imports)]
pub use repo_model::MergeRequest;
use server::Shared;

/// The project `GitLab::start()` creates.
pub const PROJECT_ID: u64 = 42;
pub const PROJECT_PATH: &str = "group/infra";

/// Seeded users: two maintainers (so one can hold a lock the other trips over) and a developer.
pub const ALICE: &str = "alice";
pub const ALICE_TOKEN: &str = "glpat-alice-0123456789abcdef";
pub const BOB: &str = "bob";
pub const BOB_TOKEN: &str = "glpat-bob-0123456789abcdef";
pub const DAVE: &str = "dave";
pub const DAVE_TOKEN: &str = "glpat-dave-0123456789abcdef";

/// The seeded CI job: its pipeline was started by `CI_BOT`, a Maintainer, so its token acts as
/// `CI_BOT` (GitLab: a job token is its pipeline's user, `Ci::JobToken`).
pub const CI_JOB_TOKEN: &str = "ci-job-token-0123456789";
pub const CI_BOT: &str = "ci-bot";
pub const CI_JOB_NAME: &str = "apply";
/// The basic-auth username GitLab requires alongside a job token.
pub const CI_JOB_USERNAME: &str = "gitlab-ci-token";

/// No fault keeps a connection (or a test) waiting longer than this.
pub const MAX_FAULT_WAIT: Duration = Duration::from_secs(60);

/// GitLab's limit on state names (and on lock IDs), in characters.
pub const MAX_NAME_LEN: usize = 255;

/// A project member's role (`Gitlab::Access`); roles are per project, and a non-member of a
/// private project sees nothing (404). State protection rules can raise the bar per state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Guest,
    /// Cannot even read Terraform state (`read_terraform_state` is Developer+).
    Reporter,
    /// May read state, versions and the GraphQL listing (so `plan -lock=false` works).
    Developer,
    /// May also lock, write, unlock and delete.
    Maintainer,
    Owner,
}

/// One request as the server saw it. `status` is 0 while the request is still being handled
/// (e.g. under a `Delay` fault) and stays 0 when no answer was ever sent (`Hang`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The raw request target, query string included, exactly as sent.
    pub url: String,
    /// The GitLab username the credentials resolved to, if they were valid.
    pub user: Option<String>,
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl RequestRecord {
    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The path without the query string.
    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or("")
    }
}

/// Which endpoint a request hit, for matching faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `{base}`: GET/POST/DELETE of the state itself.
    State,
    /// `{base}/lock`.
    Lock,
    /// `{base}/versions/{serial}`.
    Versions,
    /// `POST /api/graphql`.
    GraphQL,
    /// `GET /projects/:id`, `/user`, `members/all`, `jobs`.
    Rest,
    /// `GET /groups/:id/projects`.
    GroupProjects,
    /// `/projects/:id/repository/files/:path` and its `/raw`.
    RepoFiles,
    /// `GET /projects/:id/repository/tree`.
    RepoTree,
    /// `/projects/:id/repository/branches[/:branch]`.
    Branches,
    /// `POST /projects/:id/repository/commits`.
    Commits,
    /// `/projects/:id/merge_requests[/:iid]`.
    MergeRequests,
    /// `/projects/:id/issues[/:iid]` (`issues.rs`).
    Issues,
    /// Anything else (unknown paths).
    Other,
    /// Every request.
    Any,
}

/// The running server. Dropping it stops the server: pending delays and hangs are cut short,
/// every connection is closed and every thread is joined.
pub struct GitLab {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl GitLab {
    /// Starts on 127.0.0.1 on a free port, with the default project, users and job token.
    pub fn start() -> GitLab {
        GitLab::start_on(0).expect("start the GitLab test server")
    }

    /// Starts with no project, user or job token at all.
    pub fn start_empty() -> GitLab {
        GitLab::bind(0, World::default()).expect("start the GitLab test server")
    }

    /// Like `start`, on a given port (0 = any free port).
    pub fn start_on(port: u16) -> io::Result<GitLab> {
        GitLab::bind(port, World::seeded())
    }

    fn bind(port: u16, mut world: World) -> io::Result<GitLab> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        world.web_url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            stopping: AtomicBool::new(false),
            nap: Mutex::new(()),
            wake: Condvar::new(),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("gitlab-accept".into())
                .spawn(move || accept_loop(listener, shared))?
        };
        Ok(GitLab {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v4` (what `$CI_API_V4_URL` would be).
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.url())
    }

    /// `http://127.0.0.1:PORT/api/graphql`
    pub fn graphql_url(&self) -> String {
        format!("{}/api/graphql", self.url())
    }

    /// The state's address as Terraform's http backend wants it, project and name URL-encoded.
    pub fn state_url(&self, project: &str, name: &str) -> String {
        format!(
            "{}/projects/{}/terraform/state/{}",
            self.api_url(),
            encode_component(project),
            encode_component(name)
        )
    }
}

impl Drop for GitLab {
    fn drop(&mut self) {
        {
            // Set under the nap mutex so that a request about to sleep cannot miss the wake-up.
            let _nap = lock_ignoring_poison(&self.shared.nap);
            self.shared.stopping.store(true, Ordering::SeqCst);
            self.shared.wake.notify_all();
        }
        // `accept` has no timeout: a connection of our own is what unblocks it.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// A URL on which nothing listens, for "connection refused" tests. The port was free a moment
/// ago; nothing in the tests binds fixed ports, so it stays free.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a throwaway port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Percent-encodes one path segment (a project path or state name), `/` and `.` included: a
/// raw `.` would make the versions route miss (Grape reads it as a format suffix), `%2E` works
/// on every route.
pub fn encode_component(s: &str) -> String {
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// The `Authorization` header value for HTTP basic auth.
pub fn basic_auth(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64_encode(format!("{username}:{password}").as_bytes())
    )
}
