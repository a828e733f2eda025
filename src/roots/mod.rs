//! A repository's roots (one folder per environment): declared in the repository's
//! `tfw.toml` (`[roots."envs/prod"]`) or discovered (`backend "http"` in a folder's `*.tf`),
//! each with the settings `tfw -C ROOT` would use, so `tfw roots` and `tfw --all` show and
//! run exactly what one root at a time would. Two roots on one state is refused here: their
//! applies would overwrite each other.

pub(crate) mod changed;
pub(crate) mod discover;
pub(crate) mod pipeline;
pub(crate) mod review;
pub(crate) mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::problem::Problem;
use crate::project::FILE_NAME;
use crate::repo::slash_path;
use crate::settings::{Settings, Value};

pub(crate) struct Root {
    pub dir: PathBuf,
    /// From the repository root, `/`-separated (`envs/prod`; `.` for the root itself).
    pub path: String,
    /// The `tfw.toml` whose `[roots."..."]` table names it.
    pub declared_in: Option<PathBuf>,
    /// With `--changed`: why it was selected (its files, the modules it calls).
    pub changed: Vec<String>,
}

/// Where roots are looked for: the repository root, else the working directory.
pub(crate) fn base(settings: &Settings) -> PathBuf {
    settings
        .project
        .levels
        .repo_root
        .clone()
        .unwrap_or_else(|| settings.dir.clone())
}

/// Declared and discovered roots below `base`, sorted by path.
pub(crate) fn find(base: &Path) -> Result<Vec<Root>, Problem> {
    let mut roots: BTreeMap<String, Root> = BTreeMap::new();
    for dir in discover::walk(base) {
        let path = slash_path(dir.strip_prefix(base).unwrap_or(&dir));
        roots.insert(
            path.clone(),
            Root {
                dir,
                path,
                declared_in: None,
                changed: Vec::new(),
            },
        );
    }
    let file = base.join(FILE_NAME);
    for key in crate::project::declared_roots(&file)? {
        let path = slash_path(Path::new(&key));
        let dir = base.join(&path);
        if !dir.is_dir() {
            return Err(Problem::error(format!(
                "`[roots.\"{key}\"]` names a folder that does not exist: `{}`",
                dir.display()
            ))
            .at(&file, None)
            .hint("fix the path (relative to this file's folder) or delete the table"));
        }
        // `[roots."shared"]` with `shared -> ~/elsewhere` (or `-> .`, the root twice) would
        // run terraform and keep `.tfw/` (plans, backups) outside the repository.
        if let Some(link) = crate::fsutil::first_symlink(base, &dir) {
            let target = std::fs::read_link(&link).unwrap_or_default();
            return Err(Problem::error(format!(
                "`[roots.\"{key}\"]` reaches its folder through the symbolic link `{}` (to `{}`): tfw runs roots only in the repository's own folders",
                slash_path(link.strip_prefix(base).unwrap_or(&link)),
                target.display()
            ))
            .at(&file, None)
            .hint("name the real folder in the table, or replace the link with the folder itself"));
        }
        roots
            .entry(path.clone())
            .or_insert(Root {
                dir,
                path,
                declared_in: None,
                changed: Vec::new(),
            })
            .declared_in = Some(file.clone());
    }
    Ok(roots.into_values().collect())
}

/// The roots matching any of `patterns` (globs on the root's path: `envs/*`, `*prod*`); all
/// of them without patterns. A pattern that matches nothing is an error: a typo must not
/// quietly run fewer roots than meant.
pub(crate) fn select(roots: Vec<Root>, patterns: &[String]) -> Result<Vec<Root>, Problem> {
    if patterns.is_empty() {
        return Ok(roots);
    }
    let mut compiled = Vec::new();
    for pattern in patterns {
        let glob = glob::Pattern::new(pattern.trim_end_matches('/')).map_err(|err| {
            Problem::error(format!("`--roots {pattern}` is not a valid pattern: {err}"))
                .hint("use globs like `envs/*` or `*prod*`")
        })?;
        if !roots.iter().any(|root| glob.matches(&root.path)) {
            let known: Vec<&str> = roots.iter().map(|r| r.path.as_str()).collect();
            return Err(Problem::error(format!("`--roots {pattern}` matches no root"))
                .hint(if known.is_empty() {
                    "this repository has no roots (folders with `backend \"http\"` or `[roots.\"PATH\"]` tables in tfw.toml)".to_string()
                } else {
                    format!("the roots are: {}", known.join(", "))
                }));
        }
        compiled.push(glob);
    }
    Ok(roots
        .into_iter()
        .filter(|root| compiled.iter().any(|glob| glob.matches(&root.path)))
        .collect())
}

/// One root with the settings `tfw -C ROOT` would use.
pub(crate) struct Resolved {
    pub root: Root,
    pub settings: Settings,
    pub state: Option<Value>,
    /// Every problem of its settings (errors and warnings).
    pub problems: Vec<Problem>,
}

impl Resolved {
    pub(crate) fn protected(&self) -> Option<bool> {
        self.state
            .as_ref()
            .map(|state| self.settings.project.is_protected(&state.value))
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }
}

/// Each root's settings, from the same environment as the working directory's.
pub(crate) fn resolve(roots: Vec<Root>, parent: &Settings) -> Vec<Resolved> {
    roots
        .into_iter()
        .map(|root| {
            let settings =
                Settings::load_in(root.dir.clone(), None, None, parent.env.clone(), parent.ci);
            let (backend, mut problems) = settings.backend();
            problems.extend(settings.git_tracked_problem());
            let state = backend.map(|b| b.state).or_else(|| settings.state());
            Resolved {
                root,
                settings,
                state,
                problems,
            }
        })
        .collect()
}

/// Two roots on one state (in one project): an error naming both and where each got it.
pub(crate) fn shared_states(resolved: &[Resolved]) -> Vec<Problem> {
    let mut by_state: BTreeMap<(String, String), Vec<&Resolved>> = BTreeMap::new();
    for one in resolved {
        let Some(state) = &one.state else { continue };
        let project = one.settings.backend().0.map(|b| b.base).unwrap_or_default();
        by_state
            .entry((project, state.value.clone()))
            .or_default()
            .push(one);
    }
    by_state
        .into_iter()
        .filter(|(_, roots)| roots.len() > 1)
        .map(|((_, state), roots)| {
            let each: Vec<String> = roots
                .iter()
                .map(|r| {
                    let from = r.state.as_ref().map(|s| s.origin.describe(&r.settings.env_file));
                    format!("`{}` ({})", r.root.path, from.unwrap_or_default())
                })
                .collect();
            Problem::error(format!(
                "{} roots are mapped to the state `{state}`: {}",
                roots.len(),
                each.join(", ")
            ))
            .hint("give each root its own state, e.g. `state = \"{root}\"` in the repository's tfw.toml, or `[roots.\"PATH\"] state = \"NAME\"`")
        })
        .collect()
}
