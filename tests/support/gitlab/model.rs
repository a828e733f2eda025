//! What the server knows: projects (members, archived, protection rules, states with their
//! versions and locks), people, their tokens and scopes, and CI jobs.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Map, Value};

pub(super) use super::auth::{Accepts, Auth};
use super::fault::Fault;
use super::repo_model::{Fleet, Repo};
use super::{
    ALICE, ALICE_TOKEN, BOB, BOB_TOKEN, CI_BOT, CI_JOB_NAME, CI_JOB_TOKEN, DAVE, DAVE_TOKEN,
    PROJECT_ID, PROJECT_PATH, RequestRecord, Role, Route,
};

#[derive(Default)]
pub(super) struct World {
    pub projects: Vec<Project>,
    pub users: Vec<UserRec>,
    pub tokens: Vec<TokenRec>,
    pub jobs: Vec<Job>,
    pub faults: Vec<Fault>,
    /// `TerraformState` fields this GitLab's GraphQL schema lacks (an older GitLab: `deletedAt`
    /// came with delayed deletion): selecting one is a validation error.
    pub graphql_missing_state_fields: Vec<String>,
    /// Other clients' changes waiting for a request to land in (`meanwhile.rs`).
    pub meanwhile: Vec<super::meanwhile::Pending>,
    pub log: Vec<RequestRecord>,
    /// Off by default so that the log is on unless a benchmark turns it off.
    pub log_disabled: bool,
    pub max_state_size: usize,
    /// The instance's time zone, in minutes east of UTC: Rails renders times in it
    /// (`config.time_zone`), so a non-UTC instance prints `+02:00` instead of `Z`.
    pub utc_offset_minutes: i32,
    pub next_id: u64,
    /// When each finished CI job ended, by job id (`finishedAt`; see `control_ci.rs`).
    pub job_finished_at: BTreeMap<u64, SystemTime>,
    /// Projects (full path) whose `terraformStates` fails in GraphQL, with the message.
    pub graphql_broken: BTreeMap<String, String>,
    /// Whether this GitLab has the state protection rules API (off: 404, as before 18.x).
    pub protection_rules_api: bool,
    /// Groups and the fleet routes' settings (`repo_model.rs`).
    pub fleet: Fleet,
    /// `http://127.0.0.1:PORT`: the instance's own URL (`Gitlab.config.gitlab.url`), which
    /// every `web_url` starts with (see `World::web`).
    pub web_url: String,
}

pub(super) struct Project {
    pub id: u64,
    pub full_path: String,
    /// Username → role. Only members see a private project (`ProjectPolicy`).
    pub members: BTreeMap<String, Role>,
    /// `ProjectPolicy`: an archived project prevents every write ability.
    pub archived: bool,
    pub rules: Vec<ProtectionRule>,
    pub states: BTreeMap<String, StateRec>,
    /// Its git repository, as the repository and merge request routes show it.
    pub repo: Repo,
    /// `issues.rs`.
    pub issues: Vec<super::issues::IssueRec>,
}

/// `Terraform::StateProtectionRule` (GitLab 18, `protected_terraform_states`).
pub(super) struct ProtectionRule {
    pub state_name: String,
    pub minimum_access_level_for_write: Role,
    /// `anywhere`, `ci_only` or `ci_on_protected_branch_only`.
    pub allowed_from: String,
}

pub(super) struct StateRec {
    /// Keyed by serial; GitLab's "latest version" is the highest serial, not the last write.
    pub versions: BTreeMap<u64, VersionRec>,
    pub lock: Option<LockRec>,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    /// `deleted_at`: set by `DELETE`, the record goes when the worker runs
    /// (`Terraform::States::TriggerDestroyService`, `DestroyWorker`).
    pub deleted_at: Option<SystemTime>,
}

pub(super) struct VersionRec {
    pub bytes: Vec<u8>,
    pub created_at: SystemTime,
    /// GitLab records the lock holder at write time (`created_by_user: locked_by_user`), so
    /// a write made without a lock has no author.
    pub created_by: Option<String>,
    /// The CI job of a job-token write (`ci_build`).
    pub job: Option<(u64, String, u64)>,
}

pub(super) struct LockRec {
    pub id: String,
    /// `locked_by_user`: the token's user, never LockInfo `Who` nor the basic-auth username.
    pub username: String,
    pub locked_at: SystemTime,
    /// The LockInfo the holder sent: GitLab does not keep it, only tests look at it.
    pub info: Map<String, Value>,
}

pub(super) struct UserRec {
    pub id: u64,
    pub username: String,
    /// `active`, `blocked`, `deactivated`.
    pub state: String,
}

pub(super) struct TokenRec {
    pub token: String,
    pub username: String,
    /// `api`, `read_api`, `read_user`...
    pub scopes: Vec<String>,
    /// Past its expiry date (`PersonalAccessToken#expired?`).
    pub expired: bool,
    /// Revoked by its owner or an admin (`PersonalAccessToken#revoked?`).
    pub revoked: bool,
}

pub(super) struct Job {
    pub token: String,
    pub id: u64,
    pub pipeline_id: u64,
    pub project_id: u64,
    pub name: String,
    /// Who started the pipeline: the job token acts as this user.
    pub username: String,
    pub status: String,
    pub protected_ref: bool,
}

pub(super) fn at_offset(t: SystemTime, offset_minutes: i32) -> (SystemTime, String) {
    let shift = std::time::Duration::from_secs(u64::from(offset_minutes.unsigned_abs()) * 60);
    let local = if offset_minutes >= 0 {
        t + shift
    } else {
        t - shift
    };
    let sign = if offset_minutes >= 0 { '+' } else { '-' };
    let abs = offset_minutes.unsigned_abs();
    (local, format!("{sign}{:02}:{:02}", abs / 60, abs % 60))
}

impl World {
    pub fn seeded() -> World {
        let mut world = World {
            next_id: 100,
            ..World::default()
        };
        world.projects.push(Project::new(PROJECT_ID, PROJECT_PATH));
        for (username, token, role) in [
            (ALICE, ALICE_TOKEN, Role::Maintainer),
            (BOB, BOB_TOKEN, Role::Maintainer),
            (DAVE, DAVE_TOKEN, Role::Developer),
        ] {
            world.add_token(username, token, &["api"]);
            world.set_role(PROJECT_ID, username, Some(role));
        }
        world.set_role(PROJECT_ID, CI_BOT, Some(Role::Maintainer));
        world.add_job(CI_JOB_TOKEN, CI_BOT, PROJECT_ID, CI_JOB_NAME);
        world
    }

    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn ensure_user(&mut self, username: &str) {
        if !self.users.iter().any(|u| u.username == username) {
            let id = self.id();
            self.users.push(UserRec {
                id,
                username: username.to_string(),
                state: "active".into(),
            });
        }
    }

    pub fn add_token(&mut self, username: &str, token: &str, scopes: &[&str]) {
        self.ensure_user(username);
        self.tokens.retain(|t| t.token != token);
        self.tokens.push(TokenRec {
            token: token.to_string(),
            username: username.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expired: false,
            revoked: false,
        });
    }

    pub fn set_role(&mut self, project_id: u64, username: &str, role: Option<Role>) {
        self.ensure_user(username);
        if let Some(project) = self.projects.iter_mut().find(|p| p.id == project_id) {
            match role {
                Some(role) => project.members.insert(username.to_string(), role),
                None => project.members.remove(username),
            };
        }
    }

    pub fn add_job(&mut self, token: &str, username: &str, project_id: u64, name: &str) -> usize {
        self.ensure_user(username);
        self.jobs.retain(|j| j.token != token);
        let (id, pipeline_id) = (self.id(), self.id());
        self.jobs.push(Job {
            token: token.to_string(),
            id,
            pipeline_id,
            project_id,
            name: name.to_string(),
            username: username.to_string(),
            status: "running".into(),
            protected_ref: true,
        });
        self.jobs.len() - 1
    }

    /// A project by numeric id or full path (case-insensitive, like GitLab's routing).
    pub fn project_index(&self, key: &str) -> Option<usize> {
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            let id: u64 = key.parse().ok()?;
            self.projects.iter().position(|p| p.id == id)
        } else {
            self.projects
                .iter()
                .position(|p| p.full_path.eq_ignore_ascii_case(key))
        }
    }

    pub fn project(&self, key: &str) -> &Project {
        match self.project_index(key) {
            Some(i) => &self.projects[i],
            None => panic!("the GitLab test server has no project {key:?}"),
        }
    }

    pub fn project_mut(&mut self, key: &str) -> &mut Project {
        match self.project_index(key) {
            Some(i) => &mut self.projects[i],
            None => panic!("the GitLab test server has no project {key:?}"),
        }
    }

    /// The role of whoever `auth` is in `project`: a job token has its user's role, and only
    /// in its own project here (GitLab's job token allowlist is empty by default). A member of
    /// a group above the project has that role in it too, the higher one winning
    /// (`ProjectTeam#max_member_access`).
    pub fn role_in(&self, auth: &Auth, project: &Project) -> Option<Role> {
        let role = |username: &str| {
            let direct = project.members.get(username).copied();
            direct.max(self.inherited_role(username, &project.full_path))
        };
        match auth {
            Auth::Personal { username, .. } => role(username),
            Auth::Job { username, job } if self.jobs[*job].project_id == project.id => {
                role(username)
            }
            _ => None,
        }
    }

    /// The action of the first fault matching the request; `project` is the request's `:id`.
    pub fn take_fault(
        &mut self,
        method: &str,
        route: Route,
        name: Option<&str>,
        project: Option<&str>,
    ) -> Option<super::FaultAction> {
        let project = project
            .and_then(|key| self.project_index(key))
            .map(|i| (self.projects[i].id, self.projects[i].full_path.clone()));
        let project = project.as_ref().map(|(id, path)| (*id, path.as_str()));
        let index = self
            .faults
            .iter()
            .position(|f| f.times != Some(0) && f.matches(method, route, name, project))?;
        let fault = &mut self.faults[index];
        let action = fault.action.clone();
        if let Some(times) = &mut fault.times {
            *times -= 1;
            if *times == 0 {
                self.faults.remove(index);
            }
        }
        Some(action)
    }
}

impl Project {
    pub fn new(id: u64, full_path: &str) -> Project {
        Project {
            id,
            full_path: full_path.to_string(),
            members: BTreeMap::new(),
            archived: false,
            rules: Vec::new(),
            states: BTreeMap::new(),
            repo: Repo::default(),
            issues: Vec::new(),
        }
    }

    /// GitLab's `create_or_find_by`: locking, writing and unlocking create the record.
    pub fn state_entry(&mut self, name: &str) -> &mut StateRec {
        self.states.entry(name.to_string()).or_insert_with(|| {
            let now = SystemTime::now();
            StateRec {
                versions: BTreeMap::new(),
                lock: None,
                created_at: now,
                updated_at: now,
                deleted_at: None,
            }
        })
    }
}

impl TokenRec {
    /// Why GitLab no longer takes the token, in its words: `AccessTokenValidationService`
    /// checks expiry before revocation, and `API::APIGuard` (`oauth2_bearer_token_error_handler`)
    /// words each as an OAuth `invalid_token` description.
    pub fn dead(&self) -> Option<&'static str> {
        if self.expired {
            Some("Token is expired. You can either do re-authorization or token refresh.")
        } else if self.revoked {
            Some("Token was revoked. You have to re-authorize from the user.")
        } else {
            None
        }
    }
}

impl StateRec {
    /// GitLab's `lock_matches?`: no lock and no ID match; otherwise the IDs must be equal, so
    /// an ID sent to an unlocked state does not match, and neither does a missing ID sent to a
    /// locked one.
    pub fn lock_matches(&self, id: Option<&str>) -> bool {
        match (&self.lock, id) {
            (None, None) => true,
            (lock, id) => lock.as_ref().map_or("", |l| l.id.as_str()) == id.unwrap_or(""),
        }
    }
}

impl World {
    /// The absolute address of `path` (`group/project/-/merge_requests/1`) on this instance,
    /// as every `web_url` is: GitLab builds them with `Gitlab::UrlBuilder.build` or the
    /// routes' `*_url` helpers, from the configured host (`lib/api/entities/merge_request_basic.rb`,
    /// `commit.rb`, `branch.rb`'s `project_tree_url`, `ci/job_basic.rb`'s `project_job_url`),
    /// never relative and never from the request's `Host`.
    pub fn web(&self, path: &str) -> String {
        format!("{}/{path}", self.web_url)
    }

    /// A time as GitLab prints it: ISO 8601 in the instance's zone, `Z` for UTC
    /// (`ActiveSupport::TimeWithZone#as_json`; GraphQL's `Types::TimeType` the same way).
    pub fn time(&self, t: SystemTime, millis: bool) -> String {
        let (local, suffix) = at_offset(t, self.utc_offset_minutes);
        let text = if millis {
            humantime::format_rfc3339_millis(local).to_string()
        } else {
            humantime::format_rfc3339_seconds(local).to_string()
        };
        if self.utc_offset_minutes == 0 {
            text
        } else {
            format!("{}{suffix}", text.trim_end_matches('Z'))
        }
    }

    /// The held lock as GitLab reports it in a 409: the request's own fields with the
    /// holder's `ID`, `Who` and `Created` (`lib/api/terraform/state.rb`, `post '/lock'`).
    pub fn lock_json(&self, lock: &LockRec) -> Value {
        let mut info = lock.info.clone();
        info.insert("ID".into(), lock.id.clone().into());
        info.insert("Who".into(), lock.username.clone().into());
        info.insert("Created".into(), self.time(lock.locked_at, true).into());
        Value::Object(info)
    }
}
