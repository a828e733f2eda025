//! What is a secret: the keys whose values are masked, and the tokens (GitLab's, the clouds')
//! found in any value whatever its key, so the printer can mask them wherever tfw prints,
//! terraform's output included.

use super::Settings;
use super::placeholders::is_placeholder;

/// Key words that make a key secret wherever they appear in it (`TF_VAR_db_password`,
/// `CLOUDFLARE_API_KEY`, `GOOGLE_CREDENTIALS`, `AWS_ACCESS_KEY_ID`...).
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "ACCESS_KEY",
];

/// Key segments (between `_`) that make a key secret only as a whole word: `DB_PASS`,
/// `MYSQL_PWD`, but not `PASSENGER_COUNT` or `PWDX`.
const SECRET_SEGMENTS: &[&str] = &["PASS", "PWD"];

/// The shell's own working directories: their `PWD` is a path, and masking it turned every
/// path tfw prints into `****/...` (the README's `doctor --offline` showed it).
const SHELL_DIRECTORIES: &[&str] = &["PWD", "OLDPWD"];

pub(crate) fn is_secret_key(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    if SHELL_DIRECTORIES.contains(&upper.as_str()) {
        return false;
    }
    SECRET_WORDS.iter().any(|word| upper.contains(word))
        || upper
            .split('_')
            .any(|segment| SECRET_SEGMENTS.contains(&segment))
}

/// Values a secret key may hold that are not secrets: masking every `true` in terraform's
/// output (`TF_VAR_token_auth=true`) would garble it and protect nothing.
fn trivial(value: &str) -> bool {
    const WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "null", "none"];
    WORDS.iter().any(|w| value.eq_ignore_ascii_case(w))
}

/// What to mask for one secret value: the value, and each line of a multi-line one (a PEM
/// key), since output is masked line by line. (The forms a value takes in text, escaped or
/// encoded, are the printer's to find: `printer::mask`.)
pub(super) fn mask_forms(value: &str, out: &mut Vec<String>) {
    let value = value.trim();
    if value.is_empty() || trivial(value) {
        return;
    }
    out.push(value.to_string());
    if value.contains('\n') {
        out.extend(
            value
                .lines()
                .map(str::trim)
                .filter(|line| line.len() >= 8 && !line.starts_with("-----"))
                .map(str::to_string),
        );
    }
}

impl Settings {
    /// Every secret value known, to be masked wherever tfw prints: the values of secret keys
    /// in `.env` and in the process environment (terraform inherits both), and every token
    /// or credential (`settings::credentials`) found in any value of either.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = Vec::new();
        let dotenv = self
            .dotenv
            .iter()
            .flat_map(|d| d.iter().map(|(k, v, _)| (k, v)));
        let env = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        for (key, value) in env.chain(dotenv) {
            if is_secret_key(key) {
                mask_forms(value, &mut secrets);
            }
            // A token pasted under the wrong key (`GITLAB_URL=glpat-...`) is echoed by the
            // very error that reports it: mask it all the same (found by tests/dotenv_fuzz.rs).
            secrets.extend(embedded_tokens(value));
            secrets.extend(super::credentials::embedded_credentials(value));
        }
        secrets.extend(self.basic_auth_forms());
        secrets
    }

    /// The `Authorization: Basic` value tfw and terraform send (base64 of `user:token`, for
    /// the user of `.env` and CI's `gitlab-ci-token`): a server or a proxy that echoes the
    /// request's headers in an error body would otherwise show the token in that form.
    fn basic_auth_forms(&self) -> Vec<String> {
        use base64::Engine;
        let username = self.lookup("TF_HTTP_USERNAME").map(|v| v.value);
        let users: Vec<&str> = username
            .iter()
            .map(String::as_str)
            .chain([crate::backend::JOB_TOKEN_USER])
            .collect();
        self.token_values()
            .iter()
            .flat_map(|token| {
                users.iter().map(move |user| {
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
                })
            })
            .collect()
    }

    /// The values of the credentials tfw sends, for the rules that refuse a token where it
    /// would travel or be stored (a state name, a URL), whatever the token looks like.
    pub(crate) fn token_values(&self) -> Vec<String> {
        ["TF_HTTP_PASSWORD", "CI_JOB_TOKEN", "GITLAB_TOKEN"]
            .iter()
            .filter_map(|key| self.lookup(key))
            .map(|v| v.value)
            .filter(|v| v.len() >= 8)
            .collect()
    }
}

/// GitLab's token prefixes (personal, deploy, pipeline trigger, runner, CI job, OAuth, ...).
const TOKEN_PREFIXES: &[&str] = &[
    "glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glimt-", "glagent-", "gloas-", "glsoat-",
    "glft-", "glffct-", "glrtr-", "glwt-",
];

/// Other services' token prefixes, with the shortest credible tail after them.
const OTHER_PREFIXES: &[(&str, usize)] = &[
    ("ghp_", 20),
    ("gho_", 20),
    ("ghu_", 20),
    ("ghs_", 20),
    ("ghr_", 20),
    ("github_pat_", 20),
    ("xoxb-", 10),
    ("xoxp-", 10),
    ("xoxa-", 10),
    ("xoxs-", 10),
    ("AIza", 30),
    ("sk_live_", 16),
    ("rk_live_", 16),
];

/// AWS access key ids: one of these, then 16 upper-case letters or digits.
const AWS_KEY_PREFIXES: &[&str] = &["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "AIPA"];

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

/// Tokens inside a value, wherever they sit (alone, in a URL's userinfo...): GitLab's
/// prefixed tokens, GitHub/Slack/Google/Stripe keys, AWS access key ids, and the body of a
/// PEM private key.
pub(crate) fn embedded_tokens(value: &str) -> Vec<String> {
    let mut found = Vec::new();
    let prefixed = TOKEN_PREFIXES
        .iter()
        .map(|p| (*p, 4))
        .chain(OTHER_PREFIXES.iter().copied());
    for (prefix, min_tail) in prefixed {
        let mut rest = value;
        while let Some(at) = rest.find(prefix) {
            let tail = &rest[at..];
            let end = tail[prefix.len()..]
                .find(|c: char| !token_char(c))
                .map_or(tail.len(), |n| n + prefix.len());
            let boundary = !rest[..at].ends_with(|c: char| c.is_ascii_alphanumeric());
            if boundary && end >= prefix.len() + min_tail && !is_placeholder(&tail[..end]) {
                found.push(tail[..end].to_string());
            }
            rest = &tail[end.max(1)..];
        }
    }
    for prefix in AWS_KEY_PREFIXES {
        for (at, _) in value.match_indices(prefix) {
            let candidate = value[at..].get(..20).unwrap_or("");
            let before = value[..at].chars().next_back();
            let after = value[at..].chars().nth(20);
            if candidate.len() == 20
                && candidate
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
            {
                found.push(candidate.to_string());
            }
        }
    }
    if value.contains("PRIVATE KEY-----") {
        mask_forms(value, &mut found);
    }
    found
}

/// A string that looks like a credential rather than a name: a known token shape, or long
/// and random (20+ characters of letters and digits only, both cases and digits mixed
/// throughout). Names people choose (`prod-eu`, `ProductionEurope2024`) have separators or
/// long runs of one kind of character.
pub(crate) fn looks_like_token(value: &str) -> bool {
    if !embedded_tokens(value).is_empty() {
        return true;
    }
    let bytes = value.as_bytes();
    if bytes.len() < 20 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let class = |b: u8| {
        if b.is_ascii_digit() {
            0
        } else if b.is_ascii_uppercase() {
            1
        } else {
            2
        }
    };
    let mut seen = [false; 3];
    for b in bytes {
        seen[class(*b)] = true;
    }
    let changes = bytes
        .windows(2)
        .filter(|w| class(w[0]) != class(w[1]))
        .count();
    seen.iter().all(|s| *s) && changes * 3 >= bytes.len()
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
    fn finds_cloud_tokens_whatever_the_key() {
        assert_eq!(
            embedded_tokens("AKIAIOSFODNN7EXAMPLE"),
            ["AKIAIOSFODNN7EXAMPLE"]
        );
        assert_eq!(
            embedded_tokens("key=ASIAY34FZKBOKMUTVV7A;"),
            ["ASIAY34FZKBOKMUTVV7A"]
        );
        assert!(embedded_tokens("MAKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(embedded_tokens("AKIA-not-a-key").is_empty());
        let github = "ghp_0123456789abcdefABCDEF0123456789abcd";
        assert_eq!(embedded_tokens(github), [github]);
        let google = "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q";
        assert_eq!(embedded_tokens(google), [google]);
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1\n-----END RSA PRIVATE KEY-----";
        assert!(embedded_tokens(pem).contains(&"MIIEowIBAAKCAQEAx1".to_string()));
    }

    #[test]
    fn the_key_rule() {
        for key in [
            "TF_HTTP_PASSWORD",
            "CI_JOB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "GITLAB_TOKEN",
            "TF_VAR_db_password",
            "TF_VAR_DbPasswd",
            "CLOUDFLARE_API_KEY",
            "SENDGRID_APIKEY",
            "GOOGLE_CREDENTIALS",
            "ARM_CLIENT_SECRET",
            "TF_HTTP_CLIENT_PRIVATE_KEY_PEM",
            "DB_PASS",
            "pass",
            "MYSQL_PWD",
            "TF_VAR_admin_pwd",
            "tf_var_api_token",
            "SSH_KEY_PASSPHRASE",
        ] {
            assert!(is_secret_key(key), "{key} is a secret");
        }
        for key in [
            "GITLAB_URL",
            "GITLAB_PROJECT",
            "TF_HTTP_USERNAME",
            "TF_STATE_NAME",
            "TF_HTTP_ADDRESS",
            "AWS_PROFILE",
            "AWS_REGION",
            "PASSENGER_COUNT",
            "TF_VAR_bypass_cache",
            "PWDX",
            "PWD",
            "OLDPWD",
            "TF_LOG",
        ] {
            assert!(!is_secret_key(key), "{key} is not a secret");
        }
    }

    #[test]
    fn trivial_values_of_secret_keys_are_not_masked_everywhere() {
        let mut out = Vec::new();
        mask_forms("true", &mut out);
        mask_forms("", &mut out);
        assert!(out.is_empty());
        mask_forms("hunter22", &mut out);
        assert_eq!(out, ["hunter22"]);
    }

    #[test]
    fn the_authorization_header_is_a_secret() {
        let settings = crate::settings::for_tests(
            "TF_HTTP_USERNAME=alice\nTF_HTTP_PASSWORD=hunter22-secret\n",
            &[],
            None,
        );
        let secrets = settings.secrets();
        // base64 of `alice:hunter22-secret` and of `gitlab-ci-token:hunter22-secret`.
        assert!(secrets.contains(&"YWxpY2U6aHVudGVyMjItc2VjcmV0".to_string()));
        assert!(secrets.contains(&"Z2l0bGFiLWNpLXRva2VuOmh1bnRlcjIyLXNlY3JldA==".to_string()));
    }

    #[test]
    fn token_shapes_versus_names() {
        for token in [
            "SWEEPjob8b2d4f6a0c1e3a5b7d9f",
            "aB3dE5fG7hJ9kL1mN3pQ",
            "glpat-aB3dE5fG7hJ9kL1mN3pQ",
            "AKIAIOSFODNN7EXAMPLE",
        ] {
            assert!(looks_like_token(token), "{token}");
        }
        for name in [
            "prod",
            "dev-alice",
            "ProductionEurope2024West",
            "staging_2",
            "team/dev.eu",
            "abcdefghijklmnopqrstuvwxyz",
            "feature-branch-with-a-very-long-name-123",
        ] {
            assert!(!looks_like_token(name), "{name}");
        }
    }
}
