//! Where the wizard's suggestions come from, best first: what the shell or the `.env` being
//! replaced already says (the old `TF_HTTP_ADDRESS` included), then the repository's own git
//! remote, so that most people press Enter three times and paste a token.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::settings::{Settings, is_placeholder};

/// Keys `tfw setup` writes or replaces; any other key of an old `.env` is kept as it was.
pub(super) const MANAGED: &[&str] = &[
    "GITLAB_URL",
    "GITLAB_PROJECT",
    "TF_HTTP_USERNAME",
    "TF_HTTP_PASSWORD",
    "TF_STATE_NAME",
    "TF_HTTP_ADDRESS",
    "TF_HTTP_LOCK_ADDRESS",
    "TF_HTTP_UNLOCK_ADDRESS",
    "TF_HTTP_LOCK_METHOD",
    "TF_HTTP_UNLOCK_METHOD",
];

/// Hosts that are certainly not GitLab: their remotes suggest nothing.
const NOT_GITLAB: &[&str] = &[
    "github.com",
    "bitbucket.org",
    "dev.azure.com",
    "ssh.dev.azure.com",
];

#[derive(Debug, Default, Clone)]
pub(super) struct Defaults {
    pub url: Option<String>,
    pub project: Option<String>,
    pub username: Option<String>,
    /// The token of the `.env` being replaced: pressing Enter keeps it.
    pub token: Option<String>,
    /// `TF_STATE_NAME` to write: `tfw setup --state NAME`, else the replaced `.env`'s; `None`
    /// is the personal state.
    pub state: Option<String>,
    /// The other keys of the `.env` being replaced, in file order.
    pub kept: Vec<(String, String)>,
}

pub(super) fn gather(settings: &Settings) -> Defaults {
    let known = |key: &str| {
        settings
            .lookup(key)
            .map(|v| v.value)
            .filter(|v| !v.is_empty() && !is_placeholder(v))
    };
    let mut defaults = Defaults {
        url: known("GITLAB_URL").map(|url| normalize_url(&url)),
        project: known("GITLAB_PROJECT"),
        username: known("TF_HTTP_USERNAME"),
        ..Defaults::default()
    };
    if let Some(parsed) = known("TF_HTTP_ADDRESS").and_then(|a| crate::backend::parse_address(&a)) {
        defaults
            .url
            .get_or_insert_with(|| normalize_url(&parsed.api_url));
        defaults.project.get_or_insert(parsed.project);
    }
    if (defaults.url.is_none() || defaults.project.is_none())
        && let Some((url, project)) = git_remote(&settings.dir).as_deref().and_then(parse_remote)
    {
        let same_host = defaults.url.as_ref().is_none_or(|known| *known == url);
        defaults.url.get_or_insert(url);
        if same_host {
            defaults.project.get_or_insert(project);
        }
    }
    if let Some(dotenv) = &settings.dotenv {
        let own = |key: &str| {
            dotenv
                .get(key)
                .filter(|v| !v.is_empty() && !is_placeholder(v))
        };
        defaults.token = own("TF_HTTP_PASSWORD").map(str::to_string);
        defaults.state = own("TF_STATE_NAME").map(str::to_string);
        let mut kept: Vec<(usize, String, String)> = dotenv
            .own()
            .filter(|(key, _, _)| !MANAGED.contains(key))
            .map(|(key, value, line)| (line, key.to_string(), value.to_string()))
            .collect();
        kept.sort();
        defaults.kept = kept
            .into_iter()
            .map(|(_, key, value)| (key, value))
            .collect();
    }
    defaults
}

/// `gitlab.example.com/`, `https://gitlab.example.com/api/v4` -> `https://gitlab.example.com`.
pub(super) fn normalize_url(raw: &str) -> String {
    let trimmed = raw.trim().trim_end_matches('/');
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    with_scheme
        .trim_end_matches('/')
        .trim_end_matches("/api/v4")
        .trim_end_matches('/')
        .to_string()
}

/// `group/infra`, `/group/infra.git`, or the project's whole web address -> `group/infra`.
pub(super) fn normalize_project(raw: &str, url: &str) -> String {
    let trimmed = raw.trim();
    let path = trimmed
        .strip_prefix(url)
        .unwrap_or(trimmed)
        .trim_matches('/');
    path.strip_suffix(".git").unwrap_or(path).to_string()
}

fn git_remote(dir: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["remote", "get-url", "origin"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A git remote (`git@host:group/infra.git`, `ssh://git@host:2222/group/infra.git`,
/// `https://host/group/infra.git`) as a GitLab URL and project path.
pub(super) fn parse_remote(remote: &str) -> Option<(String, String)> {
    let (url, path) = if remote.contains("://") {
        let parsed = url::Url::parse(remote).ok()?;
        let host = parsed.host_str()?;
        let url = match (parsed.scheme(), parsed.port()) {
            ("http", Some(port)) => format!("http://{host}:{port}"),
            ("http", None) => format!("http://{host}"),
            // An ssh port says nothing about the web server's.
            ("https", Some(port)) => format!("https://{host}:{port}"),
            _ => format!("https://{host}"),
        };
        (url, parsed.path().to_string())
    } else {
        let (authority, path) = remote.split_once(':')?;
        if authority.contains('/') {
            return None;
        }
        let host = authority.rsplit('@').next()?;
        (format!("https://{host}"), path.to_string())
    };
    let host = url.split("://").nth(1)?.split(':').next()?;
    if host.is_empty() || NOT_GITLAB.contains(&host) {
        return None;
    }
    let project = normalize_project(&path, "");
    project.contains('/').then_some((url, project))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes() {
        let want = Some((
            "https://gitlab.example.com".to_string(),
            "group/sub/infra".to_string(),
        ));
        assert_eq!(
            parse_remote("git@gitlab.example.com:group/sub/infra.git"),
            want
        );
        assert_eq!(
            parse_remote("ssh://git@gitlab.example.com:2222/group/sub/infra.git"),
            want
        );
        assert_eq!(
            parse_remote("https://gitlab.example.com/group/sub/infra.git"),
            want
        );
        assert_eq!(
            parse_remote("https://alice@gitlab.example.com/group/sub/infra"),
            want
        );
        assert_eq!(parse_remote("git@github.com:someone/infra.git"), None);
        assert_eq!(parse_remote("/srv/git/infra.git"), None);
    }

    #[test]
    fn urls_and_projects() {
        assert_eq!(
            normalize_url("gitlab.example.com/"),
            "https://gitlab.example.com"
        );
        assert_eq!(
            normalize_url("https://g.example.com/api/v4/"),
            "https://g.example.com"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
        let url = "https://g.example.com";
        assert_eq!(
            normalize_project("https://g.example.com/group/infra/", url),
            "group/infra"
        );
        assert_eq!(normalize_project(" group/infra.git ", url), "group/infra");
        assert_eq!(normalize_project("42", url), "42");
    }
}
