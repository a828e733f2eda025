//! Tests of the GitLab test server's fleet routes: each row of
//! `/work/shared/reference/gitlab-fleet-api.md` that `tfw fleet` reads (groups and their
//! projects, paging and its headers, repository files and tree, branches, merge request
//! listings, scopes, faults per route) checked with a plain HTTP client, so that the fleet
//! tests can trust the server to answer like GitLab.
use std::io::Read;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::Value;

use crate::support::gitlab::{
    ALICE, ALICE_TOKEN, CI_JOB_TOKEN, DAVE, DAVE_TOKEN, Fault, GitLab, Role, Route,
    encode_component,
};

pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `rel="next"` target of `Link`, if any.
    pub fn next_link(&self) -> Option<String> {
        self.header("link")?.split(", ").find_map(|part| {
            let (url, rel) = part.split_once("; ")?;
            (rel == "rel=\"next\"").then(|| url.trim_matches(['<', '>']).to_string())
        })
    }
}

pub(crate) fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Answer {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let response = match request.call() {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .iter()
        .map(|n| (n.clone(), response.header(n).unwrap_or("").to_string()))
        .collect();
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

pub(crate) fn get(url: &str, token: &str) -> Answer {
    request("GET", url, &[("PRIVATE-TOKEN", token)])
}

/// Group `fleet` (id 500) with subgroup `fleet/sub`: `fleet/app-1..=5` and `fleet/sub/deep-1..=3`
/// (ids 501.., 601..), `fleet/old` archived, and `other/x` outside. Alice is a group member.
pub(crate) fn fleet() -> GitLab {
    let gl = GitLab::start();
    gl.add_group(500, "fleet");
    gl.add_group(600, "fleet/sub");
    gl.add_group(700, "other");
    for i in 1..=5 {
        gl.add_project(500 + i, &format!("fleet/app-{i}"));
    }
    for i in 1..=3 {
        gl.add_project(600 + i, &format!("fleet/sub/deep-{i}"));
    }
    gl.add_project(599, "fleet/old");
    gl.set_archived("fleet/old", true);
    gl.add_project(701, "other/x");
    gl.set_group_role("fleet", ALICE, Some(Role::Maintainer));
    gl.set_group_role("other", ALICE, Some(Role::Maintainer));
    gl
}

fn paths(answer: &Answer) -> Vec<String> {
    answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path_with_namespace"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn group_projects_are_paged_with_gitlab_headers_and_links_keep_the_filters() {
    let gl = fleet();
    let url = format!(
        "{}/groups/fleet/projects?include_subgroups=true&archived=false&per_page=3&order_by=id&sort=asc",
        gl.api_url()
    );
    let first = get(&url, ALICE_TOKEN);
    assert_eq!(first.status, 200);
    assert_eq!(paths(&first), ["fleet/app-1", "fleet/app-2", "fleet/app-3"]);
    for (header, value) in [
        ("X-Page", "1"),
        ("X-Per-Page", "3"),
        ("X-Prev-Page", ""),
        ("X-Next-Page", "2"),
        ("X-Total", "8"),
        ("X-Total-Pages", "3"),
    ] {
        assert_eq!(first.header(header), Some(value), "{header}");
    }
    let link = first.header("link").unwrap();
    assert!(
        link.contains("rel=\"first\"") && link.contains("rel=\"last\""),
        "{link}"
    );
    let mut all = paths(&first);
    let mut next = first.next_link();
    let mut pages = 1;
    while let Some(url) = next {
        assert!(url.starts_with(&gl.url()), "absolute: {url}");
        assert!(url.contains("include_subgroups=true") && url.contains("archived=false"));
        let page = get(&url, ALICE_TOKEN);
        all.extend(paths(&page));
        next = page.next_link();
        pages += 1;
        if next.is_none() {
            assert_eq!(
                page.header("X-Next-Page"),
                Some(""),
                "empty on the last page"
            );
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        all,
        [
            "fleet/app-1",
            "fleet/app-2",
            "fleet/app-3",
            "fleet/app-4",
            "fleet/app-5",
            "fleet/sub/deep-1",
            "fleet/sub/deep-2",
            "fleet/sub/deep-3",
        ]
    );
}

#[test]
fn group_projects_filter_archived_and_subgroups_and_cap_per_page() {
    let gl = fleet();
    let list = |query: &str| {
        get(
            &format!("{}/groups/500/projects?{query}", gl.api_url()),
            ALICE_TOKEN,
        )
    };
    // Without `include_subgroups` only the group's own projects; without `archived` both kinds.
    let direct = list("per_page=100");
    assert_eq!(direct.json().as_array().unwrap().len(), 6);
    assert!(paths(&direct).contains(&"fleet/old".to_string()));
    assert!(!paths(&list("archived=false")).contains(&"fleet/old".to_string()));
    assert_eq!(paths(&list("archived=true")), ["fleet/old"]);
    // Newest first by default (`order_by=created_at`, `sort=desc`).
    assert_eq!(
        paths(&list("include_subgroups=true"))[0],
        "fleet/sub/deep-3"
    );
    let capped = list("per_page=500");
    assert_eq!(capped.header("X-Per-Page"), Some("100"));
    let project = &list("per_page=1&order_by=id&sort=asc").json()[0];
    for field in [
        "id",
        "path_with_namespace",
        "default_branch",
        "empty_repo",
        "archived",
        "http_url_to_repo",
        "web_url",
    ] {
        assert!(project.get(field).is_some(), "{field} in {project}");
    }
    assert_eq!(
        project["default_branch"],
        Value::Null,
        "an empty repository"
    );
    assert_eq!(project["empty_repo"], true);
}

#[test]
fn group_projects_by_keyset_follow_link_and_carry_no_counts() {
    let gl = fleet();
    gl.set_omit_totals(true);
    let url = format!(
        "{}/groups/fleet/projects?include_subgroups=true&pagination=keyset&order_by=id&sort=asc&per_page=4",
        gl.api_url()
    );
    let first = get(&url, ALICE_TOKEN);
    assert_eq!(first.header("X-Total"), None);
    assert_eq!(paths(&first).len(), 4);
    let next = first.next_link().expect("a next link");
    assert!(next.contains("id_after=504"), "{next}");
    let mut all = paths(&first);
    let mut next = Some(next);
    while let Some(url) = next {
        let page = get(&url, ALICE_TOKEN);
        all.extend(paths(&page));
        next = page.next_link();
    }
    assert_eq!(all.len(), 9, "{all:?}");
    let refused = get(&url.replace("order_by=id", "order_by=path"), ALICE_TOKEN);
    assert_eq!(refused.status, 405);
    // Offset paging without totals still says whether a next page exists.
    let offset = get(
        &format!("{}/groups/fleet/projects?per_page=2", gl.api_url()),
        ALICE_TOKEN,
    );
    assert_eq!(
        (offset.header("X-Total"), offset.header("X-Next-Page")),
        (None, Some("2"))
    );
}

#[test]
fn groups_are_seen_by_members_of_the_group_or_of_a_project_in_it() {
    let gl = fleet();
    let url = format!(
        "{}/groups/fleet/projects?include_subgroups=true",
        gl.api_url()
    );
    // Dave is no member of the group, only of one project in a subgroup: he sees the group
    // and that project (`GroupPolicy` `has_projects`).
    gl.set_role("fleet/sub/deep-2", DAVE, Some(Role::Developer));
    assert_eq!(paths(&get(&url, DAVE_TOKEN)), ["fleet/sub/deep-2"]);
    // Bob sees nothing of it: the group does not exist for him.
    let bob = get(&url, crate::support::gitlab::BOB_TOKEN);
    assert_eq!(
        (bob.status, bob.json()["message"].clone()),
        (404, "404 Group Not Found".into())
    );
    assert_eq!(
        get(
            &format!("{}/groups/nope/projects", gl.api_url()),
            ALICE_TOKEN
        )
        .status,
        404
    );
    // A group member has the group's role in every project below it.
    gl.put_file("fleet/sub/deep-1", "main", "README.md", b"hi\n");
    let file = format!(
        "{}/projects/{}/repository/files/README.md/raw",
        gl.api_url(),
        encode_component("fleet/sub/deep-1")
    );
    assert_eq!(get(&file, ALICE_TOKEN).status, 200);
}

#[test]
fn fleet_routes_check_the_scope_first_and_refuse_job_tokens() {
    let gl = fleet();
    gl.put_file("fleet/app-1", "main", "a.txt", b"a\n");
    gl.add_token(ALICE, "glpat-alice-read", &["read_api"]);
    gl.add_token(ALICE, "glpat-alice-user", &["read_user"]);
    let file = format!("{}/projects/501/repository/files/a.txt/raw", gl.api_url());
    let group = format!("{}/groups/fleet/projects", gl.api_url());
    assert_eq!(get(&file, "glpat-alice-read").status, 200);
    for url in [&file, &group] {
        let refused = get(url, "glpat-alice-user");
        assert_eq!(refused.status, 403, "{url}");
        assert_eq!(refused.json()["error"], "insufficient_scope");
        // Every scope the route takes, not the missing one (`scopes_registered_for_endpoint`).
        assert_eq!(refused.json()["scope"], "api read_api");
    }
    // A write refused to a read-only token still lists both scopes the route takes.
    let post = request(
        "POST",
        &format!("{}/projects/501/merge_requests", gl.api_url()),
        &[("PRIVATE-TOKEN", "glpat-alice-read")],
    );
    assert_eq!(
        (post.status, post.json()["scope"].clone()),
        (403, "api read_api".into())
    );
    // A job token is no credential here: as a header it is ignored (anonymous, 404), as a
    // bearer token it is refused (401).
    let job = request("GET", &file, &[("JOB-TOKEN", CI_JOB_TOKEN)]);
    assert_eq!(job.status, 404);
    let bearer = format!("Bearer {CI_JOB_TOKEN}");
    assert_eq!(
        request("GET", &group, &[("Authorization", &bearer)]).status,
        401
    );
    assert_eq!(get(&file, "glpat-unknown").status, 401);
}

#[test]
fn faults_match_a_route_and_a_project_and_429_carries_retry_after() {
    let gl = fleet();
    gl.put_file("fleet/app-1", "main", "a", b"a");
    gl.put_file("fleet/app-2", "main", "a", b"a");
    gl.fault(
        Fault::rate_limited(Route::RepoFiles, 7)
            .project("fleet/app-1")
            .times(1),
    );
    gl.fault(Fault::status(Route::MergeRequests, 502).project("502"));
    let raw = |id: u64| {
        get(
            &format!("{}/projects/{id}/repository/files/a/raw", gl.api_url()),
            ALICE_TOKEN,
        )
    };
    let limited = raw(501);
    assert_eq!(
        (limited.status, limited.header("Retry-After")),
        (429, Some("7"))
    );
    assert_eq!(raw(501).status, 200, "only the first time");
    assert_eq!(raw(502).status, 200, "another project");
    let mrs = |id: u64| {
        get(
            &format!("{}/projects/{id}/merge_requests", gl.api_url()),
            ALICE_TOKEN,
        )
        .status
    };
    assert_eq!((mrs(501), mrs(502)), (200, 502));
    let by_path = format!(
        "{}/projects/{}/merge_requests",
        gl.api_url(),
        encode_component("fleet/app-2")
    );
    assert_eq!(
        get(&by_path, ALICE_TOKEN).status,
        502,
        "however the request names it"
    );
}
