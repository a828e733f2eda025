//! What a test sets up and looks at for the fleet routes: groups and their members, the files
//! of a project's branches (each change one commit, as a push would make), protected
//! branches, merge requests, and whether paged answers carry their totals.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::model::World;
use super::repo_model::{Branch, FileMode, Group, MergeRequest, RepoFile};
use super::{GitLab, Role};

impl World {
    /// The branch `name` of `project`, created from the default branch (or empty, in an empty
    /// repository, which then gets it as its default branch, as a first push does).
    pub fn branch_mut(&mut self, project: &str, name: &str) -> &mut Branch {
        let fresh = self.new_commit_id();
        let repo = &mut self.project_mut(project).repo;
        if !repo.branches.contains_key(name) {
            // A new branch points at the default branch's head, or at a first commit.
            let (commit, files) = repo
                .default_branch
                .as_ref()
                .and_then(|d| repo.branches.get(d))
                .map_or((fresh, BTreeMap::new()), |b| {
                    (b.commit.clone(), b.files.clone())
                });
            repo.branches.insert(
                name.to_string(),
                Branch {
                    commit,
                    files,
                    protected: None,
                },
            );
        }
        if repo.default_branch.is_none() {
            repo.default_branch = Some(name.to_string());
        }
        repo.branches.get_mut(name).expect("just inserted")
    }

    /// One commit on `branch` putting `content` at `path` (`None` removes the file).
    pub fn commit_file(
        &mut self,
        project: &str,
        branch: &str,
        path: &str,
        content: Option<(&[u8], FileMode)>,
    ) {
        let commit = self.new_commit_id();
        let branch = self.branch_mut(project, branch);
        branch.commit = commit.clone();
        match content {
            Some((bytes, mode)) => {
                branch.files.insert(
                    path.to_string(),
                    RepoFile {
                        content: bytes.to_vec(),
                        mode,
                        last_commit_id: commit,
                    },
                );
            }
            None => {
                branch.files.remove(path);
            }
        }
    }
}

impl GitLab {
    /// A private group; members are added with `set_group_role`.
    pub fn add_group(&self, id: u64, full_path: &str) {
        let mut world = self.shared.world();
        world.fleet.groups.retain(|g| g.id != id);
        world.fleet.groups.push(Group {
            id,
            full_path: full_path.to_string(),
            members: BTreeMap::new(),
        });
    }

    /// `username`'s role in the group and, inherited, in everything below it.
    pub fn set_group_role(&self, group: &str, username: &str, role: Option<Role>) {
        let mut world = self.shared.world();
        world.ensure_user(username);
        let index = world
            .group_index(group)
            .unwrap_or_else(|| panic!("the GitLab test server has no group {group:?}"));
        let members = &mut world.fleet.groups[index].members;
        match role {
            Some(role) => members.insert(username.to_string(), role),
            None => members.remove(username),
        };
    }

    /// A regular file at `path` on `branch` (created from the default branch if missing), as
    /// one new commit.
    pub fn put_file(&self, project: &str, branch: &str, path: &str, content: &[u8]) {
        self.put_file_mode(project, branch, path, content, FileMode::Regular);
    }

    pub fn put_file_mode(
        &self,
        project: &str,
        branch: &str,
        path: &str,
        content: &[u8],
        mode: FileMode,
    ) {
        let mut world = self.shared.world();
        world.commit_file(project, branch, path, Some((content, mode)));
    }

    pub fn remove_file(&self, project: &str, branch: &str, path: &str) {
        self.shared.world().commit_file(project, branch, path, None);
    }

    /// The file's bytes on `branch`, `None` when the branch or the file does not exist.
    pub fn file(&self, project: &str, branch: &str, path: &str) -> Option<Vec<u8>> {
        let world = self.shared.world();
        let repo = &world.project(project).repo;
        let file = repo.branches.get(branch)?.files.get(path)?;
        Some(file.content.clone())
    }

    /// Every file on `branch`, by path, with its mode.
    pub fn files(&self, project: &str, branch: &str) -> BTreeMap<String, (Vec<u8>, FileMode)> {
        let world = self.shared.world();
        let repo = &world.project(project).repo;
        repo.branches.get(branch).map_or_else(BTreeMap::new, |b| {
            b.files
                .iter()
                .map(|(path, f)| (path.clone(), (f.content.clone(), f.mode)))
                .collect()
        })
    }

    pub fn branch_names(&self, project: &str) -> Vec<String> {
        let world = self.shared.world();
        world
            .project(project)
            .repo
            .branches
            .keys()
            .cloned()
            .collect()
    }

    /// The head commit of `branch`.
    pub fn branch_commit(&self, project: &str, branch: &str) -> Option<String> {
        let world = self.shared.world();
        let repo = &world.project(project).repo;
        repo.branches.get(branch).map(|b| b.commit.clone())
    }

    pub fn default_branch(&self, project: &str) -> Option<String> {
        self.shared
            .world()
            .project(project)
            .repo
            .default_branch
            .clone()
    }

    pub fn set_default_branch(&self, project: &str, branch: &str) {
        let mut world = self.shared.world();
        world.branch_mut(project, branch);
        world.project_mut(project).repo.default_branch = Some(branch.to_string());
    }

    /// Protects `branch`: pushes only from `push` and above, or from nobody (`None`).
    pub fn protect_branch(&self, project: &str, branch: &str, push: Option<Role>) {
        let mut world = self.shared.world();
        world.branch_mut(project, branch).protected = Some(push);
    }

    /// Adds the merge request (its `id`, `iid` and times given here) and returns its `iid`.
    pub fn add_merge_request(&self, project: &str, mr: &MergeRequest) -> u64 {
        let mut world = self.shared.world();
        let id = world.id();
        let repo = &mut world.project_mut(project).repo;
        let iid = repo.merge_requests.iter().map(|m| m.iid).max().unwrap_or(0) + 1;
        let now = SystemTime::now();
        repo.merge_requests.push(MergeRequest {
            id,
            iid,
            created_at: now,
            updated_at: now,
            ..mr.clone()
        });
        iid
    }

    /// The project's merge requests, oldest first.
    pub fn merge_requests(&self, project: &str) -> Vec<MergeRequest> {
        self.shared
            .world()
            .project(project)
            .repo
            .merge_requests
            .clone()
    }

    /// Paged answers without `X-Total`/`X-Total-Pages`, as GitLab sends for large listings.
    pub fn set_omit_totals(&self, omit: bool) {
        self.shared.world().fleet.omit_totals = omit;
    }
}
