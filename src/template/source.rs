//! Where a template comes from: tfw's own set (embedded in the binary), a directory (read as
//! it is on disk), or a git repository at a tag, branch or commit. `SRC[@REF]` is parsed here,
//! written to the lock relative to the repository (so a teammate with the same checkout layout
//! resolves the same template), and resolved at most once per command: the fleet shares one
//! `Resolver` between all repositories, so 200 repositories on one template cost one fetch.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::Template;
use super::lock::{LOCK_PATH, Locked};
use super::manifest::{MANIFEST, Manifest};
use super::sync::OVERRIDE_VAR;
use super::{git, guard};
use crate::problem::Problem;

/// The embedded template (`templates/` in tfw's repository).
const BUILTIN: &[(&str, &str)] = &[
    (MANIFEST, include_str!("../../templates/manifest.toml")),
    ("env.example", include_str!("../../templates/env.example")),
    ("gitignore", include_str!("../../templates/gitignore")),
    ("tfw.toml", include_str!("../../templates/tfw.toml")),
    ("backend.tf", include_str!("../../templates/backend.tf")),
    ("README.md", include_str!("../../templates/README.md")),
    (
        "gitlab-ci.yml",
        include_str!("../../templates/gitlab-ci.yml"),
    ),
];

pub const BUILTIN_NAME: &str = "builtin";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    Builtin,
    /// A directory (absolute), read as it is on disk, uncommitted edits included.
    Dir(PathBuf),
    /// A git repository: a URL, or an absolute local path.
    Git(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub location: Location,
    /// The tag, branch or commit (git only; `None` is the remote's default branch).
    pub reference: Option<String>,
}

impl Spec {
    pub fn builtin() -> Self {
        Self {
            location: Location::Builtin,
            reference: None,
        }
    }

    /// `SRC[@REF]` as typed; a relative directory is relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, Problem> {
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
    pub fn from_lock(locked: &Locked, repo: &Path) -> Result<Self, Problem> {
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
                "the template `{source}` recorded in `{LOCK_PATH}` is not here (`{}`)",
                path.display()
            ))
            .hint(format!(
                "set {OVERRIDE_VAR} to where it is: a directory, or its git repository (`{OVERRIDE_VAR}=https://gitlab.example.com/platform/template.git@main`; in GitLab CI a CI/CD variable)"
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
    pub fn lock_source(&self, repo: &Path) -> String {
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
    pub fn location_display(&self) -> String {
        match &self.location {
            Location::Builtin => BUILTIN_NAME.to_string(),
            Location::Dir(path) => path.display().to_string(),
            Location::Git(url) => url.clone(),
        }
    }

    /// For people: the source and ref.
    pub fn display(&self) -> String {
        let location = self.location_display();
        match &self.reference {
            Some(reference) => format!("{location}@{reference}"),
            None => location,
        }
    }
}

fn is_url(text: &str) -> bool {
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

/// A token in a URL would end up in the committed lock and in every message.
fn check_no_password(text: &str) -> Result<(), Problem> {
    if url::Url::parse(text).is_ok_and(|url| url.password().is_some()) {
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

type Slot = Arc<OnceLock<Result<Arc<Template>, Problem>>>;

/// Resolves each distinct source once and shares the result between threads.
pub struct Resolver {
    cache: PathBuf,
    slots: Mutex<HashMap<(Location, Option<String>), Slot>>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    pub fn new() -> Self {
        Self {
            cache: cache_dir(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn resolve(&self, spec: &Spec) -> Result<Arc<Template>, Problem> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots
                .entry((spec.location.clone(), spec.reference.clone()))
                .or_default()
                .clone()
        };
        // Other threads asking for the same source wait here for the one load.
        slot.get_or_init(|| load(spec, &self.cache).map(Arc::new))
            .clone()
    }
}

/// `$XDG_CACHE_HOME/tfw/templates`, else `~/.cache/tfw/templates`.
fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("tfw").join("templates")
}

fn load(spec: &Spec, cache: &Path) -> Result<Template, Problem> {
    match &spec.location {
        Location::Builtin => {
            let origin = Path::new("templates").join(MANIFEST);
            let get = |name: &str| {
                BUILTIN
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, text)| text.as_bytes().to_vec())
            };
            let text = BUILTIN[0].1;
            let manifest = Manifest::parse(text, &origin)?;
            let contents = manifest
                .sources()
                .iter()
                .map(|s| get(s).map(|bytes| (bytes, false)))
                .collect();
            manifest.assemble(text, contents, None, &origin)
        }
        Location::Dir(dir) => {
            let origin = dir.join(MANIFEST);
            let not_template = |reason: String| {
                Problem::error(format!(
                    "`{}` is not a tfw template: {reason}",
                    dir.display()
                ))
                .at(&origin, None)
                .hint("a template directory holds a manifest.toml listing its files")
            };
            let text = match guard::read_in_template(dir, MANIFEST)? {
                Some(guard::Found::File { bytes, .. }) => String::from_utf8(bytes)
                    .map_err(|_| not_template("its manifest is not UTF-8".into()))?,
                _ => return Err(not_template(format!("it has no {MANIFEST}"))),
            };
            let manifest = Manifest::parse(&text, &origin)?;
            let mut contents = Vec::new();
            for source in manifest.sources() {
                // Only files resolving inside the template: a link to `~/.gitconfig` is refused.
                contents.push(match guard::read_in_template(dir, &source)? {
                    Some(guard::Found::File { bytes, executable }) => Some((bytes, executable)),
                    _ => None,
                });
            }
            let mut template = manifest.assemble(&text, contents, None, &origin)?;
            template.url =
                git::origin_url(dir).filter(|url| is_url(url) && check_no_password(url).is_ok());
            Ok(template)
        }
        Location::Git(url) => {
            let shown = spec.display();
            let (mirror, commit) = git::fetch(
                url,
                &spec.location_display(),
                spec.reference.as_deref(),
                cache,
            )?;
            let origin = PathBuf::from(format!("{shown}:{MANIFEST}"));
            let manifest_bytes = git::read_files(&mirror, &commit, &[MANIFEST.to_string()])?
                .pop()
                .flatten()
                .map(|(bytes, _)| bytes)
                .ok_or_else(|| {
                    Problem::error(format!(
                        "`{shown}` is not a tfw template: it has no {MANIFEST}"
                    ))
                    .hint("a template repository holds a manifest.toml listing its files")
                })?;
            let text = String::from_utf8(manifest_bytes).map_err(|_| {
                Problem::error("the template manifest is not UTF-8").at(&origin, None)
            })?;
            let manifest = Manifest::parse(&text, &origin)?;
            let contents = git::read_files(&mirror, &commit, &manifest.sources())?;
            let mut template = manifest.assemble(&text, contents, Some(commit), &origin)?;
            if url.starts_with('/') {
                template.url = git::origin_url(Path::new(url))
                    .filter(|url| is_url(url) && check_no_password(url).is_ok());
            }
            Ok(template)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_template_is_complete() {
        let template = load(&Spec::builtin(), Path::new("/nonexistent")).unwrap();
        let paths: Vec<&str> = template.files.iter().map(|f| f.path.as_str()).collect();
        for wanted in [
            "env.example",
            ".gitignore",
            "tfw.toml",
            "backend.tf",
            "README.md",
            ".gitlab-ci.yml",
        ] {
            assert!(paths.contains(&wanted), "{wanted} missing from {paths:?}");
        }
        let gitignore = &template.file(".gitignore").unwrap().content;
        assert!(gitignore.lines().any(|l| l == ".env"));
        assert!(gitignore.lines().any(|l| l == "!.tfw/template.lock"));
        let tfw_toml = &template.file("tfw.toml").unwrap().content;
        toml::from_str::<crate::project::ProjectFile>(tfw_toml).expect("a valid tfw.toml");
    }

    #[test]
    fn builtin_env_example_is_flagged_until_filled_in() {
        let template = load(&Spec::builtin(), Path::new("/nonexistent")).unwrap();
        let text = &template.file("env.example").unwrap().content;
        let dotenv = crate::dotenv::DotEnv::parse(Path::new("env.example"), text.clone()).unwrap();
        for key in [
            "GITLAB_URL",
            "GITLAB_PROJECT",
            "TF_HTTP_USERNAME",
            "TF_HTTP_PASSWORD",
            "TF_STATE_NAME",
        ] {
            let value = dotenv.get(key).unwrap_or_else(|| panic!("{key} missing"));
            assert!(crate::settings::is_placeholder(value), "{key}={value}");
        }
    }

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
