//! The GitLab HTTP backend as terraform sees it: one state is one address, and every setting
//! reaches terraform as a `TF_HTTP_*` variable in the child's environment (never
//! `-backend-config`, which persists values, the token included, in `.terraform/` and plans).

pub(crate) mod gitlab;
pub(crate) mod identity;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::origin::{Origin, Value};

/// Everything but `-`, `_` and `~` is encoded, as GitLab's docs ask: a `/` in a state name or
/// project path becomes `%2F` and stays inside its route segment, and a `.` becomes `%2E`,
/// without which GitLab's versions route (which reads a raw dot as a format suffix) misses.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

pub(crate) fn encode_segment(raw: &str) -> String {
    utf8_percent_encode(raw, SEGMENT).to_string()
}

/// Longest state file name tfw uses as is; longer names get a prefix and a hash.
const MAX_FILE_NAME: usize = 64;

/// The name of a state's plan and backup files: the encoded name (no `/`, no `.`, so no
/// path or extension games) when it is short, else its first characters, `+` (which encoding
/// never leaves, so no short name looks like this) and a hash of the whole name. GitLab takes
/// names of 255 characters, which encoded can be 2,000 bytes: far past a file name's 255.
pub(crate) fn file_name(state: &str) -> String {
    let encoded = encode_segment(state);
    if encoded.len() <= MAX_FILE_NAME {
        return encoded;
    }
    // Cut before an escape that would be split (`%2` of `%2F`).
    let mut cut = 40;
    while encoded.as_bytes()[cut - 1] == b'%' || encoded.as_bytes()[cut - 2] == b'%' {
        cut -= 1;
    }
    let hash = crate::fsutil::sha256_hex(state.as_bytes());
    format!("{}+{}", &encoded[..cut], &hash[..16])
}

pub(crate) fn decode_segment(encoded: &str) -> String {
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8_lossy()
        .into_owned()
}

/// Where the backend settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Source {
    /// `TF_HTTP_ADDRESS` given explicitly (the old env.example).
    Address,
    /// `GITLAB_URL` + `GITLAB_PROJECT`.
    Project,
    /// GitLab CI's predefined `CI_API_V4_URL` + `CI_PROJECT_ID` + `CI_JOB_TOKEN`.
    Ci,
}

#[derive(Debug, Clone)]
pub struct Backend {
    /// How tfw's own calls reach GitLab (timeout, proxy).
    pub(crate) net: gitlab::net::Net,
    pub(crate) source: Source,
    /// `https://host/api/v4`
    pub(crate) api_url: String,
    /// Numeric id or full path, decoded.
    pub(crate) project: String,
    /// `{api}/projects/{project}/terraform/state/`: the state name is appended, encoded.
    pub(crate) base: String,
    pub(crate) state: Value,
    pub(crate) username: Value,
    pub(crate) password: Value,
}

/// The user name GitLab takes with CI's job token, and only with it.
pub(crate) const JOB_TOKEN_USER: &str = "gitlab-ci-token";

impl Backend {
    /// Whether the credentials are CI's job token, which GitLab opens only a few routes to.
    pub(crate) fn uses_job_token(&self) -> bool {
        self.username.value == JOB_TOKEN_USER
    }

    pub(crate) fn address(&self) -> String {
        format!("{}{}", self.base, encode_segment(&self.state.value))
    }

    pub(crate) fn lock_address(&self) -> String {
        format!("{}/lock", self.address())
    }

    pub(crate) fn state_name(&self) -> &str {
        &self.state.value
    }

    /// The backend for another state of the same project (for `tfw state ... NAME`).
    pub(crate) fn for_state(&self, name: &str) -> Backend {
        let mut other = self.clone();
        other.state = Value {
            value: name.to_string(),
            origin: Origin::Flag,
        };
        other
    }

    /// The variables terraform's http backend reads. The password is among them: this list
    /// goes only to `Command::envs`, never to argv, files or output.
    pub(crate) fn env_vars(&self) -> Vec<(&'static str, String)> {
        let address = self.address();
        let lock = format!("{address}/lock");
        vec![
            ("TF_HTTP_ADDRESS", address),
            ("TF_HTTP_LOCK_ADDRESS", lock.clone()),
            ("TF_HTTP_UNLOCK_ADDRESS", lock),
            ("TF_HTTP_LOCK_METHOD", "POST".into()),
            ("TF_HTTP_UNLOCK_METHOD", "DELETE".into()),
            ("TF_HTTP_USERNAME", self.username.value.clone()),
            ("TF_HTTP_PASSWORD", self.password.value.clone()),
        ]
    }

    /// GitLab's root (`https://host`), for GraphQL.
    pub(crate) fn gitlab_root(&self) -> &str {
        self.api_url
            .strip_suffix("/api/v4")
            .unwrap_or(&self.api_url)
    }
}

/// Splits `{api}/projects/{project}/terraform/state/{name}` into its parts.
pub(crate) struct ParsedAddress {
    pub api_url: String,
    pub project: String,
    pub base: String,
    /// The last segment as written (still encoded).
    pub last_segment: String,
}

pub(crate) fn parse_address(address: &str) -> Option<ParsedAddress> {
    let (base, last) = address.rsplit_once('/')?;
    let base = format!("{base}/");
    let (api_url, rest) = base.split_once("/projects/")?;
    let project = rest.strip_suffix("/terraform/state/")?;
    if project.is_empty() || project.contains('/') {
        return None;
    }
    Some(ParsedAddress {
        api_url: api_url.to_string(),
        project: decode_segment(project),
        base: base.clone(),
        last_segment: last.to_string(),
    })
}

pub(crate) fn base_for(api_url: &str, project: &str) -> String {
    format!(
        "{}/projects/{}/terraform/state/",
        api_url.trim_end_matches('/'),
        encode_segment(project)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_slashes_and_dots() {
        assert_eq!(encode_segment("team/dev.eu"), "team%2Fdev%2Eeu");
        assert_eq!(encode_segment("group/sub/infra"), "group%2Fsub%2Finfra");
    }

    #[test]
    fn file_names_stay_short_and_distinct() {
        assert_eq!(file_name("dev-alice"), "dev-alice");
        assert_eq!(file_name("team/dev.eu"), "team%2Fdev%2Eeu");
        let long = "é".repeat(255);
        let other = format!("{}x", "é".repeat(254));
        assert!(file_name(&long).len() <= 60, "{}", file_name(&long));
        assert_ne!(file_name(&long), file_name(&other));
        let slashes = "a/".repeat(100);
        assert!(!file_name(&slashes).contains('/'));
        assert!(file_name(&slashes).starts_with("a%2Fa%2F"));
    }

    #[test]
    fn parses_gitlab_addresses() {
        let parsed = parse_address(
            "https://g.example.com/api/v4/projects/group%2Finfra/terraform/state/dev",
        )
        .unwrap();
        assert_eq!(parsed.api_url, "https://g.example.com/api/v4");
        assert_eq!(parsed.project, "group/infra");
        assert_eq!(parsed.last_segment, "dev");
        assert!(parse_address("https://g.example.com/state/dev").is_none());
    }
}
