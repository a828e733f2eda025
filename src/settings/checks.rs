//! The rules a `.env` and the shell must keep, each a list of problems naming its line:
//! disagreements, unknown backend keys, placeholders, tokens where they would travel, the
//! file's mode, the state name.

use std::os::unix::fs::PermissionsExt;

use super::{
    KNOWN_TF_HTTP, Origin, Settings, Value, WATCHED, embedded_tokens, is_secret_key, short,
};
use crate::problem::Problem;

impl Settings {
    pub(super) fn check_disagreements(&self, problems: &mut Vec<Problem>) {
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

    pub(super) fn check_unknown_keys(&self, problems: &mut Vec<Problem>) {
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

    pub(super) fn check_placeholders(&self, problems: &mut Vec<Problem>) {
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
    pub(super) fn check_tokens_in_addresses(&self, problems: &mut Vec<Problem>) {
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

    pub(super) fn check_permissions(&self, problems: &mut Vec<Problem>) {
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
}

pub(super) fn check_state_name(settings: &Settings, state: &Value, problems: &mut Vec<Problem>) {
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
    fn placeholders() {
        assert!(is_placeholder("<myurl>/state/dev"));
        assert!(is_placeholder("changeme"));
        assert!(is_placeholder("glpat-xxxxxxxxxxxxxxxxxxxx"));
        assert!(!is_placeholder("glpat-aB3dE5fG7hJ9kL1mN3pQ"));
        assert!(!is_placeholder("https://gitlab.example.com"));
    }
}
