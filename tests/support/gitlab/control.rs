//! What a test sets up (projects, members, tokens, jobs, rules, faults, the instance's time
//! zone) and looks at (states, versions, locks, the request log). `project` arguments are
//! the numeric id ("42") or the full path ("group/infra").

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::model::{LockRec, Project, ProtectionRule, VersionRec};
use super::state_api::serial_of;
use super::{BOB, CI_JOB_NAME, Fault, GitLab, PROJECT_ID, RequestRecord, Role};

/// A CI job's ids, as GitLab's `CI_JOB_ID` and `CI_PIPELINE_ID` would give them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobIds {
    pub job: u64,
    pub pipeline: u64,
}

impl GitLab {
    /// A new private project with no members.
    pub fn add_project(&self, id: u64, full_path: &str) {
        let mut world = self.shared.world();
        world.projects.retain(|p| p.id != id);
        world.projects.push(Project::new(id, full_path));
    }

    /// A person with an `api`-scoped personal token and `role` in the default project.
    pub fn add_user(&self, username: &str, token: &str, role: Role) {
        let mut world = self.shared.world();
        world.add_token(username, token, &["api"]);
        world.set_role(PROJECT_ID, username, Some(role));
    }

    /// Another token of `username` with these scopes (`api`, `read_api`, `read_user`).
    pub fn add_token(&self, username: &str, token: &str, scopes: &[&str]) {
        self.shared.world().add_token(username, token, scopes);
    }

    /// The token's expiry date passes: 401 `invalid_token`, "Token is expired".
    pub fn expire_token(&self, token: &str) {
        let mut world = self.shared.world();
        if let Some(t) = world.tokens.iter_mut().find(|t| t.token == token) {
            t.expired = true;
        }
    }

    /// The token is revoked: 401 `invalid_token`, "Token was revoked".
    pub fn revoke_token(&self, token: &str) {
        let mut world = self.shared.world();
        if let Some(t) = world.tokens.iter_mut().find(|t| t.token == token) {
            t.revoked = true;
        }
    }

    /// `username`'s role in `project`; `None` removes the membership.
    pub fn set_role(&self, project: &str, username: &str, role: Option<Role>) {
        let mut world = self.shared.world();
        let id = world.project(project).id;
        world.set_role(id, username, role);
    }

    /// The account's state as the members API shows it (`active`, `blocked`...).
    pub fn set_user_state(&self, username: &str, state: &str) {
        let mut world = self.shared.world();
        world.ensure_user(username);
        if let Some(user) = world.users.iter_mut().find(|u| u.username == username) {
            user.state = state.to_string();
        }
    }

    pub fn set_archived(&self, project: &str, archived: bool) {
        self.shared.world().project_mut(project).archived = archived;
    }

    /// A state protection rule: writes need `minimum` and may come only from
    /// `allowed_from` (`anywhere`, `ci_only`, `ci_on_protected_branch_only`).
    pub fn add_protection_rule(
        &self,
        project: &str,
        state: &str,
        minimum: Role,
        allowed_from: &str,
    ) {
        self.shared
            .world()
            .project_mut(project)
            .rules
            .push(ProtectionRule {
                state_name: state.to_string(),
                minimum_access_level_for_write: minimum,
                allowed_from: allowed_from.to_string(),
            });
    }

    /// Renders times `minutes` east of UTC, like a GitLab instance whose time zone is not UTC.
    pub fn set_utc_offset(&self, minutes: i32) {
        self.shared.world().utc_offset_minutes = minutes;
    }

    /// A running CI job of the default project whose pipeline `username` started; the token
    /// acts as `username` with `role` (which becomes their role in the project).
    pub fn add_job_token(&self, token: &str, username: &str, role: Role) -> JobIds {
        self.add_named_job_token(token, username, role, CI_JOB_NAME)
    }

    pub fn add_named_job_token(
        &self,
        token: &str,
        username: &str,
        role: Role,
        job_name: &str,
    ) -> JobIds {
        let mut world = self.shared.world();
        world.set_role(PROJECT_ID, username, Some(role));
        let index = world.add_job(token, username, PROJECT_ID, job_name);
        let job = &world.jobs[index];
        JobIds {
            job: job.id,
            pipeline: job.pipeline_id,
        }
    }

    /// The ids of the job that owns `token`.
    pub fn job_ids(&self, token: &str) -> Option<JobIds> {
        let world = self.shared.world();
        let job = world.jobs.iter().find(|j| j.token == token)?;
        Some(JobIds {
            job: job.id,
            pipeline: job.pipeline_id,
        })
    }

    /// Ends the job: GitLab accepts a job token only while its job runs, so this gives 401.
    pub fn finish_job(&self, token: &str) {
        let mut world = self.shared.world();
        if let Some(job) = world.jobs.iter_mut().find(|j| j.token == token) {
            job.status = "success".into();
        }
    }

    /// Latest stored bytes (highest serial), `None` if there is no state or it holds no data.
    pub fn state(&self, project: &str, name: &str) -> Option<Vec<u8>> {
        let world = self.shared.world();
        let state = world.project(project).states.get(name)?;
        state.versions.values().next_back().map(|v| v.bytes.clone())
    }

    /// Whether a state record exists at all (possibly empty, e.g. created by a lock, or
    /// waiting for the deletion worker).
    pub fn has_state(&self, project: &str, name: &str) -> bool {
        self.shared
            .world()
            .project(project)
            .states
            .contains_key(name)
    }

    /// Whether the state's deletion is scheduled and the worker has not run yet.
    pub fn is_deleting(&self, project: &str, name: &str) -> bool {
        let world = self.shared.world();
        let state = world.project(project).states.get(name);
        state.is_some_and(|s| s.deleted_at.is_some())
    }

    /// Every stored version, by ascending serial.
    pub fn versions(&self, project: &str, name: &str) -> Vec<(u64, Vec<u8>)> {
        let world = self.shared.world();
        let state = world.project(project).states.get(name);
        state.map_or_else(Vec::new, |s| {
            s.versions
                .iter()
                .map(|(serial, v)| (*serial, v.bytes.clone()))
                .collect()
        })
    }

    /// The held lock: the LockInfo the holder sent, with `ID`, `Who` (the GitLab username)
    /// and `Created` (GitLab's lock time) as GitLab reports them.
    pub fn lock(&self, project: &str, name: &str) -> Option<Value> {
        let world = self.shared.world();
        let state = world.project(project).states.get(name)?;
        state.lock.as_ref().map(|l| world.lock_json(l))
    }

    /// Locks the state as if `lockinfo["Who"]` (a GitLab username) had locked it with
    /// `lockinfo["ID"]`; `Created` is kept when it is an RFC 3339 UTC time. Creates the state
    /// record if missing and replaces any lock already held.
    pub fn set_lock(&self, project: &str, name: &str, lockinfo: Value) {
        let info = match lockinfo {
            Value::Object(map) => map,
            other => panic!("set_lock wants a LockInfo object, got {other}"),
        };
        let text = |key: &str| info.get(key).and_then(Value::as_str).map(str::to_string);
        let id = text("ID").unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
        let username = text("Who").unwrap_or_else(|| BOB.into());
        let locked_at = text("Created")
            .and_then(|c| humantime::parse_rfc3339_weak(&c).ok())
            .unwrap_or_else(SystemTime::now);
        let mut world = self.shared.world();
        let state = world.project_mut(project).state_entry(name);
        state.lock = Some(LockRec {
            id,
            username,
            locked_at,
            info,
        });
    }

    pub fn clear_lock(&self, project: &str, name: &str) {
        let mut world = self.shared.world();
        if let Some(state) = world.project_mut(project).states.get_mut(name) {
            state.lock = None;
        }
    }

    /// Stores `bytes` as a new version, keyed by its JSON `serial` (or one past the highest
    /// serial when it has none), replacing a version with the same serial. Creates the state.
    pub fn put_state(&self, project: &str, name: &str, bytes: &[u8]) {
        let mut world = self.shared.world();
        let state = world.project_mut(project).state_entry(name);
        let serial = serde_json::from_slice::<Value>(bytes)
            .ok()
            .as_ref()
            .and_then(serial_of)
            .unwrap_or_else(|| state.versions.keys().next_back().map_or(1, |s| s + 1));
        let now = SystemTime::now();
        state.versions.insert(
            serial,
            VersionRec {
                bytes: bytes.to_vec(),
                created_at: now,
                created_by: None,
                job: None,
            },
        );
    }

    /// Sets when the state record was last updated (GitLab's `updatedAt`), e.g. long ago.
    pub fn set_updated_at(&self, project: &str, name: &str, at: SystemTime) {
        let mut world = self.shared.world();
        world.project_mut(project).state_entry(name).updated_at = at;
    }

    /// Schedules the state's deletion as `DELETE` does: every route answers 422 until
    /// `run_deletion_worker`.
    pub fn mark_deleting(&self, project: &str, name: &str) {
        let mut world = self.shared.world();
        world.project_mut(project).state_entry(name).deleted_at = Some(SystemTime::now());
    }

    /// Runs GitLab's `Terraform::States::DestroyWorker` for every scheduled deletion.
    pub fn run_deletion_worker(&self) {
        let mut world = self.shared.world();
        for project in &mut world.projects {
            project.states.retain(|_, s| s.deleted_at.is_none());
        }
    }

    /// State names of the project, sorted (those waiting for deletion included).
    pub fn state_names(&self, project: &str) -> Vec<String> {
        let world = self.shared.world();
        world.project(project).states.keys().cloned().collect()
    }

    /// GitLab's `max_terraform_state_size_bytes` (0, the default, means no limit): larger
    /// writes get 413.
    pub fn set_max_state_size(&self, bytes: usize) {
        self.shared.world().max_state_size = bytes;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.world().log.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.world().log.clear();
    }

    /// Turns the request log off (a long benchmark would otherwise keep every body).
    pub fn set_request_log(&self, enabled: bool) {
        let mut world = self.shared.world();
        world.log_disabled = !enabled;
        if !enabled {
            world.log.clear();
        }
    }

    /// Polls the request log until a request satisfies `pred` (also one still being handled,
    /// e.g. held by a `Delay` fault), or `timeout` passes.
    pub fn wait_for_request(
        &self,
        timeout: Duration,
        pred: impl Fn(&RequestRecord) -> bool,
    ) -> Option<RequestRecord> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.shared.world().log.iter().find(|r| pred(r)) {
                return Some(found.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Adds a fault rule; rules are tried in the order they were added, the first match wins.
    pub fn fault(&self, fault: Fault) {
        self.shared.world().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.world().faults.clear();
    }
}
