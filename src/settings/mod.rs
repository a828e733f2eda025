//! Flags, the process environment, `.env` and `tfw.toml`, resolved once per command, with the
//! origin of every value (so `tfw env` can say where each one came from and a stale shell
//! export never goes unnoticed). Precedence: flag > process environment > `.env` > `tfw.toml`
//! > defaults. Nothing here changes tfw's own environment: the child gets an overlay.
//!
//! One concern per file: `lookup` (values and their origins), `backend` (the validated
//! backend), `checks` (the rules a `.env` must keep), `names` (the state name's rules),
//! `placeholders` (values nobody filled in), `secrets` (what is masked), `credentials` (credentials inside other values), `git` (whether
//! `.env` is tracked or ignored).

mod backend;
mod checks;
mod credentials;
mod git;
mod lookup;
mod mapping;
mod names;
mod net;
mod placeholders;
mod secrets;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::Result;

pub use crate::backend::Backend;
use crate::cli::Cli;
use crate::dotenv::{DotEnv, LoadError};
use crate::problem::Problem;
use crate::project::Project;

pub(crate) use crate::origin::Origin;
pub use crate::origin::Value;
pub(crate) use names::{TOKEN_HINT, TOKEN_MESSAGE, token_like};
pub(crate) use net::TFW_KEYS;
pub(crate) use placeholders::is_placeholder;
pub(crate) use secrets::{embedded_tokens, is_secret_key};

/// The http backend variables terraform knows; anything else `TF_HTTP_*` is a typo.
pub(crate) const KNOWN_TF_HTTP: &[&str] = &[
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
pub(super) const WATCHED: &[&str] = &[
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

#[derive(Debug)]
pub struct Settings {
    pub(crate) dir: PathBuf,
    pub(crate) env_file: PathBuf,
    /// `None` when the file is missing or unreadable; the reason is in `dotenv_problem`.
    pub dotenv: Option<DotEnv>,
    pub dotenv_problem: Option<LoadError>,
    pub(crate) project: Project,
    /// An invalid `tfw.toml` (defaults are used meanwhile, so `doctor` can report everything).
    pub(crate) project_problem: Option<Problem>,
    pub(crate) env: HashMap<String, String>,
    pub(crate) state_flag: Option<String>,
    /// Running in CI (`CI` set) or told not to interact.
    pub(crate) ci: bool,
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
        Ok(Self::load_in(
            dir,
            cli.env_file.as_deref(),
            cli.state.clone(),
            env,
            ci,
        ))
    }

    /// `tfw WORDS` as the person should type it to act on this command's state: with
    /// `--state NAME` when that flag chose it (a bare `tfw plan` would plan another state).
    pub(crate) fn tfw(&self, words: &str) -> String {
        match &self.state_flag {
            Some(state) => format!("tfw --state {} {words}", shell_word(state)),
            None => format!("tfw {words}"),
        }
    }

    /// The settings of one folder (a root of `tfw --all`, or the working directory).
    pub(crate) fn load_in(
        dir: PathBuf,
        env_file_flag: Option<&std::path::Path>,
        state_flag: Option<String>,
        env: HashMap<String, String>,
        ci: bool,
    ) -> Self {
        let env_file = match env_file_flag {
            Some(path) => dir.join(path),
            None => dir.join(".env"),
        };
        let levels = crate::repo::Levels::of(&dir);
        let (dotenv, dotenv_problem) = load_dotenv(&env_file, env_file_flag.is_none(), &levels);
        let (project, project_problem) = match Project::load_levels(levels.clone()) {
            Ok(project) => (project, None),
            Err(problem) => (
                Project {
                    levels,
                    ..Default::default()
                },
                Some(problem),
            ),
        };
        Self {
            dir,
            env_file,
            dotenv,
            dotenv_problem,
            project,
            project_problem,
            env,
            state_flag,
            ci,
        }
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
}

/// The working directory's `.env`, over the shared ones of its parents up to the repository
/// root (nearest wins per key). Only inside a repository: a stray `~/.env` is nobody's
/// shared settings. `--env-file` names one file and nothing is inherited.
fn load_dotenv(
    env_file: &std::path::Path,
    inherit: bool,
    levels: &crate::repo::Levels,
) -> (Option<DotEnv>, Option<LoadError>) {
    let mut shared = Vec::new();
    if inherit && levels.repo_root.is_some() {
        for level in levels.dirs.iter().skip(1) {
            let path = level.join(".env");
            if path.is_file() {
                shared.push(DotEnv::load(&path));
            }
        }
    }
    let own = DotEnv::load(env_file);
    let (mut dotenv, problem) = match own {
        Ok(dotenv) => (dotenv, None),
        Err(err) if shared.is_empty() || matches!(err, LoadError::Broken(_)) => {
            return (None, Some(err));
        }
        Err(_) => (DotEnv::absent(env_file), None),
    };
    for file in shared {
        match file {
            Ok(file) => dotenv.inherit(file),
            Err(err) => dotenv.warnings.push(err.into()),
        }
    }
    (Some(dotenv), problem)
}

/// A value as messages show it: one line (control characters escaped) and at most 120
/// characters, so a multi-line or megabyte-long value cannot flood the terminal (found by
/// tests/dotenv_fuzz.rs).
pub(crate) fn short(value: &str) -> String {
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

/// Settings from a `.env` text and a process environment, for the unit tests of each rule.
/// A word as a shell reads it back: quoted only when it must be.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
pub(crate) fn for_tests(dotenv: &str, env: &[(&str, &str)], state_flag: Option<&str>) -> Settings {
    let dir = PathBuf::from("/nonexistent/tfw-unit");
    let env_file = dir.join(".env");
    Settings {
        dotenv: Some(DotEnv::parse(&env_file, dotenv.to_string()).expect("a valid .env")),
        dir,
        env_file,
        dotenv_problem: None,
        project: Project::default(),
        project_problem: None,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        state_flag: state_flag.map(str::to_string),
        ci: false,
    }
}

#[cfg(test)]
mod tests {
    use super::{for_tests, short};

    const DOTENV: &str = "GITLAB_URL=https://g.example.com\nGITLAB_PROJECT=group/infra\n\
        TF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD=glpat-unit-0123456789abcdef\n\
        TF_HTTP_ADDRESS=https://g.example.com/api/v4/projects/42/terraform/state/other\nTF_VAR_region=eu\n";

    #[test]
    fn the_child_gets_dotenv_keys_the_shell_does_not_set() {
        let settings = for_tests(DOTENV, &[("TF_VAR_region", "us")], None);
        let env = settings.child_env(None);
        assert_eq!(
            env.get("GITLAB_PROJECT").map(String::as_str),
            Some("group/infra")
        );
        // The shell's value is already in the child's environment: the overlay leaves it.
        assert!(!env.contains_key("TF_VAR_region"), "{env:?}");
        // No backend: nothing of the backend's own, no automation flags outside CI.
        assert!(!env.contains_key("TF_HTTP_RETRY_WAIT_MIN"));
        assert!(!env.contains_key("TF_IN_AUTOMATION"));
    }

    #[test]
    fn the_backend_variables_win_over_dotenv() {
        let settings = for_tests(DOTENV, &[], Some("prod"));
        let (backend, problems) = settings.backend();
        let backend = backend.unwrap_or_else(|| panic!("no backend: {problems:?}"));
        let env = settings.child_env(Some(&backend));
        let address = &env["TF_HTTP_ADDRESS"];
        assert!(
            address.starts_with("https://g.example.com/api/v4/projects/")
                && address.ends_with("/prod"),
            "--state picks the state whatever .env's address names: {address}"
        );
        assert_eq!(env["TF_HTTP_LOCK_ADDRESS"], format!("{address}/lock"));
        assert_eq!(env["TF_HTTP_LOCK_METHOD"], "POST");
        assert_eq!(env["TF_HTTP_UNLOCK_METHOD"], "DELETE");
        assert_eq!(env["TF_HTTP_RETRY_WAIT_MIN"], "5");
    }

    #[test]
    fn a_retry_wait_the_user_chose_is_kept() {
        let dotenv = format!("{DOTENV}TF_HTTP_RETRY_WAIT_MIN=1\n");
        let settings = for_tests(&dotenv, &[], None);
        let backend = settings.backend().0.expect("a backend");
        assert_eq!(
            settings.child_env(Some(&backend))["TF_HTTP_RETRY_WAIT_MIN"],
            "1"
        );
    }

    #[test]
    fn in_ci_terraform_is_told_it_is_automated_and_never_asks() {
        let mut settings = for_tests(DOTENV, &[], None);
        settings.ci = true;
        let env = settings.child_env(None);
        assert_eq!(env["TF_IN_AUTOMATION"], "1");
        assert_eq!(env["TF_INPUT"], "0");
    }

    #[test]
    fn short_keeps_one_line_of_at_most_120_characters() {
        assert_eq!(short("plain"), "plain");
        assert_eq!(short("a\nb\tc"), "a\\nb\\tc");
        let long = "x".repeat(500);
        let shown = short(&long);
        assert_eq!(shown.chars().count(), 121, "120 characters and an ellipsis");
        assert!(shown.ends_with('…'));
        // Multi-byte characters are cut on a character boundary.
        assert_eq!(short(&"é".repeat(130)).chars().count(), 121);
    }
}
