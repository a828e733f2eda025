//! What the server knows about groups and repositories, for the fleet routes (`tfw fleet`):
//! groups with their members (inherited by every project below them), and per project a git
//! repository reduced to what GitLab's API shows of it: a default branch, branches with their
//! head commit and files, and merge requests. Shared by the read routes (`groups.rs`,
//! `repo_files.rs`, `merge_requests_read.rs`) and the write routes (branches, commits, merge
//! request create/update), which extend these types rather than keep their own.

use std::collections::BTreeMap;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::Role;
use super::model::{Auth, Project, World};

/// A GitLab group (`Group < Namespace`): its full path says where it sits (`parent/child`).
pub(super) struct Group {
    pub id: u64,
    pub full_path: String,
    /// Direct members; GitLab gives them the same role in every subgroup and project below
    /// (`Member#access_level` through `members_with_parents`).
    pub members: BTreeMap<String, Role>,
}

/// Settings of the fleet routes that no single project owns.
#[derive(Default)]
pub(super) struct Fleet {
    pub groups: Vec<Group>,
    /// Leave `X-Total` and `X-Total-Pages` out of every paged answer, as GitLab does when a
    /// count would be too costly (`Gitlab::Pagination::OffsetHeaderBuilder`).
    pub omit_totals: bool,
    /// Commits made so far, for unique ids.
    pub commits: u64,
}

/// How git stores a file (`mode` in the tree API): regular, executable or a symbolic link
/// (whose content is the link's target).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileMode {
    Regular,
    Executable,
    Symlink,
}

impl FileMode {
    /// The mode as git and GitLab's tree API write it.
    pub fn octal(self) -> &'static str {
        match self {
            FileMode::Regular => "100644",
            FileMode::Executable => "100755",
            FileMode::Symlink => "120000",
        }
    }
}

#[derive(Clone)]
pub(super) struct RepoFile {
    pub content: Vec<u8>,
    pub mode: FileMode,
    /// The commit that last changed this file on its branch (`last_commit_id`).
    pub last_commit_id: String,
}

impl RepoFile {
    /// git's blob id: the SHA-1 of `blob <len>\0<content>`; here a SHA-256 cut to the same
    /// 40 hex digits, which is all a client can rely on (same content, same id).
    pub fn blob_id(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("blob {}\0", self.content.len()));
        hasher.update(&self.content);
        hex(&hasher.finalize())[..40].to_string()
    }

    pub fn content_sha256(&self) -> String {
        hex(&Sha256::digest(&self.content))
    }
}

#[derive(Clone)]
pub(super) struct Branch {
    /// The head commit's id (40 hex digits).
    pub commit: String,
    pub files: BTreeMap<String, RepoFile>,
    /// `ProtectedBranch`: who may push (`Developer` or `Maintainer`), or nobody (`None` in a
    /// protected branch means "No one").
    pub protected: Option<Option<Role>>,
}

/// A merge request: as the routes keep it, and as a test gives it (`MergeRequest::new`,
/// `GitLab::add_merge_request`, which sets `id`, `iid` and the times) or reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeRequest {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    pub description: String,
    /// `opened`, `closed`, `merged` or `locked`.
    pub state: String,
    pub source_branch: String,
    pub target_branch: String,
    pub labels: Vec<String>,
    pub author: String,
    pub has_conflicts: bool,
    pub remove_source_branch: bool,
    pub squash: bool,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
}

impl MergeRequest {
    /// An open merge request from `source` into `target`, by `alice`.
    pub fn new(source: &str, target: &str, title: &str) -> MergeRequest {
        let now = SystemTime::now();
        MergeRequest {
            id: 0,
            iid: 0,
            title: title.to_string(),
            description: String::new(),
            state: "opened".into(),
            source_branch: source.to_string(),
            target_branch: target.to_string(),
            labels: Vec::new(),
            author: super::ALICE.into(),
            has_conflicts: false,
            remove_source_branch: false,
            squash: false,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn state(mut self, state: &str) -> Self {
        self.state = state.to_string();
        self
    }

    pub fn labels(mut self, labels: &[&str]) -> Self {
        self.labels = labels.iter().map(|l| l.to_string()).collect();
        self
    }

    pub fn conflicts(mut self) -> Self {
        self.has_conflicts = true;
        self
    }

    /// `MergeRequest#draft?`: the title starts with `Draft:`, `[Draft]`, `(Draft)` or
    /// `Draft -`, case-insensitive (`Gitlab::Regex.merge_request_draft`).
    pub fn draft(&self) -> bool {
        let title = self.title.trim_start().to_ascii_lowercase();
        ["draft:", "[draft]", "(draft)", "draft -"]
            .iter()
            .any(|prefix| title.starts_with(prefix))
    }
}

/// A project's repository. An empty one has no branch and no default branch
/// (`empty_repo: true`, `default_branch: null`).
#[derive(Default, Clone)]
pub(super) struct Repo {
    pub default_branch: Option<String>,
    pub branches: BTreeMap<String, Branch>,
    pub merge_requests: Vec<MergeRequest>,
}

impl Repo {
    pub fn is_empty(&self) -> bool {
        self.branches.is_empty()
    }

    /// The branch a `ref` names: a branch name, or a branch's head commit id (full or at
    /// least 7 digits, as `Repository#commit` takes it); `None` for a missing ref. A missing
    /// ref means the default branch (`ref` is optional on the raw file and tree routes).
    pub fn resolve(&self, reference: Option<&str>) -> Option<&Branch> {
        let reference = match reference.filter(|r| !r.is_empty()) {
            Some(reference) => reference,
            None => self.default_branch.as_deref()?,
        };
        if let Some(branch) = self.branches.get(reference) {
            return Some(branch);
        }
        if reference.len() >= 7 && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self
                .branches
                .values()
                .find(|b| b.commit.starts_with(&reference.to_ascii_lowercase()));
        }
        None
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl World {
    /// A group by numeric id or full path (case-insensitive, like GitLab's routing).
    pub fn group_index(&self, key: &str) -> Option<usize> {
        let groups = &self.fleet.groups;
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            let id: u64 = key.parse().ok()?;
            groups.iter().position(|g| g.id == id)
        } else {
            groups
                .iter()
                .position(|g| g.full_path.eq_ignore_ascii_case(key))
        }
    }

    /// The role `username` inherits in something at `path` from the groups above it (and the
    /// group itself, for a group's path): the highest of them.
    pub fn inherited_role(&self, username: &str, path: &str) -> Option<Role> {
        self.fleet
            .groups
            .iter()
            .filter(|g| is_below(path, &g.full_path) || path.eq_ignore_ascii_case(&g.full_path))
            .filter_map(|g| g.members.get(username).copied())
            .max()
    }

    /// A new commit id, unique on this server.
    pub fn new_commit_id(&mut self) -> String {
        self.fleet.commits += 1;
        hex(&Sha256::digest(format!("commit {}", self.fleet.commits)))[..40].to_string()
    }

    /// Who may see the group (`GroupPolicy`: `read_group` for its members, members of the
    /// groups above, and anyone with access to a project inside it, `has_projects`).
    pub fn can_read_group(&self, auth: &Auth, group: &Group) -> bool {
        let Some(username) = auth.username() else {
            return false;
        };
        self.inherited_role(&username, &group.full_path).is_some()
            || self.projects.iter().any(|p| {
                is_below(&p.full_path, &group.full_path) && self.role_in(auth, p).is_some()
            })
    }
}

/// Whether `path` is strictly below `group` (`a/b/c` is below `a` and `a/b`, not `a/bc`).
pub(super) fn is_below(path: &str, group: &str) -> bool {
    path.len() > group.len() + 1
        && path.as_bytes()[group.len()] == b'/'
        && path[..group.len()].eq_ignore_ascii_case(group)
}

impl Project {
    /// The namespace the project sits in directly (`group/sub` for `group/sub/app`).
    pub fn namespace(&self) -> &str {
        self.full_path
            .rsplit_once('/')
            .map_or("", |(namespace, _)| namespace)
    }
}
