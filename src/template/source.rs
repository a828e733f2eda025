//! Where a template comes from: tfw's own set (embedded in the binary), a directory (read as
//! it is on disk), or a git repository at a tag, branch or commit (`spec` parses which),
//! resolved at most once per command: the fleet shares one `Resolver` between all
//! repositories, so 200 repositories on one template cost one fetch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::Template;
use super::manifest::{MANIFEST, Manifest};
pub(crate) use super::spec::{BUILTIN_NAME, Location, Spec};
use super::spec::{check_no_password, is_url};
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

type Slot = Arc<OnceLock<Result<Arc<Template>, Problem>>>;

/// Resolves each distinct source once and shares the result between threads.
pub(crate) struct Resolver {
    cache: PathBuf,
    slots: Mutex<HashMap<(Location, Option<String>), Slot>>,
    /// `TFW_TEMPLATE`: the template to use instead of the one a lock records.
    over: Option<String>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    /// Without `TFW_TEMPLATE`: for a template named explicitly (`tfw new`, `tfw adopt`). The
    /// commands that follow a lock take the settings' value (`Context::resolver`); the
    /// process environment alone would miss `.env`.
    pub(crate) fn new() -> Self {
        Self::with_override(None)
    }

    /// With `TFW_TEMPLATE` as the settings resolved it (environment, then `.env`).
    pub(crate) fn with_override(over: Option<String>) -> Self {
        Self {
            cache: cache_dir(),
            slots: Mutex::new(HashMap::new()),
            over: over.filter(|v| !v.trim().is_empty()),
        }
    }

    /// `TFW_TEMPLATE`, when set.
    pub(crate) fn override_text(&self) -> Option<&str> {
        self.over.as_deref()
    }

    pub(crate) fn resolve(&self, spec: &Spec) -> Result<Arc<Template>, Problem> {
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
}
