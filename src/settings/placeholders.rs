//! Values nobody filled in: the repository's `env.example` copied as is, the seed template's
//! own examples (`PseudoGitlab`, `monPersonnalAccessTokenGitlab`...), `<...>` and
//! `changeme`. Caught at their `.env` line before anything is sent: a placeholder token
//! sent to GitLab is a wasted 401 at best, and at worst a username that is someone else's.

use std::collections::HashMap;

use super::{Settings, is_secret_key};
use crate::dotenv::DotEnv;
use crate::problem::Problem;

/// The values of the team's seed `env.example` (see docs/migrating-from-make.md), wherever they are.
const SEED_VALUES: &[&str] = &[
    "pseudogitlab",
    "monpersonnalaccesstokengitlab",
    "aws-access-key-id",
    "secret-aws-access-key",
];

/// Values left over from `env.example`.
pub(crate) fn is_placeholder(value: &str) -> bool {
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
    WORDS
        .iter()
        .chain(SEED_VALUES)
        .any(|word| lower.contains(word))
}

/// Keys whose value is the developer's own: the same value as the shared `env.example` can
/// only be its placeholder. Other keys (`GITLAB_URL`, `GITLAB_PROJECT`, `TF_STATE_NAME`) may
/// rightly hold the example's value when the team wrote its real one there.
fn personal_key(key: &str) -> bool {
    key == "TF_HTTP_USERNAME" || is_secret_key(key)
}

/// Why a value is a placeholder, and whether that is an error, or `None`.
pub(crate) fn placeholder(key: &str, value: &str, example: Option<&str>) -> Option<bool> {
    let backend_key = key.starts_with("TF_") || key.starts_with("GITLAB_") || is_secret_key(key);
    let lower = value.to_ascii_lowercase();
    if SEED_VALUES.iter().any(|seed| lower.contains(seed)) {
        return Some(true);
    }
    if !value.is_empty() && example == Some(value) && personal_key(key) {
        return Some(true);
    }
    is_placeholder(value).then_some(backend_key)
}

impl Settings {
    /// The repository's `env.example` (next to `.env`, else in the working directory),
    /// parsed as `.env` is; empty when there is none or it does not parse.
    fn example_values(&self) -> HashMap<String, String> {
        let candidates = [
            self.env_file.parent().map(|d| d.join("env.example")),
            Some(self.dir.join("env.example")),
        ];
        let Some(example) = candidates
            .into_iter()
            .flatten()
            .find_map(|path| DotEnv::load(&path).ok())
        else {
            return HashMap::new();
        };
        example
            .iter()
            .map(|(key, value, _)| (key.to_string(), value.to_string()))
            .collect()
    }

    pub(super) fn check_placeholders(&self, problems: &mut Vec<Problem>) {
        let Some(dotenv) = &self.dotenv else { return };
        let examples = self.example_values();
        for (key, value, line) in dotenv.iter() {
            let Some(error) = placeholder(key, value, examples.get(key).map(String::as_str)) else {
                continue;
            };
            let message = format!("`{key}` still holds the example value from env.example");
            let problem = if error {
                Problem::error(message)
            } else {
                Problem::warning(message)
            };
            problems.push(
                problem
                    .at(dotenv.file(key), Some(line))
                    .hint(format!("replace it with your real {key}")),
            );
        }
        // Exported from a sourced copy of env.example: the shell wins over `.env`, so its
        // placeholder would be what is sent.
        for (key, value) in &self.env {
            let backend = key.starts_with("TF_HTTP_") || key.starts_with("GITLAB_");
            if backend
                && dotenv.get(key) != Some(value.as_str())
                && placeholder(key, value, None) == Some(true)
            {
                problems.push(
                    Problem::error(format!(
                        "`{key}` in your shell still holds an example value from env.example"
                    ))
                    .hint(format!("run `unset {key}` or export your real value")),
                );
            }
        }
    }
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

    #[test]
    fn the_seed_values_are_errors_under_any_key() {
        for (key, value) in [
            ("TF_HTTP_USERNAME", "PseudoGitlab"),
            ("TF_HTTP_PASSWORD", "monPersonnalAccessTokenGitlab"),
            ("AWS_ACCESS_KEY_ID", "AWS-access-key-id"),
            ("AWS_SECRET_ACCESS_KEY", "secret-AWS-access-key"),
            ("SOMETHING_ELSE", "PseudoGitlab"),
        ] {
            assert_eq!(placeholder(key, value, None), Some(true), "{key}={value}");
        }
    }

    #[test]
    fn env_example_values_are_errors_for_personal_keys() {
        let example = Some("bobby-tables");
        assert_eq!(
            placeholder("TF_HTTP_USERNAME", "bobby-tables", example),
            Some(true)
        );
        assert_eq!(
            placeholder("TF_HTTP_PASSWORD", "bobby-tables", example),
            Some(true)
        );
        assert_eq!(
            placeholder("TF_VAR_db_password", "bobby-tables", example),
            Some(true)
        );
        // A shared value the team wrote in env.example is the right value.
        let url = Some("https://gitlab.company.com");
        assert_eq!(
            placeholder("GITLAB_URL", "https://gitlab.company.com", url),
            None
        );
        assert_eq!(placeholder("TF_STATE_NAME", "dev", Some("dev")), None);
        assert_eq!(placeholder("TF_HTTP_USERNAME", "alice", example), None);
    }

    #[test]
    fn generic_placeholders_are_errors_for_backend_and_secret_keys() {
        assert_eq!(
            placeholder("GITLAB_URL", "<https://gitlab>", None),
            Some(true)
        );
        assert_eq!(placeholder("DB_PASS", "changeme", None), Some(true));
        assert_eq!(placeholder("AWS_PROFILE", "<profile>", None), Some(false));
    }
}
