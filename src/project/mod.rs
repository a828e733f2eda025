//! `tfw.toml`: the committed, shared part of the configuration (which binary, which states
//! are protected, how personal states are named). Everything personal stays in `.env`.
//!
//! A repository may hold several: the working directory's, each parent's up to the
//! repository root, and `[roots."envs/prod"]` tables in any of them. They are layered so
//! that `tfw -C envs/prod` (and CI's `TF_ROOT`) keeps the repository's rules: the nearest
//! value wins per key, except `protected`, which only accumulates (a nested file may protect
//! more, never less).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::problem::Problem;
use crate::repo::{Levels, slash_path};

mod defaults;

pub(crate) const FILE_NAME: &str = "tfw.toml";

/// The keys `tfw.toml` knows, for the hint of an unknown one.
const KNOWN_KEYS: &str = "binary, version, protected, personal, ci_state, backups_keep, stale_lock_after, state, drift, [args] plan/apply/destroy, [roots.\"PATH\"]";

/// Protected when the repository has no `tfw.toml` (or it lists none): the usual names, and
/// the same followed by a separator (`prod-eu`, `staging_2`, `production.us`).
pub(crate) const DEFAULT_PROTECTED: &[&str] = &[
    "prod",
    "production",
    "staging",
    "prod[-_./]*",
    "production[-_./]*",
    "staging[-_./]*",
];

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectFile {
    /// `tofu`, `terraform`, or a path.
    pub binary: Option<String>,
    /// A version constraint the binary must satisfy, e.g. `">= 1.0, < 2.0"` or `"~> 1.6"`.
    pub version: Option<String>,
    /// Glob patterns of shared states that need a typed confirmation.
    pub protected: Option<Vec<String>>,
    /// How a developer's own state is named; `{username}` is `TF_HTTP_USERNAME`.
    pub personal: Option<String>,
    /// The state CI uses when `TF_STATE_NAME` is not set.
    pub ci_state: Option<String>,
    /// How many backups to keep per state (the newest is never pruned).
    pub backups_keep: Option<usize>,
    /// How old a lock is before `tfw locks` calls it stale, e.g. `"2h"`, `"45m"`.
    pub stale_lock_after: Option<String>,
    /// The root's state: a name, or a pattern of `{root}` (the folder's name), `{path}` (its
    /// path from the repository root, `/` as `-`) and `{user}` (`TF_HTTP_USERNAME`).
    pub state: Option<String>,
    /// The states `tfw drift --all` checks in this root (default: the root's own state).
    pub drift: Option<Vec<String>>,
    /// Settings for one root, by its path relative to this file's folder: as if written in
    /// a `tfw.toml` there (under any file that root has of its own).
    #[serde(default)]
    pub roots: BTreeMap<String, ProjectFile>,
    /// Terraform arguments the team always passes (`tfw adopt` carries the old scripts' here).
    #[serde(default)]
    pub args: ExtraArgs,
}

/// `[args]`: added before the command line's own extra arguments, so those still win.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtraArgs {
    /// Every plan tfw makes for `plan` and `apply`.
    #[serde(default)]
    pub plan: Vec<String>,
    /// `terraform apply` of a saved plan (apply and destroy).
    #[serde(default)]
    pub apply: Vec<String>,
    /// The plan of `tfw destroy`.
    #[serde(default)]
    pub destroy: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Project {
    /// The nearest `tfw.toml`, if any level has one.
    pub path: Option<PathBuf>,
    /// The settings in effect in the working directory, every level merged.
    pub file: ProjectFile,
    /// The file that set each key (for `protected`, the nearest that added patterns).
    pub sources: BTreeMap<&'static str, PathBuf>,
    /// Every file read, nearest first (a `[roots]` table counts as its file).
    pub files: Vec<PathBuf>,
    /// The folders looked in, up to the repository root.
    pub(crate) levels: Levels,
}

impl Project {
    /// Every `tfw.toml` from `dir` up to the repository root, merged.
    #[cfg(test)]
    fn load(dir: &Path) -> Result<Self, Problem> {
        Self::load_levels(Levels::of(dir))
    }

    pub(crate) fn load_levels(levels: Levels) -> Result<Self, Problem> {
        let here = levels.canonical(0);
        // Nearest first: a folder's own file, then a parent's `[roots]` entry for it, then
        // that parent's file...
        let mut layers: Vec<(PathBuf, ProjectFile)> = Vec::new();
        // The folders whose file sets `protected` at its top level.
        let mut protecting: Vec<PathBuf> = Vec::new();
        for (index, level) in levels.dirs.iter().enumerate() {
            let path = level.join(FILE_NAME);
            let Some(mut file) = read(&path)? else {
                continue;
            };
            if file.protected.is_some() {
                protecting.push(level.clone());
            }
            let canonical_level = levels.canonical(index);
            let relative = here
                .strip_prefix(&canonical_level)
                .map(slash_path)
                .unwrap_or_default();
            let roots = std::mem::take(&mut file.roots);
            for (key, entry) in roots {
                check_root_key(&path, &key, &entry)?;
                if slash_path(Path::new(&key)) == relative && relative != "." {
                    layers.push((path.clone(), entry));
                }
            }
            layers.push((path, file));
        }
        let replaces_defaults = defaults::team_protects(&levels, &layers, &protecting);
        let mut project = Project {
            path: layers.first().map(|(path, _)| path.clone()),
            levels,
            ..Default::default()
        };
        for (path, layer) in &layers {
            if !project.files.contains(path) {
                project.files.push(path.clone());
            }
            project.take(path, layer);
        }
        if !replaces_defaults {
            defaults::keep(&mut project.file.protected);
        }
        Ok(project)
    }

    /// Adds a farther layer: keys not set yet, and its protections.
    fn take(&mut self, path: &Path, layer: &ProjectFile) {
        let file = &mut self.file;
        let sources = &mut self.sources;
        let mut set = |key: &'static str, slot: &mut Option<String>, value: &Option<String>| {
            if slot.is_none() && value.is_some() {
                *slot = value.clone();
                sources.insert(key, path.to_path_buf());
            }
        };
        // A relative path is relative to the file that names it, wherever tfw runs.
        let binary = layer.binary.as_ref().map(|binary| {
            let relative = binary.contains('/') && !Path::new(binary).is_absolute();
            match (relative, path.parent()) {
                (true, Some(folder)) => folder.join(binary).display().to_string(),
                _ => binary.clone(),
            }
        });
        set("binary", &mut file.binary, &binary);
        set("version", &mut file.version, &layer.version);
        set("personal", &mut file.personal, &layer.personal);
        set("ci_state", &mut file.ci_state, &layer.ci_state);
        set(
            "stale_lock_after",
            &mut file.stale_lock_after,
            &layer.stale_lock_after,
        );
        set("state", &mut file.state, &layer.state);
        if file.drift.is_none() && layer.drift.is_some() {
            file.drift.clone_from(&layer.drift);
            sources.insert("drift", path.to_path_buf());
        }
        if file.backups_keep.is_none() && layer.backups_keep.is_some() {
            file.backups_keep = layer.backups_keep;
            sources.insert("backups_keep", path.to_path_buf());
        }
        // Each list of `[args]` from the nearest layer that has one.
        for (slot, value) in [
            (&mut file.args.plan, &layer.args.plan),
            (&mut file.args.apply, &layer.args.apply),
            (&mut file.args.destroy, &layer.args.destroy),
        ] {
            if slot.is_empty() {
                slot.clone_from(value);
            }
        }
        if let Some(patterns) = &layer.protected {
            let all = file.protected.get_or_insert_with(Vec::new);
            for pattern in patterns {
                if !all.contains(pattern) {
                    all.push(pattern.clone());
                }
            }
            sources
                .entry("protected")
                .or_insert_with(|| path.to_path_buf());
        }
    }

    /// The file that set `key`, if one did.
    pub(crate) fn source(&self, key: &str) -> Option<&Path> {
        self.sources.get(key).map(PathBuf::as_path)
    }

    /// The state this root maps to (`state`), expanded; `None` without a mapping, or when
    /// it needs `{user}` and there is none. Also the pattern and the file that set it.
    pub(crate) fn mapped_state(&self, username: Option<&str>) -> Option<(String, &str, &Path)> {
        let pattern = self.file.state.as_deref()?;
        let relative = self.levels.relative().unwrap_or_else(|| {
            let dir = self
                .levels
                .dirs
                .first()
                .map(PathBuf::as_path)
                .unwrap_or(Path::new("."));
            slash_path(Path::new(dir.file_name().unwrap_or_default()))
        });
        let folder = match relative.rsplit('/').next() {
            Some(".") | None => self
                .levels
                .repo_root
                .as_ref()
                .and_then(|r| r.file_name())
                .map_or_else(|| ".".into(), |n| n.to_string_lossy().into_owned()),
            Some(name) => name.to_string(),
        };
        let mut state = pattern
            .replace("{root}", &folder)
            .replace("{path}", &relative.replace('/', "-"));
        if state.contains("{user}") || state.contains("{username}") {
            let user = username?;
            state = state.replace("{user}", user).replace("{username}", user);
        }
        Some((state, pattern, self.source("state")?))
    }

    pub(crate) fn protected_patterns(&self) -> Vec<String> {
        match &self.file.protected {
            Some(patterns) => patterns.clone(),
            None => DEFAULT_PROTECTED.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Case does not matter: `Prod` is as shared as `prod`, and GitLab keeps both.
    pub(crate) fn is_protected(&self, state: &str) -> bool {
        let options = glob::MatchOptions {
            case_sensitive: false,
            ..glob::MatchOptions::new()
        };
        self.protected_patterns().iter().any(|pattern| {
            glob::Pattern::new(pattern)
                .map(|p| p.matches_with(state, options))
                .unwrap_or(pattern.eq_ignore_ascii_case(state))
        })
    }

    pub(crate) fn personal_state(&self, username: &str) -> String {
        self.file
            .personal
            .as_deref()
            .unwrap_or("dev-{username}")
            .replace("{username}", username)
    }

    pub(crate) fn is_personal(&self, state: &str, username: Option<&str>) -> bool {
        let rule = self.file.personal.as_deref().unwrap_or("dev-{username}");
        match username {
            Some(user) => state == rule.replace("{username}", user),
            None => {
                glob::Pattern::new(&rule.replace("{username}", "*")).is_ok_and(|p| p.matches(state))
            }
        }
    }

    /// Any developer's personal state (for `state prune`): the rule with `*` for the name.
    pub(crate) fn looks_personal(&self, state: &str) -> bool {
        self.is_personal(state, None)
    }

    pub(crate) fn backups_keep(&self) -> usize {
        self.file.backups_keep.unwrap_or(20).max(1)
    }

    /// `stale_lock_after` (2 hours by default); an unreadable value names its file.
    pub(crate) fn stale_lock_after(&self) -> Result<std::time::Duration, Problem> {
        let Some(text) = &self.file.stale_lock_after else {
            return Ok(std::time::Duration::from_secs(2 * 3600));
        };
        humantime::parse_duration(text).map_err(|err| {
            let problem = Problem::error(format!(
                "`stale_lock_after = \"{text}\"` is not a duration: {err}"
            ));
            match self.sources.get("stale_lock_after").or(self.path.as_ref()) {
                Some(path) => problem.at(path, None),
                None => problem,
            }
            .hint("write it like \"2h\", \"90m\" or \"1d\"")
        })
    }
}

/// The folders a file's `[roots."PATH"]` tables name, as written; none without the file.
pub(crate) fn declared_roots(path: &Path) -> Result<Vec<String>, Problem> {
    let Some(file) = read(path)? else {
        return Ok(Vec::new());
    };
    for (key, entry) in &file.roots {
        check_root_key(path, key, entry)?;
    }
    Ok(file.roots.into_keys().collect())
}

/// One file, parsed; `None` when it does not exist.
fn read(path: &Path) -> Result<Option<ProjectFile>, Problem> {
    let text = match crate::fsutil::read_regular_text(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(Problem::error(format!(
                "cannot read `{}`: {err}",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map(Some).map_err(|err| {
        let line = err
            .span()
            .map(|span| text[..span.start].matches('\n').count() + 1);
        Problem::error(format!("invalid {FILE_NAME}: {}", err.message().trim()))
            .at(path, line)
            .hint(format!("known keys: {KNOWN_KEYS}"))
    })
}

/// A `[roots."PATH"]` key must name a folder below the file, and holds no `roots` of its own.
fn check_root_key(path: &Path, key: &str, entry: &ProjectFile) -> Result<(), Problem> {
    let inside = !Path::new(key).is_absolute()
        && Path::new(key).components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if !inside || slash_path(Path::new(key)) == "." {
        return Err(Problem::error(format!(
            "`[roots.\"{key}\"]` in {FILE_NAME} must name a folder below the file, relative to it"
        ))
        .at(path, line_of(path, key))
        .hint("write the root's path from this file's folder, e.g. `[roots.\"envs/prod\"]`"));
    }
    if !entry.roots.is_empty() {
        return Err(Problem::error(format!(
            "`[roots.\"{key}\"]` holds `roots` of its own: root tables do not nest"
        ))
        .at(path, line_of(path, key))
        .hint(format!("write each root as `[roots.\"{key}/...\"]`")));
    }
    Ok(())
}

/// The line a `[roots."KEY"]` header is on, for messages about it.
fn line_of(path: &Path, key: &str) -> Option<usize> {
    let text = crate::fsutil::read_regular_text(path).ok()?;
    text.lines()
        .position(|line| line.contains(key) && line.trim_start().starts_with('['))
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests;
