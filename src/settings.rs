//! Flags, the process environment, `.env` and `tfw.toml`, resolved once per command, with the
//! origin of every value (so `tfw env` can say where each one came from and a stale shell
//! export never goes unnoticed). Precedence: flag > process environment > `.env` > `tfw.toml`
//! > defaults. Nothing here changes tfw's own environment: the child gets an overlay.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::backend::{self, Backend, Source};
use crate::cli::Cli;
use crate::dotenv::DotEnv;
use crate::problem::Problem;
use crate::project::Project;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    Flag,
    Env,
    DotEnv {
        line: usize,
    },
    TfwToml,
    /// Derived from other values (named).
    Derived {
        from: String,
    },
    Default,
}

impl Origin {
    pub fn describe(&self, env_file: &Path) -> String {
        match self {
            Origin::Flag => "command line".into(),
            Origin::Env => "environment".into(),
            Origin::DotEnv { line } => format!("{}:{line}", env_file.display()),
            Origin::TfwToml => crate::project::FILE_NAME.into(),
            Origin::Derived { from } => format!("derived from {from}"),
            Origin::Default => "default".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub value: String,
    pub origin: Origin,
}

/// The http backend variables terraform knows; anything else `TF_HTTP_*` is a typo.
pub const KNOWN_TF_HTTP: &[&str] = &[
    "TF_HTTP_ADDRESS",
    "TF_HTTP_UPDATE_METHOD",
    "TF_HTTP_LOCK_ADDRESS",
    "TF_HTTP_LOCK_METHOD",
    "TF_HTTP_UNLOCK_ADDRESS",
    "TF_HTTP_UNLOCK_METHOD",
    "TF_HTTP_USERNAME",
    "TF_HTTP_PASSWORD",
    "TF_HTTP_SKIP_CERT_VERIFICATION",
    "TF_HTTP_RETRY_MAX",
    "TF_HTTP_RETRY_WAIT_MIN",
    "TF_HTTP_RETRY_WAIT_MAX",
    "TF_HTTP_CLIENT_CA_CERTIFICATE_PEM",
    "TF_HTTP_CLIENT_CERTIFICATE_PEM",
    "TF_HTTP_CLIENT_PRIVATE_KEY_PEM",
];

/// Keys whose disagreement between the shell and `.env` deserves a warning.
const WATCHED: &[&str] = &[
    "TF_STATE_NAME",
    "TF_HTTP_ADDRESS",
    "TF_HTTP_USERNAME",
    "TF_HTTP_PASSWORD",
    "TF_HTTP_LOCK_ADDRESS",
    "TF_HTTP_UNLOCK_ADDRESS",
    "GITLAB_URL",
    "GITLAB_PROJECT",
    "TFW_BINARY",
];

const SECRET_KEYS: &[&str] = &[
    "TF_HTTP_PASSWORD",
    "CI_JOB_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITLAB_TOKEN",
];

pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
        || key.ends_with("_PASSWORD")
        || key.ends_with("_TOKEN")
        || key.ends_with("_SECRET")
        || key.ends_with("_SECRET_KEY")
}

#[derive(Debug)]
pub struct Settings {
    pub dir: PathBuf,
    pub env_file: PathBuf,
    /// `None` when the file is missing or unreadable; the reason is in `dotenv_problem`.
    pub dotenv: Option<DotEnv>,
    pub dotenv_problem: Option<Problem>,
    pub project: Project,
    /// An invalid `tfw.toml` (defaults are used meanwhile, so `doctor` can report everything).
    pub project_problem: Option<Problem>,
    pub env: HashMap<String, String>,
    pub state_flag: Option<String>,
    /// Running in CI (`CI` set) or told not to interact.
    pub ci: bool,
}

impl Settings {
    pub fn load(cli: &Cli, env: HashMap<String, String>, ci: bool) -> Result<Self> {
        let cwd = std::env::current_dir()?;
        let dir = match &cli.chdir {
            Some(dir) => {
                let dir = cwd.join(dir);
                if !dir.is_dir() {
                    return Err(
                        Problem::error(format!("`{}` is not a directory", dir.display()))
                            .hint("check the path given to -C/--chdir")
                            .into(),
                    );
                }
                dir
            }
            None => cwd,
        };
        let env_file = match &cli.env_file {
            Some(path) => dir.join(path),
            None => dir.join(".env"),
        };
        let (dotenv, dotenv_problem) = match DotEnv::load(&env_file) {
            Ok(dotenv) => (Some(dotenv), None),
            Err(problem) => (None, Some(problem)),
        };
        let (project, project_problem) = match Project::load(&dir) {
            Ok(project) => (project, None),
            Err(problem) => (
                Project {
                    path: None,
                    file: Default::default(),
                },
                Some(problem),
            ),
        };
        Ok(Self {
            dir,
            env_file,
            dotenv,
            dotenv_problem,
            project,
            project_problem,
            env,
            state_flag: cli.state.clone(),
            ci,
        })
    }

    /// A key's value: process environment first, then `.env`. Empty counts as unset, as
    /// terraform treats its `TF_HTTP_*` variables.
    pub fn lookup(&self, key: &str) -> Option<Value> {
        if let Some(value) = self.env.get(key).filter(|v| !v.is_empty()) {
            return Some(Value {
                value: value.clone(),
                origin: Origin::Env,
            });
        }
        let dotenv = self.dotenv.as_ref()?;
        let value = dotenv.get(key).filter(|v| !v.is_empty())?;
        Some(Value {
            value: value.to_string(),
            origin: Origin::DotEnv {
                line: dotenv.line(key).unwrap_or(0),
            },
        })
    }

    fn dotenv_line(&self, key: &str) -> Option<usize> {
        self.dotenv.as_ref().and_then(|d| d.line(key))
    }

    fn at_key(&self, problem: Problem, key: &str) -> Problem {
        match self.dotenv_line(key) {
            Some(line) if !self.env.contains_key(key) => problem.at(&self.env_file, Some(line)),
            _ => problem,
        }
    }

    pub fn username(&self) -> Option<String> {
        self.lookup("TF_HTTP_USERNAME").map(|v| v.value)
    }

    /// The state: `--state` > `TF_STATE_NAME` (env, then `.env`) > CI default > personal.
    pub fn state(&self) -> Option<Value> {
        if let Some(flag) = &self.state_flag {
            return Some(Value {
                value: flag.clone(),
                origin: Origin::Flag,
            });
        }
        if let Some(value) = self.lookup("TF_STATE_NAME") {
            return Some(value);
        }
        // Written but empty is a mistake to report, not a request for the default.
        if let Some(dotenv) = &self.dotenv
            && dotenv.get("TF_STATE_NAME") == Some("")
            && !self.env.contains_key("TF_STATE_NAME")
        {
            return Some(Value {
                value: String::new(),
                origin: Origin::DotEnv {
                    line: dotenv.line("TF_STATE_NAME").unwrap_or(0),
                },
            });
        }
        if self.ci && self.dotenv.is_none() {
            return Some(match &self.project.file.ci_state {
                Some(name) => Value {
                    value: name.clone(),
                    origin: Origin::TfwToml,
                },
                None => Value {
                    value: "gitlab-ci".into(),
                    origin: Origin::Default,
                },
            });
        }
        let username = self.username()?;
        Some(Value {
            value: self.project.personal_state(&username),
            origin: Origin::Derived {
                from: "TF_HTTP_USERNAME (personal state)".into(),
            },
        })
    }

    /// Resolves and validates the backend. Returns every problem found (warnings included);
    /// the backend is `Some` only when no error was found.
    pub fn backend(&self) -> (Option<Backend>, Vec<Problem>) {
        let mut problems: Vec<Problem> = self.project_problem.iter().cloned().collect();
        if let Some(dotenv) = &self.dotenv {
            problems.extend(dotenv.warnings.iter().cloned());
        }
        self.check_disagreements(&mut problems);
        self.check_unknown_keys(&mut problems);
        self.check_placeholders(&mut problems);
        self.check_permissions(&mut problems);
        self.check_tokens_in_addresses(&mut problems);

        let ci_available = self.env.contains_key("CI_API_V4_URL")
            && self.env.contains_key("CI_PROJECT_ID")
            && self.env.contains_key("CI_JOB_TOKEN");
        let address = self.lookup("TF_HTTP_ADDRESS");
        let gitlab_url = self.lookup("GITLAB_URL");
        let gitlab_project = self.lookup("GITLAB_PROJECT");

        if self.dotenv.is_none()
            && !(ci_available && self.ci)
            && address.is_none()
            && gitlab_url.is_none()
        {
            if let Some(problem) = &self.dotenv_problem {
                problems.push(problem.clone());
                return (None, problems);
            }
        }
        if self.dotenv.is_none()
            && let Some(problem) = &self.dotenv_problem
            && !problem.message.contains("does not exist")
        {
            // An unreadable or unparsable .env is an error even when the shell has values.
            problems.push(problem.clone());
        }

        let state = self.state();
        if let Some(state) = &state {
            check_state_name(self, state, &mut problems);
        }

        let (source, api_url, project, base) = if let Some(address) = &address {
            match self.parse_explicit_address(address, &mut problems) {
                Some((api, project, base)) => (Source::Address, api, project, base),
                None => return (None, problems),
            }
        } else if gitlab_url.is_some() || gitlab_project.is_some() {
            let Some(url) = gitlab_url else {
                problems.push(self.missing("GITLAB_URL", "https://gitlab.example.com"));
                return (None, problems);
            };
            let Some(project) = gitlab_project else {
                problems.push(self.missing("GITLAB_PROJECT", "group/infra"));
                return (None, problems);
            };
            if !self.valid_url(&url, "GITLAB_URL", &mut problems) {
                return (None, problems);
            }
            let api = format!("{}/api/v4", url.value.trim_end_matches('/'));
            let base = backend::base_for(&api, &project.value);
            (Source::Project, api, project.value, base)
        } else if ci_available && self.ci {
            let api = self.env["CI_API_V4_URL"].trim_end_matches('/').to_string();
            let project = self.env["CI_PROJECT_ID"].clone();
            let base = backend::base_for(&api, &project);
            (Source::Ci, api, project, base)
        } else {
            // An empty `TF_HTTP_ADDRESS=` line is named with its line (the location used to be
            // overwritten with none; found by tests/dotenv_fuzz.rs).
            let empty = self.dotenv_line("TF_HTTP_ADDRESS").is_some();
            let message = if empty {
                "`TF_HTTP_ADDRESS` is empty, so no GitLab backend is configured: set it, or `GITLAB_URL` and `GITLAB_PROJECT`"
            } else {
                "no GitLab backend is configured: set `TF_HTTP_ADDRESS`, or `GITLAB_URL` and `GITLAB_PROJECT`"
            };
            problems.push(
                self.at_key(Problem::error(message).at(&self.env_file, None), "TF_HTTP_ADDRESS")
                .hint("add GITLAB_URL=\"https://gitlab.example.com\" and GITLAB_PROJECT=\"group/infra\" to .env, or run `tfw setup`"),
            );
            return (None, problems);
        };

        let (username, password) = self.credentials(source, &mut problems);
        let Some(state) = state else {
            // Without a username there is no personal state either: that error says it all.
            if username.is_some() {
                problems.push(self.missing("TF_STATE_NAME", "dev-yourname"));
            }
            return (None, problems);
        };
        if problems.iter().any(Problem::is_error) {
            return (None, problems);
        }
        let (Some(username), Some(password)) = (username, password) else {
            return (None, problems);
        };
        let backend = Backend {
            source,
            api_url,
            project,
            base,
            state,
            username,
            password,
        };
        (Some(backend), problems)
    }

    fn missing(&self, key: &str, example: &str) -> Problem {
        let problem = match self.lookup(key) {
            Some(_) => Problem::error(format!("`{key}` is empty")),
            None if self.dotenv.as_ref().and_then(|d| d.get(key)).is_some() => {
                Problem::error(format!("`{key}` is empty"))
            }
            None => Problem::error(format!("`{key}` is missing")),
        };
        let problem = match self.dotenv_line(key) {
            Some(line) => problem.at(&self.env_file, Some(line)),
            None => problem.at(&self.env_file, None),
        };
        problem.hint(format!(
            "add `{key}=\"{example}\"` to {}",
            self.env_file_name()
        ))
    }

    fn env_file_name(&self) -> String {
        self.env_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".env".into())
    }

    fn valid_url(&self, value: &Value, key: &str, problems: &mut Vec<Problem>) -> bool {
        match url::Url::parse(&value.value) {
            Ok(url)
                if (url.scheme() == "https" || url.scheme() == "http") && url.host().is_some() =>
            {
                true
            }
            _ => {
                problems.push(
                    self.at_key(
                        Problem::error(format!(
                            "`{key}` is not a valid http(s) URL: `{}`",
                            short(&value.value)
                        )),
                        key,
                    )
                    .hint("write a full URL, e.g. https://gitlab.example.com"),
                );
                false
            }
        }
    }

    fn parse_explicit_address(
        &self,
        address: &Value,
        problems: &mut Vec<Problem>,
    ) -> Option<(String, String, String)> {
        if !self.valid_url(address, "TF_HTTP_ADDRESS", problems) {
            return None;
        }
        if let Some((base, name)) = address.value.split_once("/terraform/state/")
            && name.contains('/')
            && !name.ends_with("/lock")
        {
            let decoded = short(&backend::decode_segment(name));
            problems.push(
                self.at_key(
                    Problem::error(format!(
                        "`TF_HTTP_ADDRESS` has a raw `/` in the state name `{decoded}`, which misses GitLab's route (URL-encoded: `{}`)",
                        backend::encode_segment(&decoded)
                    )),
                    "TF_HTTP_ADDRESS",
                )
                .hint(format!(
                    "delete TF_HTTP_ADDRESS and set GITLAB_URL and GITLAB_PROJECT (tfw encodes the name), or end it with `{base}/terraform/state/{}`",
                    backend::encode_segment(&decoded)
                )),
            );
            return None;
        }
        let Some(parsed) = backend::parse_address(&address.value) else {
            problems.push(
                self.at_key(
                    Problem::error(format!(
                        "`TF_HTTP_ADDRESS` is not a GitLab state address: `{}`",
                        short(&address.value)
                    )),
                    "TF_HTTP_ADDRESS",
                )
                .hint("it must look like https://HOST/api/v4/projects/<id or group%2Fproject>/terraform/state/<state>; or replace it with GITLAB_URL and GITLAB_PROJECT"),
            );
            return None;
        };
        // The address's last segment must be the state it claims to be: a raw `/` in the name
        // would miss GitLab's route, and a stale address would write to another state.
        if let Some(named) = self.lookup("TF_STATE_NAME")
            && std::mem::discriminant(&named.origin) == std::mem::discriminant(&address.origin)
        {
            let expected = backend::encode_segment(&named.value);
            if parsed.last_segment != expected {
                problems.push(
                    self.at_key(
                        Problem::error(format!(
                            "`TF_HTTP_ADDRESS` ends in `{}` but `TF_STATE_NAME` is `{}` (URL-encoded: `{expected}`)",
                            short(&parsed.last_segment),
                            short(&named.value)
                        )),
                        "TF_HTTP_ADDRESS",
                    )
                    .hint(format!(
                        "end the address with `${{TF_STATE_NAME}}` (encoded), or delete TF_HTTP_ADDRESS and set GITLAB_URL and GITLAB_PROJECT so tfw builds it: {}{expected}",
                        parsed.base
                    )),
                );
            }
        }
        let expected_lock = format!("{}/lock", address.value);
        for key in ["TF_HTTP_LOCK_ADDRESS", "TF_HTTP_UNLOCK_ADDRESS"] {
            if let Some(lock) = self.lookup(key)
                && lock.value != expected_lock
            {
                problems.push(
                    self.at_key(
                        Problem::error(format!(
                            "`{key}` is `{}`, but GitLab's lock lives at the state address + `/lock`",
                            short(&lock.value)
                        )),
                        key,
                    )
                    .hint(format!(
                        "set it to `{}` or delete the line (tfw derives it)",
                        short(&expected_lock)
                    )),
                );
            }
        }
        for (key, wanted) in [
            ("TF_HTTP_LOCK_METHOD", "POST"),
            ("TF_HTTP_UNLOCK_METHOD", "DELETE"),
        ] {
            if let Some(method) = self.lookup(key)
                && !method.value.eq_ignore_ascii_case(wanted)
            {
                problems.push(
                    self.at_key(
                        Problem::error(format!(
                            "`{key}` is `{}`; GitLab needs `{wanted}`",
                            short(&method.value)
                        )),
                        key,
                    )
                    .hint("delete the line: tfw sets the right method"),
                );
            }
        }
        Some((parsed.api_url, parsed.project, parsed.base))
    }

    fn credentials(
        &self,
        source: Source,
        problems: &mut Vec<Problem>,
    ) -> (Option<Value>, Option<Value>) {
        let password = self.lookup("TF_HTTP_PASSWORD");
        if source == Source::Ci {
            let job_token = &self.env["CI_JOB_TOKEN"];
            return match password.filter(|password| &password.value != job_token) {
                Some(password) => {
                    // GitLab takes `gitlab-ci-token` only with a job token; with any other
                    // token the name is ignored, but terraform needs one to send credentials.
                    let username = self
                        .lookup("TF_HTTP_USERNAME")
                        .or_else(|| self.lookup("GITLAB_USER_LOGIN"))
                        .unwrap_or(Value {
                            value: "tfw".into(),
                            origin: Origin::Default,
                        });
                    problems.push(
                        Problem::warning(format!(
                            "using `TF_HTTP_PASSWORD` (from {}) as the GitLab token, not `CI_JOB_TOKEN`",
                            password.origin.describe(&self.env_file)
                        ))
                        .hint("unset `TF_HTTP_PASSWORD` in the CI/CD variables to use the job token"),
                    );
                    (Some(username), Some(password))
                }
                None => (
                    Some(Value {
                        value: "gitlab-ci-token".into(),
                        origin: Origin::Derived { from: "CI".into() },
                    }),
                    Some(Value {
                        value: self.env["CI_JOB_TOKEN"].clone(),
                        origin: Origin::Derived {
                            from: "CI_JOB_TOKEN".into(),
                        },
                    }),
                ),
            };
        }
        let username = self.lookup("TF_HTTP_USERNAME");
        if username.is_none() {
            problems.push(self.missing("TF_HTTP_USERNAME", "your-gitlab-username"));
        }
        if password.is_none() {
            problems.push(
                self.missing("TF_HTTP_PASSWORD", "glpat-...")
                    .hint("create a GitLab access token with the `api` scope and put it in TF_HTTP_PASSWORD in .env"),
            );
        }
        (username, password)
    }

    fn check_disagreements(&self, problems: &mut Vec<Problem>) {
        let Some(dotenv) = &self.dotenv else { return };
        for key in WATCHED {
            let (Some(shell), Some(file)) = (self.env.get(*key), dotenv.get(key)) else {
                continue;
            };
            if shell.is_empty() || shell == file {
                continue;
            }
            let shown = |v: &str| {
                if is_secret_key(key) {
                    "****".to_string()
                } else {
                    format!("`{}`", short(v))
                }
            };
            problems.push(
                Problem::warning(format!(
                    "`{key}` is {} in your shell but {} in {}: the shell wins",
                    shown(shell),
                    shown(file),
                    self.env_file_name()
                ))
                .at(&self.env_file, dotenv.line(key))
                .hint(format!(
                    "run `unset {key}` to use the value from {}",
                    self.env_file_name()
                )),
            );
        }
    }

    fn check_unknown_keys(&self, problems: &mut Vec<Problem>) {
        let Some(dotenv) = &self.dotenv else { return };
        for (key, _, line) in dotenv.iter() {
            if !key.starts_with("TF_HTTP_") || KNOWN_TF_HTTP.contains(&key) {
                continue;
            }
            let suggestion = KNOWN_TF_HTTP
                .iter()
                .map(|known| (strsim::jaro_winkler(key, known), *known))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .filter(|(score, _)| *score > 0.85)
                .map(|(_, known)| known);
            let problem = Problem::error(format!("unknown backend setting `{key}`"))
                .at(&self.env_file, Some(line));
            problems.push(match suggestion {
                Some(known) => problem.hint(format!("did you mean `{known}`?")),
                None => problem.hint(format!(
                    "terraform's http backend reads only: {}",
                    KNOWN_TF_HTTP.join(", ")
                )),
            });
        }
    }

    fn check_placeholders(&self, problems: &mut Vec<Problem>) {
        let Some(dotenv) = &self.dotenv else { return };
        for (key, value, line) in dotenv.iter() {
            if !is_placeholder(value) {
                continue;
            }
            let backend_key = key.starts_with("TF_") || key.starts_with("GITLAB_");
            let message = format!("`{key}` still holds the example value from env.example");
            let problem = if backend_key {
                Problem::error(message)
            } else {
                Problem::warning(message)
            };
            problems.push(
                problem
                    .at(&self.env_file, Some(line))
                    .hint(format!("replace it with your real {key}")),
            );
        }
    }

    /// A token pasted into an address, project, state or user name would travel in every
    /// request URL (and so into GitLab's and every proxy's access log), or on a command
    /// line: refused before anything is sent (found by tests/secrets.rs).
    fn check_tokens_in_addresses(&self, problems: &mut Vec<Problem>) {
        for key in [
            "TF_HTTP_ADDRESS",
            "TF_HTTP_LOCK_ADDRESS",
            "TF_HTTP_UNLOCK_ADDRESS",
            "GITLAB_URL",
            "GITLAB_PROJECT",
            "TF_STATE_NAME",
            "TF_HTTP_USERNAME",
        ] {
            if let Some(value) = self.lookup(key)
                && !embedded_tokens(&value.value).is_empty()
            {
                problems.push(
                    self.at_key(
                        Problem::error(format!(
                            "`{key}` holds a GitLab token: it would be sent in every request URL and end up in access logs"
                        )),
                        key,
                    )
                    .hint("put the token in TF_HTTP_PASSWORD only, and revoke this one if it was used"),
                );
            }
        }
    }

    fn check_permissions(&self, problems: &mut Vec<Problem>) {
        if let Ok(meta) = std::fs::metadata(&self.env_file)
            && meta.permissions().mode() & 0o077 != 0
            && self
                .dotenv
                .as_ref()
                .is_some_and(|d| d.get("TF_HTTP_PASSWORD").is_some())
        {
            problems.push(
                Problem::warning(format!(
                    "{} holds a token and is readable by other users (mode {:o})",
                    self.env_file_name(),
                    meta.permissions().mode() & 0o777
                ))
                .at(&self.env_file, None)
                .hint(format!("run `chmod 600 {}`", self.env_file.display())),
            );
        }
    }

    /// Is `.env` tracked by git (the token in the repository)? Checked by every command that
    /// uses the token; outside a work tree git fails and that is fine.
    pub fn git_tracked_problem(&self) -> Option<Problem> {
        self.dotenv.as_ref()?;
        let name = self.env_file_name();
        if !self.env_file_tracked(&name) {
            return None;
        }
        Some(
            Problem::error(format!(
                "{name} is tracked by git: your token is in the repository"
            ))
            .at(&self.env_file, None)
            .hint(format!(
                "run `git rm --cached {name}`, add it to .gitignore, and revoke the token"
            )),
        )
    }

    /// Is `.env` left out of `.gitignore`? A warning, checked by `doctor` and `init`.
    pub fn git_ignored_problem(&self) -> Option<Problem> {
        self.dotenv.as_ref()?;
        if matches!(self.git_index(), Some(GitIndex::NoRepository)) {
            return None;
        }
        // One git process: check-ignore says 0 ignored, 1 not ignored, 128 not a work tree.
        let name = self.env_file_name();
        if self.git(&["check-ignore", "-q", "--", &name]) != Some(1) {
            return None;
        }
        Some(
            Problem::warning(format!("{name} is not ignored by git"))
                .at(&self.env_file, None)
                .hint(format!(
                    "add `{name}` to .gitignore (`tfw sync` manages that block)"
                )),
        )
    }

    /// `git ls-files --error-unmatch`, asked only when git's index changed since the last
    /// answer (profiled: that process was most of tfw's own time in `tfw plan` and `tfw env`;
    /// it reads the whole index, so it grows with the repository). The answer depends on the
    /// index alone, so the cache is keyed by the index file's identity.
    fn env_file_tracked(&self, name: &str) -> bool {
        let ask = || self.git(&["ls-files", "--error-unmatch", "--", name]) == Some(0);
        let index = match self.git_index() {
            Some(GitIndex::NoRepository) => return false,
            Some(GitIndex::At(index)) => index,
            None => return ask(),
        };
        // Nothing is tracked before the first `git add` creates the index.
        if !index.exists() {
            return false;
        }
        let Some(identity) = crate::cache::file_key(&index) else {
            return ask();
        };
        let owner = format!("{}|", self.env_file.display());
        let key = format!("{owner}{identity}");
        if let Some(tracked) = crate::cache::get(GIT_CACHE, &key) {
            return tracked;
        }
        let tracked = ask();
        crate::cache::put(GIT_CACHE, &owner, key, tracked);
        tracked
    }

    /// Where git keeps the index for the `.env` folder, found as git finds it (the nearest
    /// `.git` folder, or `.git` file of a worktree or submodule) without starting git.
    /// `None` when that cannot be told here: variables that move git's files elsewhere, or
    /// an unreadable `.git` file.
    fn git_index(&self) -> Option<GitIndex> {
        if ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"]
            .iter()
            .any(|key| self.env.contains_key(*key))
        {
            return None;
        }
        let start = std::fs::canonicalize(self.env_file.parent()?).ok()?;
        for dir in start.ancestors() {
            let dot_git = dir.join(".git");
            if dot_git.is_dir() {
                return Some(GitIndex::At(dot_git.join("index")));
            }
            if dot_git.is_file() {
                let text = std::fs::read_to_string(&dot_git).ok()?;
                let git_dir = text.lines().next()?.strip_prefix("gitdir:")?.trim();
                return Some(GitIndex::At(dir.join(git_dir).join("index")));
            }
        }
        Some(GitIndex::NoRepository)
    }

    fn git(&self, args: &[&str]) -> Option<i32> {
        let parent = self.env_file.parent()?;
        std::process::Command::new("git")
            .args(args)
            .current_dir(parent)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()
            .and_then(|s| s.code())
    }

    /// The overlay for the terraform child: `.env` keys the shell does not already set, then
    /// the backend's variables (which always win, so `--state` really picks the state).
    pub fn child_env(&self, backend: Option<&Backend>) -> BTreeMap<String, String> {
        let mut overlay = BTreeMap::new();
        if let Some(dotenv) = &self.dotenv {
            for (key, value, _) in dotenv.iter() {
                if !self.env.contains_key(key) {
                    overlay.insert(key.to_string(), value.to_string());
                }
            }
        }
        if let Some(backend) = backend {
            for (key, value) in backend.env_vars() {
                overlay.insert(key.to_string(), value);
            }
            if self.lookup("TF_HTTP_RETRY_WAIT_MIN").is_none() {
                overlay.insert("TF_HTTP_RETRY_WAIT_MIN".into(), "5".into());
            }
        }
        if self.ci {
            overlay.insert("TF_IN_AUTOMATION".into(), "1".into());
            overlay.insert("TF_INPUT".into(), "0".into());
        }
        overlay
    }

    /// Every secret value known, to be masked wherever tfw prints.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = Vec::new();
        for (key, value) in &self.env {
            if is_secret_key(key) && !value.is_empty() {
                secrets.push(value.clone());
            }
        }
        if let Some(dotenv) = &self.dotenv {
            for (key, value, _) in dotenv.iter() {
                if is_secret_key(key) && !value.is_empty() {
                    secrets.push(value.to_string());
                }
                // A token pasted under the wrong key (`GITLAB_URL=glpat-...`) is echoed by
                // the very error that reports it: mask it all the same (found by
                // tests/dotenv_fuzz.rs).
                secrets.extend(embedded_tokens(value));
            }
        }
        for (key, value) in &self.env {
            if WATCHED.contains(&key.as_str()) || key.starts_with("TF_") {
                secrets.extend(embedded_tokens(value));
            }
        }
        secrets
    }
}

/// `$XDG_CACHE_HOME/tfw/git-tracked.json`: `.env` path + git index identity -> tracked.
const GIT_CACHE: &str = "git-tracked";

enum GitIndex {
    NoRepository,
    At(PathBuf),
}

fn check_state_name(settings: &Settings, state: &Value, problems: &mut Vec<Problem>) {
    let located = |problem: Problem| match state.origin {
        Origin::DotEnv { line } => problem.at(&settings.env_file, Some(line)),
        _ => problem,
    };
    if state.value.trim().is_empty() {
        problems.push(located(Problem::error("`TF_STATE_NAME` is empty").hint(
            "set TF_STATE_NAME=\"dev-yourname\", or delete the line to use your personal state",
        )));
    } else if state.value.len() > 255 {
        problems.push(located(
            Problem::error(format!(
                "the state name is {} characters long; GitLab allows at most 255",
                state.value.len()
            ))
            .hint("choose a shorter TF_STATE_NAME"),
        ));
    } else if state.value.chars().any(char::is_control) {
        problems.push(located(
            Problem::error("the state name contains control characters")
                .hint("use letters, digits, `-`, `_` and `.`"),
        ));
    }
}

/// A value as messages show it: one line (control characters escaped) and at most 120
/// characters, so a multi-line or megabyte-long value cannot flood the terminal (found by
/// tests/dotenv_fuzz.rs).
pub fn short(value: &str) -> String {
    let escaped: String = value
        .chars()
        .flat_map(|c| {
            let escape = c.is_control();
            let mut out: Vec<char> = if escape {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            out.truncate(12);
            out
        })
        .collect();
    match escaped.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped,
    }
}

/// GitLab's token prefixes (personal, deploy, pipeline trigger, runner, CI job, OAuth, ...).
const TOKEN_PREFIXES: &[&str] = &[
    "glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glimt-", "glagent-", "gloas-", "glsoat-",
    "glft-", "glffct-", "glrtr-", "glwt-",
];

/// GitLab tokens inside a value, wherever they sit (alone, in a URL's userinfo...).
pub fn embedded_tokens(value: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in TOKEN_PREFIXES {
        let mut rest = value;
        while let Some(at) = rest.find(prefix) {
            let tail = &rest[at..];
            let end = tail[prefix.len()..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
                .map_or(tail.len(), |n| n + prefix.len());
            if end > prefix.len() + 3 && !is_placeholder(&tail[..end]) {
                found.push(tail[..end].to_string());
            }
            rest = &tail[end.max(1)..];
        }
    }
    found
}

/// Values left over from `env.example`.
pub fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if let Some(open) = lower.find('<')
        && lower[open..].contains('>')
    {
        return true;
    }
    const WORDS: &[&str] = &[
        "changeme",
        "change-me",
        "change_me",
        "your-token",
        "your_token",
        "yourtoken",
        "token_here",
        "token-here",
        "your-access-token",
        "xxxxxxxx",
        "glpat-xxxx",
        "example-token",
        "mytoken",
        "my-token",
        "insert-token",
    ];
    WORDS.iter().any(|word| lower.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tokens_wherever_they_are() {
        assert_eq!(
            embedded_tokens("glpat-aB3dE5fG7hJ9kL1mN3pQ"),
            ["glpat-aB3dE5fG7hJ9kL1mN3pQ"]
        );
        assert_eq!(
            embedded_tokens("https://oauth2:glpat-aB3dE5fG7h@gitlab.example.com"),
            ["glpat-aB3dE5fG7h"]
        );
        assert!(embedded_tokens("https://gitlab.example.com").is_empty());
        assert!(embedded_tokens("glpat-").is_empty());
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("<myurl>/state/dev"));
        assert!(is_placeholder("changeme"));
        assert!(is_placeholder("glpat-xxxxxxxxxxxxxxxxxxxx"));
        assert!(!is_placeholder("glpat-aB3dE5fG7hJ9kL1mN3pQ"));
        assert!(!is_placeholder("https://gitlab.example.com"));
    }
}
