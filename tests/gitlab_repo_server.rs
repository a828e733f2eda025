//! Tests of the GitLab test server's repository and merge request read routes (rows
//! "Repository files" and "Merge requests" of `/work/shared/reference/gitlab-fleet-api.md`):
//! raw and JSON files with GitLab's 404s, the tree with its modes and paging, one branch, and
//! merge request listings by state, source branch and labels.
use pretty_assertions::assert_eq;

use crate::gitlab_fleet_server::{Answer, fleet, get};
use crate::support::gitlab::{
    ALICE_TOKEN, DAVE, DAVE_TOKEN, FileMode, MergeRequest, Role, encode_component,
};

#[test]
fn repository_files_come_raw_or_as_base64_json_with_gitlab_404s() {
    let gl = fleet();
    let script = b"#!/bin/sh\necho hi\n";
    gl.put_file(
        "fleet/app-1",
        "main",
        ".tfw/template.lock",
        b"lock_version = 1\n",
    );
    gl.put_file_mode(
        "fleet/app-1",
        "main",
        "bin/run",
        script,
        FileMode::Executable,
    );
    let base = format!(
        "{}/projects/{}/repository/files",
        gl.api_url(),
        encode_component("fleet/app-1")
    );
    let lock = format!("{base}/{}", encode_component(".tfw/template.lock"));
    let raw = get(&format!("{lock}/raw?ref=main"), ALICE_TOKEN);
    assert_eq!(
        (raw.status, raw.body.as_slice()),
        (200, &b"lock_version = 1\n"[..])
    );
    assert_eq!(raw.header("X-Gitlab-File-Path"), Some(".tfw/template.lock"));
    // The raw route defaults to the default branch; the JSON route requires `ref`.
    assert_eq!(get(&format!("{lock}/raw"), ALICE_TOKEN).status, 200);
    let missing_ref = get(&lock, ALICE_TOKEN);
    assert_eq!(
        (missing_ref.status, missing_ref.json()["error"].clone()),
        (400, "ref is missing".into())
    );
    let meta = get(
        &format!("{base}/{}?ref=main", encode_component("bin/run")),
        ALICE_TOKEN,
    )
    .json();
    assert_eq!(meta["encoding"], "base64");
    assert_eq!(meta["execute_filemode"], true);
    assert_eq!(meta["file_path"], "bin/run");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(meta["content"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, script);
    assert_eq!(meta["blob_id"].as_str().unwrap().len(), 40);
    assert_eq!(
        meta["last_commit_id"],
        gl.branch_commit("fleet/app-1", "main").unwrap()
    );
    let message = |a: Answer| {
        (
            a.status,
            a.json()["message"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(
        message(get(&format!("{base}/nope.txt/raw?ref=main"), ALICE_TOKEN)),
        (404, "404 File Not Found".into())
    );
    assert_eq!(
        message(get(&format!("{lock}/raw?ref=nope"), ALICE_TOKEN)),
        (404, "404 Commit Not Found".into())
    );
    // An empty repository has no commit at all.
    let empty = format!("{}/projects/502/repository/files/a/raw", gl.api_url());
    assert_eq!(
        message(get(&empty, ALICE_TOKEN)),
        (404, "404 Commit Not Found".into())
    );
    // A raw `/` in the path misses the route (the path must be encoded).
    assert_eq!(
        get(&format!("{base}/.tfw/template.lock/raw"), ALICE_TOKEN).status,
        404
    );
    // A commit id works as a ref.
    let commit = gl.branch_commit("fleet/app-1", "main").unwrap();
    assert_eq!(
        get(&format!("{lock}/raw?ref={commit}"), ALICE_TOKEN).status,
        200
    );
    // Guests may not read code; non-members do not see the project.
    gl.set_role("fleet/app-1", DAVE, Some(Role::Guest));
    assert_eq!(get(&format!("{lock}/raw"), DAVE_TOKEN).status, 403);
    gl.set_role("fleet/app-1", DAVE, None);
    assert_eq!(
        message(get(&format!("{lock}/raw"), DAVE_TOKEN)),
        (404, "404 Project Not Found".into())
    );
}

#[test]
fn the_tree_lists_trees_first_then_blobs_with_modes_and_pages() {
    let gl = fleet();
    let p = "fleet/app-1";
    gl.put_file(p, "main", "z.tf", b"");
    gl.put_file(p, "main", "a.tf", b"");
    gl.put_file(p, "main", ".tfw/template.lock", b"");
    gl.put_file(p, "main", "mod/x/main.tf", b"");
    gl.put_file_mode(p, "main", "link", b"a.tf", FileMode::Symlink);
    gl.put_file_mode(p, "main", "run.sh", b"", FileMode::Executable);
    let tree = |query: &str| {
        get(
            &format!("{}/projects/501/repository/tree?{query}", gl.api_url()),
            ALICE_TOKEN,
        )
    };
    let entries = |a: &Answer| -> Vec<(String, String, String)> {
        a.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (s("path"), s("type"), s("mode"))
            })
            .collect()
    };
    let root = tree("ref=main");
    let shown: Vec<(String, String, String)> = [
        (".tfw", "tree", "040000"),
        ("mod", "tree", "040000"),
        ("a.tf", "blob", "100644"),
        ("link", "blob", "120000"),
        ("run.sh", "blob", "100755"),
        ("z.tf", "blob", "100644"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(entries(&root), shown);
    let recursive = entries(&tree("recursive=true&per_page=100"));
    assert!(recursive.iter().any(|e| e.0 == "mod/x" && e.1 == "tree"));
    assert!(recursive.iter().any(|e| e.0 == "mod/x/main.tf"));
    assert_eq!(
        entries(&tree("path=.tfw")),
        [(
            ".tfw/template.lock".to_string(),
            "blob".to_string(),
            "100644".to_string()
        )]
    );
    let paged = tree("per_page=4");
    assert_eq!(
        (paged.header("X-Total"), paged.header("X-Next-Page")),
        (Some("6"), Some("2"))
    );
    assert_eq!(tree("path=nope").status, 404);
    assert_eq!(tree("ref=nope").json()["message"], "404 Tree Not Found");
}

#[test]
fn a_branch_answers_200_or_404_and_says_who_may_push() {
    let gl = fleet();
    gl.put_file("fleet/app-1", "main", "a", b"a");
    gl.protect_branch("fleet/app-1", "main", None);
    let url = |b: &str| {
        format!(
            "{}/projects/501/repository/branches/{}",
            gl.api_url(),
            encode_component(b)
        )
    };
    let main = get(&url("main"), ALICE_TOKEN).json();
    assert_eq!(
        (
            main["protected"].clone(),
            main["can_push"].clone(),
            main["default"].clone()
        ),
        (true.into(), false.into(), true.into())
    );
    assert_eq!(
        get(&url("tfw/template-2"), ALICE_TOKEN).json()["message"],
        "404 Branch Not Found"
    );
    gl.put_file("fleet/app-1", "tfw/template-2", "a", b"b");
    let branch = get(&url("tfw/template-2"), ALICE_TOKEN).json();
    assert_eq!(branch["can_push"], true);
    assert_ne!(branch["commit"]["id"], main["commit"]["id"]);
}

#[test]
fn merge_requests_are_listed_by_state_source_branch_and_labels() {
    let gl = fleet();
    let p = "fleet/app-1";
    gl.put_file(p, "main", "a", b"a");
    let old = gl.add_merge_request(
        p,
        &MergeRequest::new("tfw/template-1", "main", "tfw: template 1").state("merged"),
    );
    let open = gl.add_merge_request(
        p,
        &MergeRequest::new("tfw/template-2", "main", "Draft: tfw: template 2")
            .labels(&["tfw", "template"])
            .conflicts(),
    );
    gl.add_merge_request(p, &MergeRequest::new("feature", "main", "Feature"));
    let list = |query: &str| {
        get(
            &format!("{}/projects/501/merge_requests?{query}", gl.api_url()),
            ALICE_TOKEN,
        )
    };
    let iids = |a: Answer| -> Vec<u64> {
        a.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["iid"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(iids(list("")), [3, 2, 1], "every state, newest first");
    assert_eq!(iids(list("state=opened")), [3, 2]);
    assert_eq!(
        iids(list("state=opened&source_branch=tfw/template-2")),
        [open]
    );
    assert_eq!(
        iids(list("state=merged&source_branch=tfw%2Ftemplate-1")),
        [old]
    );
    assert_eq!(iids(list("labels=tfw,template")), [open]);
    assert_eq!(iids(list("labels=tfw,other")), Vec::<u64>::new());
    assert_eq!(iids(list("labels=None")), [3, 1]);
    let found = &list("source_branch=tfw/template-2").json()[0];
    assert_eq!(
        (found["draft"].clone(), found["has_conflicts"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(found["detailed_merge_status"], "draft_status");
    // Absolute, from the instance's own URL, as GitLab's `Gitlab::UrlBuilder` makes them.
    assert_eq!(
        found["web_url"],
        format!("{}/fleet/app-1/-/merge_requests/2", gl.url())
    );
    let paged = list("per_page=1");
    assert_eq!(
        (paged.header("X-Total"), paged.header("X-Next-Page")),
        (Some("3"), Some("2"))
    );
    assert_eq!(list("state=bogus").status, 400);
    let one = get(
        &format!("{}/projects/501/merge_requests/{open}", gl.api_url()),
        ALICE_TOKEN,
    );
    assert_eq!(one.json()["source_branch"], "tfw/template-2");
    gl.set_role(p, DAVE, Some(Role::Guest));
    assert_eq!(
        get(
            &format!("{}/projects/501/merge_requests", gl.api_url()),
            DAVE_TOKEN
        )
        .status,
        403
    );
}
