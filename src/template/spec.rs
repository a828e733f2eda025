//! `SRC[@REF]` as typed (`--template`, `TFW_TEMPLATE`) or as a lock records it: tfw's own
//! template, a directory, or a git repository at a ref. Written to the lock relative to the
//! repository (so a teammate with the same checkout layout resolves the same template), with
//! the checkout's published URL as a fallback for a CI job that has no such checkout.

use std::path::{Component, Path, PathBuf};

use super::lock::Locked;
use crate::layout::TEMPLATE_LOCK;
use crate::problem::Problem;

pub(crate) const BUILTIN_NAME: &str = "builtin";

/// Where the lock's template is on this machine, when not where the lock says (a CI job has
/// no `../teamtpl`): `SRC[@REF]`, a directory or a git URL. It only says where to read the
/// template; the lock keeps recording its own source.
pub(crate) const OVERRIDE_VAR: &str = "TFW_TEMPLATE";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Location {
    Builtin,
    /// A directory (absolute), read as it is on disk, uncommitted edits included.
    Dir(PathBuf),
    /// A git repository: a URL, or an absolute local path.
    Git(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    pub location: Location,
    /// The tag, branch or commit (git only; `None` is the remote's default branch).
    pub reference: Option<String>,
}

impl Spec {
    pub(crate) fn builtin() -> Self {
        Self {
            location: Location::Builtin,
            reference: None,
        }
    }

    /// `SRC[@REF]` as typed; a relative directory is relative to `base`.
    pub(crate) fn parse(text: &str, base: &Path) -> Result<Self, Problem> {
        let text = text.trim();
        if text == BUILTIN_NAME {
            return Ok(Self::builtin());
        }
        let not_found = || {
            Problem::error(format!("the template `{text}` is neither a directory nor a git URL"))
                .hint("give a directory holding a manifest.toml, a directory or URL of a git repository with @REF (tag, branch or commit), or `builtin`")
        };
        if text.is_empty() {
            return Err(not_found());
        }
        if base.join(text).is_dir() {
            return Ok(Self {
                location: Location::Dir(absolute(&base.join(text))),
                reference: None,
            });
        }
        for (at, _) in text.rmatch_indices('@') {
            let (location, reference) = (&text[..at], &text[at + 1..]);
            if location.is_empty() || reference.is_empty() || reference.contains(':') {
                continue;
            }
            let reference = Some(reference.to_string());
            if base.join(location).is_dir() {
                let path = absolute(&base.join(location));
                return Ok(Self {
                    location: Location::Git(path.to_string_lossy().into_owned()),
                    reference,
                });
            }
            if is_url(location) && url_has_path(location) {
                check_no_password(location)?;
                return Ok(Self {
                    location: Location::Git(location.to_string()),
                    reference,
                });
            }
        }
        if is_url(text) {
            check_no_password(text)?;
            return Ok(Self {
                location: Location::Git(text.to_string()),
                reference: None,
            });
        }
        Err(not_found())
    }

    /// The spec a lock records, read back (relative paths are relative to the repository).
    pub(crate) fn from_lock(locked: &Locked, repo: &Path) -> Result<Self, Problem> {
        let source = locked.source.as_str();
        let reference = locked.reference.clone();
        if source == BUILTIN_NAME {
            return Ok(Self::builtin());
        }
        if is_url(source) {
            check_no_password(source)?;
            return Ok(Self {
                location: Location::Git(source.to_string()),
                reference,
            });
        }
        let path = absolute(&repo.join(source));
        // Not here (a CI job has no `../teamtpl`): the checkout's published repository.
        if !path.exists()
            && let Some(url) = &locked.url
        {
            check_no_password(url)?;
            return Ok(Self {
                location: Location::Git(url.clone()),
                reference,
            });
        }
        if !path.exists() {
            return Err(Problem::error(format!(
                "the template `{source}` recorded in `{TEMPLATE_LOCK}` is not here (`{}`)",
                path.display()
            ))
            .hint(format!(
                "set `{OVERRIDE_VAR}` to where it is: a directory, or its git repository (`{OVERRIDE_VAR}=https://gitlab.example.com/platform/template.git@main`; in GitLab CI a CI/CD variable)"
            )));
        }
        Ok(Self {
            location: match reference {
                Some(_) => Location::Git(path.to_string_lossy().into_owned()),
                None => Location::Dir(path),
            },
            reference,
        })
    }

    /// How the lock of the repository at `repo` records this source.
    pub(crate) fn lock_source(&self, repo: &Path) -> String {
        let path = match &self.location {
            Location::Builtin => return BUILTIN_NAME.into(),
            Location::Git(url) if !url.starts_with('/') => return url.clone(),
            Location::Git(path) => PathBuf::from(path),
            Location::Dir(path) => path.clone(),
        };
        let relative = relative_to(&path, &absolute(repo));
        let text = relative.to_string_lossy().into_owned();
        if text.starts_with("..") {
            text
        } else {
            format!("./{text}")
        }
    }

    /// For people: where the template is, without the ref.
    pub(crate) fn location_display(&self) -> String {
        match &self.location {
            Location::Builtin => BUILTIN_NAME.to_string(),
            Location::Dir(path) => path.display().to_string(),
            Location::Git(url) => url.clone(),
        }
    }

    /// For people: the source and ref.
    pub(crate) fn display(&self) -> String {
        let location = self.location_display();
        match &self.reference {
            Some(reference) => format!("{location}@{reference}"),
            None => location,
        }
    }
}

pub(crate) fn is_url(text: &str) -> bool {
    if text.contains("://") {
        return true;
    }
    // scp-like `[user@]host:path`: a colon before any slash.
    match (text.find(':'), text.find('/')) {
        (Some(colon), slash) => {
            colon > 1 && slash.is_none_or(|slash| colon < slash) && !text.starts_with('.')
        }
        _ => false,
    }
}

fn url_has_path(text: &str) -> bool {
    if text.contains("://") {
        return url::Url::parse(text).is_ok_and(|url| !url.path().trim_matches('/').is_empty());
    }
    text.split_once(':')
        .is_some_and(|(_, path)| !path.is_empty())
}

/// A token in a URL would end up in git's command line, the mirror's config, the committed
/// lock and every message: a password, or a user name that is a token
/// (`https://glpat-...@host/...`, which GitHub and others accept), scp-like forms included.
pub(crate) fn check_no_password(text: &str) -> Result<(), Problem> {
    let user = match url::Url::parse(text) {
        Ok(url) if url.password().is_some() => None,
        Ok(url) => Some(
            percent_encoding::percent_decode_str(url.username())
                .decode_utf8_lossy()
                .into_owned(),
        ),
        // scp-like `user@host:path`.
        Err(_) => Some(
            text.split_once(':')
                .and_then(|(authority, _)| authority.rsplit_once('@'))
                .map_or(String::new(), |(user, _)| user.to_string()),
        ),
    };
    if user.is_none_or(|user| crate::settings::token_like(&user, &[])) {
        return Err(Problem::error("the template URL holds a password or token")
            .hint("drop it from the URL: git's credential helper (or an SSH key) supplies it"));
    }
    Ok(())
}

/// Absolute and, when it exists, canonical (so every repository shares one cache entry).
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

fn relative_to(target: &Path, base: &Path) -> PathBuf {
    let target: Vec<Component> = target.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for part in &target[common..] {
        out.push(part);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources_and_refs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tpl")).unwrap();
        let base = dir.path();
        let real = std::fs::canonicalize(base.join("tpl")).unwrap();
        assert_eq!(Spec::parse("builtin", base).unwrap(), Spec::builtin());
        assert_eq!(
            Spec::parse("tpl", base).unwrap().location,
            Location::Dir(real.clone())
        );
        let at = Spec::parse("tpl@release/v2", base).unwrap();
        assert_eq!(
            at.location,
            Location::Git(real.to_string_lossy().into_owned())
        );
        assert_eq!(at.reference.as_deref(), Some("release/v2"));
        let cases = [
            (
                "https://user@host/g/t.git@v2",
                "https://user@host/g/t.git",
                Some("v2"),
            ),
            (
                "https://user@host/g/t.git",
                "https://user@host/g/t.git",
                None,
            ),
            ("git@host:g/t.git@main", "git@host:g/t.git", Some("main")),
            ("git@host:g/t.git", "git@host:g/t.git", None),
            ("file:///srv/t@abc", "file:///srv/t", Some("abc")),
        ];
        for (text, url, reference) in cases {
            let spec = Spec::parse(text, base).unwrap();
            assert_eq!(spec.location, Location::Git(url.into()), "{text}");
            assert_eq!(spec.reference.as_deref(), reference, "{text}");
        }
        assert!(Spec::parse("missing-dir", base).is_err());
        assert!(Spec::parse("https://u:glpat-x@host/g/t.git", base).is_err());
        for with_token in [
            "https://glpat-aB3dE5fG7hJ9kL1mN3pQ@host/g/t.git",
            "https://ghp_0123456789abcdefABCDEF0123456789abcd@host/g/t.git@v1",
            "https://aB3dE5fG7hJ9kL1mN3pQ@host/g/t.git",
            "glpat-aB3dE5fG7hJ9kL1mN3pQ@host:g/t.git",
        ] {
            assert!(Spec::parse(with_token, base).is_err(), "{with_token}");
        }
    }

    #[test]
    fn lock_sources_are_relative_to_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(base.join("tpl")).unwrap();
        std::fs::create_dir_all(base.join("repos/a")).unwrap();
        let spec = Spec::parse("tpl", &base).unwrap();
        let repo = base.join("repos/a");
        assert_eq!(spec.lock_source(&repo), "../../tpl");
        let locked = Locked {
            source: "../../tpl".into(),
            reference: None,
            url: None,
            commit: String::new(),
            version: String::new(),
        };
        assert_eq!(Spec::from_lock(&locked, &repo).unwrap(), spec);
        assert_eq!(Spec::builtin().lock_source(&repo), "builtin");
    }
}
