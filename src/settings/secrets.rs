//! What is a secret: the keys whose values are masked and the GitLab tokens found in any
//! value, so the printer can mask them wherever tfw prints.

use super::checks::is_placeholder;
use super::{Settings, WATCHED};

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

impl Settings {
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
}
