//! The rules a `.env` and the shell must keep, each a list of problems naming its line:
//! disagreements, unknown backend keys, placeholders, tokens where they would travel, the
//! file's mode, the state name.

use std::os::unix::fs::PermissionsExt;

use super::{KNOWN_TF_HTTP, Settings, WATCHED, embedded_tokens, is_secret_key, short};
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
                .at(dotenv.file(key), dotenv.line(key))
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
            if key.starts_with("TFW_") && !super::TFW_KEYS.contains(&key) {
                problems.push(unknown_tfw_key(key).at(dotenv.file(key), Some(line)));
                continue;
            }
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
                .at(dotenv.file(key), Some(line));
            problems.push(match suggestion {
                Some(known) => problem.hint(format!("did you mean `{known}`?")),
                None => problem.hint(format!(
                    "terraform's http backend reads only: {}",
                    KNOWN_TF_HTTP.join(", ")
                )),
            });
        }
    }

    /// A token pasted into an address, project, state or user name would travel in every
    /// request URL (and so into GitLab's and every proxy's access log), on a command line, or
    /// into `.tfw/init.json`: refused before anything is sent (found by tests/secrets.rs).
    /// Credentials in a URL's userinfo are refused whatever they look like: tfw sends them
    /// only in a header.
    pub(super) fn check_tokens_in_addresses(&self, problems: &mut Vec<Problem>) {
        let tokens = self.token_values();
        for key in [
            "TF_HTTP_ADDRESS",
            "TF_HTTP_LOCK_ADDRESS",
            "TF_HTTP_UNLOCK_ADDRESS",
            "GITLAB_URL",
            "GITLAB_PROJECT",
            "TF_STATE_NAME",
            "TF_HTTP_USERNAME",
        ] {
            let Some(value) = self.lookup(key) else {
                continue;
            };
            if has_userinfo(&value.value) {
                problems.push(
                    self.at_key(
                        Problem::error(format!(
                            "`{key}` has a user name or password before its host (`user:...@`): it would be stored in `.tfw/` and sent in every request URL"
                        )),
                        key,
                    )
                    .hint("remove the `user:...@` part; put the token in TF_HTTP_PASSWORD only, and revoke it if it was a token"),
                );
            } else if !embedded_tokens(&value.value).is_empty()
                || (key != "TF_STATE_NAME"
                    && tokens.iter().any(|t| value.value.contains(t.as_str())))
            {
                // `TF_STATE_NAME` holding the token in use is the state name rule's to say.
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

    /// GitLab locks with `POST` and unlocks with `DELETE`; terraform's defaults (`LOCK`,
    /// `UNLOCK`) and anything else fail. tfw always sends the right ones, so a different
    /// value would be silently replaced while `tfw env` showed it: an error, whatever names
    /// the backend.
    pub(super) fn check_methods(&self, problems: &mut Vec<Problem>) {
        for (key, wanted) in [
            ("TF_HTTP_LOCK_METHOD", "POST"),
            ("TF_HTTP_UNLOCK_METHOD", "DELETE"),
        ] {
            if let Some(method) = self.lookup(key)
                && method.value != wanted
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
    }

    pub(super) fn check_permissions(&self, problems: &mut Vec<Problem>) {
        let Some(dotenv) = &self.dotenv else { return };
        for file in dotenv.files() {
            let holds_token =
                dotenv.get("TF_HTTP_PASSWORD").is_some() && dotenv.file("TF_HTTP_PASSWORD") == file;
            if let Ok(meta) = std::fs::metadata(file)
                && meta.permissions().mode() & 0o077 != 0
                && holds_token
            {
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                problems.push(
                    Problem::warning(format!(
                        "{name} holds a token and is readable by other users (mode {:o})",
                        meta.permissions().mode() & 0o777
                    ))
                    .at(file, None)
                    .hint(format!("run `chmod 600 {}`", file.display())),
                );
            }
        }
    }
}

/// `scheme://user[:password]@host...`: credentials where only a host belongs.
fn has_userinfo(value: &str) -> bool {
    url::Url::parse(value).is_ok_and(|url| !url.username().is_empty() || url.password().is_some())
}

/// A `TFW_*` key tfw does not read: a typo would otherwise be ignored silently.
fn unknown_tfw_key(key: &str) -> Problem {
    let near = super::TFW_KEYS
        .iter()
        .map(|known| (strsim::jaro_winkler(key, known), *known))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.85)
        .map(|(_, known)| known);
    let problem = Problem::warning(format!("`{key}` is not a tfw setting: it is ignored"));
    match near {
        Some(known) => problem.hint(format!("did you mean `{known}`?")),
        None => problem.hint(format!("tfw reads: {}", super::TFW_KEYS.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_in_any_url() {
        assert!(has_userinfo("https://alice:s3cret@gitlab.example.com"));
        assert!(has_userinfo("https://oauth2@gitlab.example.com/api/v4"));
        assert!(has_userinfo("http://:s3cret@127.0.0.1:8080"));
        assert!(!has_userinfo("https://gitlab.example.com"));
        assert!(!has_userinfo("group/infra"));
        assert!(!has_userinfo("dev-alice"));
    }
}
