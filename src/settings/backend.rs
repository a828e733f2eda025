//! The backend resolved from the settings and validated: every problem found at once, and a
//! `Backend` only when none of them is an error.

use super::names::check_state_name;
use super::{Origin, Settings, Value, short};
use crate::backend::{self, Backend, Source};
use crate::dotenv::LoadError;
use crate::problem::{Kind, Problem};

impl Settings {
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
        self.check_methods(&mut problems);
        self.check_mapping(&mut problems);

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
            if let Some(err) = &self.dotenv_problem {
                problems.push(err.problem().clone());
                return (None, problems);
            }
        }
        if self.dotenv.is_none()
            && let Some(LoadError::Broken(problem)) = &self.dotenv_problem
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
        let (net, warning) = self.net(&api_url);
        problems.extend(warning);
        let backend = Backend {
            net,
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

    pub(super) fn valid_url(&self, value: &Value, key: &str, problems: &mut Vec<Problem>) -> bool {
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
            // Compared decoded: `prod.eu` and `prod%2Eeu` name the same state.
            if backend::decode_segment(&parsed.last_segment) != named.value {
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
        } else if let Some(named) = self.lookup("TF_STATE_NAME")
            && self.state_flag.is_none()
        {
            // In different places (shell and `.env`) the shell's one wins, as for any key;
            // two names for one state must not go unnoticed.
            let in_address = backend::decode_segment(&parsed.last_segment);
            if !in_address.is_empty() && in_address != named.value {
                let used = self.state().map(|s| s.value).unwrap_or_default();
                problems.push(
                    Problem::warning(format!(
                        "`TF_STATE_NAME` is `{}` ({}) but `TF_HTTP_ADDRESS` names `{}` ({}): `{}` is used",
                        short(&named.value),
                        named.origin.describe(&self.env_file),
                        short(&in_address),
                        address.origin.describe(&self.env_file),
                        short(&used)
                    ))
                    .hint("unset the one in your shell, or make both name the same state"),
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
                        .hint(
                            "unset `TF_HTTP_PASSWORD` in the CI/CD variables to use the job token",
                        )
                        .kind(Kind::PasswordOverJobToken),
                    );
                    (Some(username), Some(password))
                }
                None => (
                    Some(Value {
                        value: crate::backend::JOB_TOKEN_USER.into(),
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
}

#[cfg(test)]
mod tests {
    use super::super::for_tests;
    use crate::problem::Kind;

    const TOKEN: &str = "glpat-unit-0123456789abcdef";

    fn errors(dotenv: &str, flag: Option<&str>) -> Vec<String> {
        let (_, problems) = for_tests(dotenv, &[], flag).backend();
        problems
            .into_iter()
            .filter(|p| p.is_error())
            .map(|p| p.message)
            .collect()
    }

    fn short(extra: &str) -> String {
        format!(
            "GITLAB_URL=https://g.example.com\nGITLAB_PROJECT=group/infra\nTF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD={TOKEN}\n{extra}"
        )
    }

    #[test]
    fn a_password_over_the_job_token_is_a_warning_of_its_own_kind() {
        let ci = [
            ("CI_API_V4_URL", "https://g.example.com/api/v4"),
            ("CI_PROJECT_ID", "7"),
            ("CI_JOB_TOKEN", "job-token-value"),
        ];
        let mut settings = for_tests(
            &format!("TF_HTTP_PASSWORD={TOKEN}\nTF_STATE_NAME=ci\n"),
            &ci,
            None,
        );
        settings.ci = true;
        let (backend, problems) = settings.backend();
        assert!(backend.is_some(), "{problems:?}");
        let kinds: Vec<Kind> = problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [Kind::PasswordOverJobToken], "{problems:?}");
        assert!(!problems[0].is_error());
    }

    #[test]
    fn a_clean_env_has_no_error() {
        assert_eq!(errors(&short(""), None), Vec::<String>::new());
        assert_eq!(
            errors(&short("TF_HTTP_LOCK_METHOD=POST\n"), None),
            Vec::<String>::new()
        );
    }

    #[test]
    fn lock_methods_are_checked_whatever_names_the_backend() {
        let found = errors(
            &short("TF_HTTP_LOCK_METHOD=LOCK\nTF_HTTP_UNLOCK_METHOD=delete\n"),
            None,
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("GitLab needs `POST`"), "{found:?}");
        assert!(found[1].contains("GitLab needs `DELETE`"), "{found:?}");
    }

    #[test]
    fn credentials_in_urls_and_tokens_in_names_are_refused() {
        let with_userinfo = short("").replace(
            "https://g.example.com",
            "https://alice:whatever@g.example.com",
        );
        assert!(errors(&with_userinfo, None)[0].contains("user name or password"));
        let found = errors(&short(""), Some(TOKEN));
        assert!(
            found[0].contains("`--state` looks like an access token"),
            "{found:?}"
        );
        let found = errors(&short("TF_STATE_NAME=\" prod\"\n"), None);
        assert!(
            found[0].contains("`TF_STATE_NAME` starts or ends with whitespace"),
            "{found:?}"
        );
    }
}
