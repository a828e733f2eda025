//! The repository read routes: a file as JSON with base64 content or as raw bytes
//! (`lib/api/files.rb`), the tree (`lib/api/repositories.rb`, `Tree#sorted_entries`: trees
//! first, then blobs, each by name) and one branch (`lib/api/branches.rb`). All need
//! `read_code` (Reporter and above in a private project: `ProjectPolicy`); a missing ref is
//! `404 Commit Not Found` (files), `404 Tree Not Found` (tree), `404 Branch Not Found`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Role;
use super::fleet_routes::project_for;
use super::http::base64_encode;
use super::model::{Auth, World};
use super::paging::{self, Query};
use super::repo_model::{Branch, RepoFile, hex};
use super::server::Reply;

/// `X-Gitlab-*` headers: `files.rb` sets them on the JSON, HEAD and raw answers alike.
fn file_headers(
    path: &str,
    reference: &str,
    branch: &Branch,
    file: &RepoFile,
) -> Vec<(String, String)> {
    [
        ("X-Gitlab-Blob-Id", file.blob_id()),
        ("X-Gitlab-Commit-Id", branch.commit.clone()),
        ("X-Gitlab-Content-Sha256", file.content_sha256()),
        ("X-Gitlab-Encoding", "base64".to_string()),
        (
            "X-Gitlab-File-Name",
            path.rsplit('/').next().unwrap_or(path).to_string(),
        ),
        ("X-Gitlab-File-Path", path.to_string()),
        ("X-Gitlab-Last-Commit-Id", file.last_commit_id.clone()),
        ("X-Gitlab-Ref", reference.to_string()),
        ("X-Gitlab-Size", file.content.len().to_string()),
        (
            "X-Gitlab-Execute-Filemode",
            (file.mode == super::FileMode::Executable).to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub(super) fn file(
    world: &World,
    auth: &Auth,
    key: &str,
    path: &str,
    raw: bool,
    query: &Query,
) -> Reply {
    let project = match project_for(world, auth, key, Role::Reporter) {
        Ok(project) => project,
        Err(reply) => return reply,
    };
    // `requires :ref` on the JSON route; the raw route defaults to the default branch.
    let reference = query.get("ref").filter(|r| !r.is_empty());
    if !raw && reference.is_none() {
        return Reply::error(400, "ref is missing");
    }
    let Some(branch) = project.repo.resolve(reference) else {
        return Reply::message(404, "404 Commit Not Found");
    };
    let Some(found) = branch.files.get(path) else {
        return Reply::message(404, "404 File Not Found");
    };
    let shown_ref = reference
        .map(str::to_string)
        .or_else(|| project.repo.default_branch.clone())
        .unwrap_or_default();
    let headers = file_headers(path, &shown_ref, branch, found);
    let mut reply = if raw {
        let mut reply = Reply::raw(200, found.content.clone());
        if std::str::from_utf8(&found.content).is_ok() {
            reply.content_type = "text/plain; charset=utf-8";
        }
        reply
    } else {
        Reply::json(
            200,
            json!({
                "file_name": path.rsplit('/').next().unwrap_or(path),
                "file_path": path,
                "size": found.content.len(),
                "encoding": "base64",
                "content_sha256": found.content_sha256(),
                "ref": shown_ref,
                "blob_id": found.blob_id(),
                "commit_id": branch.commit,
                "last_commit_id": found.last_commit_id,
                "execute_filemode": found.mode == super::FileMode::Executable,
                "content": base64_encode(&found.content),
            }),
        )
    };
    reply.headers = headers;
    reply
}

fn tree_id(path: &str) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(format!("tree {path}")))[..40].to_string()
}

pub(super) fn tree(world: &World, auth: &Auth, key: &str, query: &Query, origin: &str) -> Reply {
    let project = match project_for(world, auth, key, Role::Reporter) {
        Ok(project) => project,
        Err(reply) => return reply,
    };
    let not_found = || Reply::message(404, "404 Tree Not Found");
    let Some(branch) = project.repo.resolve(query.get("ref")) else {
        return not_found();
    };
    let dir = query.get("path").unwrap_or("").trim_matches('/');
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let recursive = query.flag("recursive").unwrap_or(false);
    let mut trees = BTreeSet::new();
    let mut blobs = Vec::new();
    for (path, file) in branch.files.range(prefix.clone()..) {
        let Some(rest) = path.strip_prefix(&prefix) else {
            break;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        if recursive {
            for depth in 1..parts.len() {
                trees.insert(format!("{prefix}{}", parts[..depth].join("/")));
            }
        } else if parts.len() > 1 {
            trees.insert(format!("{prefix}{}", parts[0]));
            continue;
        }
        blobs.push((path.clone(), file));
    }
    if trees.is_empty() && blobs.is_empty() && !dir.is_empty() {
        return not_found();
    }
    let name = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
    let mut items: Vec<Value> = trees
        .iter()
        .map(|path| json!({ "id": tree_id(path), "name": name(path), "type": "tree", "path": path, "mode": "040000" }))
        .collect();
    blobs.sort_by(|a, b| name(&a.0).cmp(&name(&b.0)).then(a.0.cmp(&b.0)));
    items.extend(blobs.iter().map(|(path, file)| {
        json!({ "id": file.blob_id(), "name": name(path), "type": "blob", "path": path, "mode": file.mode.octal() })
    }));
    let base = format!(
        "{origin}/api/v4/projects/{}/repository/tree",
        super::encode_component(key)
    );
    paging::offset(&base, query, items, world.fleet.omit_totals)
}

pub(super) fn branch(world: &World, auth: &Auth, key: &str, name: &str) -> Reply {
    let project = match project_for(world, auth, key, Role::Reporter) {
        Ok(project) => project,
        Err(reply) => return reply,
    };
    let Some(branch) = project.repo.branches.get(name) else {
        return Reply::message(404, "404 Branch Not Found");
    };
    let can_push = super::branches::can_push(Some(branch), world.role_in(auth, project));
    Reply::json(
        200,
        json!({
            "name": name,
            "merged": false,
            "protected": branch.protected.is_some(),
            "default": project.repo.default_branch.as_deref() == Some(name),
            "developers_can_push": branch.protected.is_none_or(|p| p == Some(Role::Developer)),
            "developers_can_merge": branch.protected.is_none(),
            "can_push": can_push,
            "web_url": world.web(&format!("{}/-/tree/{name}", project.full_path)),
            "commit": { "id": branch.commit, "short_id": &branch.commit[..8] },
        }),
    )
}
