//! Terraform or OpenTofu: which binary runs, which version it is, and why. The choice is
//! `TFW_BINARY` (environment or `.env`) > `binary` in `tfw.toml` > `.opentofu-version` /
//! `.terraform-version` > `tofu` on PATH > `terraform`. Asking a binary its version costs a
//! process start (tens of ms), so the answer is cached (`crate::cache`), keyed by the binary's
//! path, size, mtime and inode, and a version pin is checked before anything runs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::problem::Problem;
use crate::settings::{Origin, Settings};

#[derive(Debug, Clone)]
pub(crate) struct Engine {
    pub program: PathBuf,
    /// Why this binary: shown by `doctor` and `env`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct EngineInfo {
    /// `Terraform` or `OpenTofu`, from the binary's own answer.
    pub product: String,
    pub version: String,
}

pub(crate) fn resolve(settings: &Settings) -> Result<Engine, Problem> {
    let (requested, reason) = choose(settings);
    let program = locate(&requested, &settings.dir).map_err(|problem| {
        match settings.lookup("TFW_BINARY") {
            Some(value) => match value.origin {
                Origin::DotEnv { line, file } => problem.at(&file, Some(line)),
                _ => problem,
            },
            None => problem,
        }
    })?;
    Ok(Engine { program, reason })
}

fn choose(settings: &Settings) -> (String, String) {
    if let Some(value) = settings.lookup("TFW_BINARY") {
        let from = value.origin.describe(&settings.env_file);
        return (value.value, format!("TFW_BINARY ({from})"));
    }
    if let Some(binary) = &settings.project.file.binary {
        return (
            binary.clone(),
            format!("`binary` in {}", crate::project::FILE_NAME),
        );
    }
    // The nearest folder with a pin file decides, as tenv and tfswitch look up.
    for level in &settings.project.levels.dirs {
        for (file, name) in [
            (".opentofu-version", "tofu"),
            (".terraform-version", "terraform"),
        ] {
            if level.join(file).is_file() {
                let shown = if level == &settings.dir {
                    file.to_string()
                } else {
                    level.join(file).display().to_string()
                };
                return (name.into(), format!("{shown} is present"));
            }
        }
    }
    if which::which("tofu").is_ok() {
        return ("tofu".into(), "`tofu` is on PATH".into());
    }
    ("terraform".into(), "default (no `tofu` on PATH)".into())
}

fn locate(requested: &str, dir: &Path) -> Result<PathBuf, Problem> {
    let path = if requested.contains('/') {
        let path = dir.join(requested);
        if !path.exists() {
            return Err(
                Problem::error(format!("the binary `{}` does not exist", path.display()))
                    .hint("fix TFW_BINARY, or unset it to use `tofu`/`terraform` from PATH"),
            );
        }
        path
    } else {
        which::which(requested).map_err(|_| {
            Problem::error(format!("`{requested}` was not found on PATH")).hint(format!(
                "install {requested}, or set TFW_BINARY to the path of a terraform or tofu binary"
            ))
        })?
    };
    let meta = std::fs::metadata(&path)
        .map_err(|err| Problem::error(format!("cannot read `{}`: {err}", path.display())))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(
            Problem::error(format!("`{}` is not an executable file", path.display())).hint(
                format!(
                    "run `chmod +x {}` or point TFW_BINARY at the right file",
                    path.display()
                ),
            ),
        );
    }
    Ok(path)
}

impl Engine {
    /// The binary's product and version, from the cache when the file has not changed.
    pub(crate) fn info(&self) -> Result<EngineInfo, Problem> {
        let key = crate::cache::file_key(&self.program);
        if let Some(info) = key.as_deref().and_then(|key| crate::cache::get(CACHE, key)) {
            return Ok(info);
        }
        let info = self.ask_version()?;
        if let Some(key) = key {
            let owner = format!("{}|", self.program.display());
            crate::cache::put(CACHE, &owner, key, info.clone());
        }
        Ok(info)
    }

    fn ask_version(&self) -> Result<EngineInfo, Problem> {
        let output = std::process::Command::new(&self.program)
            .arg("version")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|err| {
                Problem::error(format!("cannot run `{}`: {err}", self.program.display()))
                    .hint("check that it is a terraform or tofu binary for this machine")
            })?;
        let text = String::from_utf8_lossy(&output.stdout);
        parse_version_output(&text).ok_or_else(|| {
            Problem::error(format!(
                "`{} version` did not print a version (exit {})",
                self.program.display(),
                output
                    .status
                    .code()
                    .map_or_else(|| "by a signal".to_string(), |c| c.to_string())
            ))
            .hint("point TFW_BINARY at a terraform or tofu binary")
        })
    }

    /// Fails when a pin (`version` in tfw.toml, `.terraform-version`, `.opentofu-version`)
    /// is not met by the binary.
    pub(crate) fn check_pin(&self, settings: &Settings) -> Result<(), Problem> {
        let Some((constraint, location)) = pin(settings) else {
            return Ok(());
        };
        let info = self.info()?;
        let Some(version) = Version::parse(&info.version) else {
            return Ok(());
        };
        match satisfies(&version, &constraint) {
            Some(true) => Ok(()),
            Some(false) => Err(Problem::error(format!(
                "{} {} does not satisfy the version pin `{constraint}`",
                info.product, info.version
            ))
            .at(&location, None)
            .hint(format!(
                "install a matching version (tenv/tfswitch read this file) or set TFW_BINARY to one; `{}` was chosen because {}",
                self.program.display(),
                self.reason
            ))),
            None => Err(Problem::error(format!("cannot understand the version pin `{constraint}`"))
                .at(&location, None)
                .hint("write an exact version (1.6.2) or constraints like `>= 1.5, < 2.0` or `~> 1.6`")),
        }
    }
}

fn pin(settings: &Settings) -> Option<(String, PathBuf)> {
    if let (Some(version), Some(path)) = (
        &settings.project.file.version,
        settings.project.source("version"),
    ) {
        return Some((version.clone(), path.to_path_buf()));
    }
    let levels = &settings.project.levels.dirs;
    let files = levels
        .iter()
        .flat_map(|level| [".opentofu-version", ".terraform-version"].map(|file| level.join(file)));
    for path in files {
        if let Ok(text) = crate::fsutil::read_regular_text(&path) {
            let line = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))?;
            // tenv/tfenv keywords that name no fixed version: nothing to check.
            if line.starts_with("latest") || line.starts_with("min-required") {
                return None;
            }
            return Some((line.trim_start_matches('v').to_string(), path));
        }
    }
    None
}

/// `$XDG_CACHE_HOME/tfw/engines.json`: binary identity (path, size, mtime, inode) -> answer.
const CACHE: &str = "engines";

pub(crate) fn parse_version_output(text: &str) -> Option<EngineInfo> {
    let first = text.lines().next()?.trim();
    let (product, version) = first.split_once(" v")?;
    let version = version.split_whitespace().next()?.to_string();
    Version::parse(&version)?;
    Some(EngineInfo {
        product: product.to_string(),
        version,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
}

impl Version {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
        Some(Self {
            major,
            minor,
            patch,
        })
    }
}

/// Terraform's constraint syntax (`=`, `!=`, `>`, `>=`, `<`, `<=`, `~>`, comma-separated).
/// No crate speaks it: semver's `~` means something else than Terraform's `~>`.
pub(crate) fn satisfies(version: &Version, constraint: &str) -> Option<bool> {
    for part in constraint.split(',') {
        let part = part.trim();
        let (op, rest) = ["~>", ">=", "<=", "!=", "=", ">", "<"]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|rest| (*op, rest.trim())))
            .unwrap_or(("=", part));
        let want = Version::parse(rest)?;
        let segments = rest
            .trim_start_matches('v')
            .split(['-', '+'])
            .next()?
            .split('.')
            .count();
        let ok = match op {
            "=" => *version == want,
            "!=" => *version != want,
            ">" => *version > want,
            ">=" => *version >= want,
            "<" => *version < want,
            "<=" => *version <= want,
            "~>" => {
                let upper = if segments >= 3 {
                    Version {
                        minor: want.minor + 1,
                        patch: 0,
                        ..want
                    }
                } else {
                    Version {
                        major: want.major + 1,
                        minor: 0,
                        patch: 0,
                    }
                };
                *version >= want && *version < upper
            }
            _ => return None,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        let info = parse_version_output("Terraform v1.0.3\non linux_amd64\n").unwrap();
        assert_eq!(info.product, "Terraform");
        assert_eq!(info.version, "1.0.3");
        assert_eq!(
            parse_version_output("OpenTofu v1.8.0-beta1\n")
                .unwrap()
                .version,
            "1.8.0-beta1"
        );
    }

    #[test]
    fn constraints() {
        let v = Version::parse("1.0.3").unwrap();
        assert_eq!(satisfies(&v, "1.0.3"), Some(true));
        assert_eq!(satisfies(&v, ">= 1.0, < 2.0"), Some(true));
        assert_eq!(satisfies(&v, "~> 1.0"), Some(true));
        assert_eq!(satisfies(&v, "~> 1.0.4"), Some(false));
        assert_eq!(satisfies(&v, "~> 1.1"), Some(false));
        assert_eq!(satisfies(&v, ">= 1.5"), Some(false));
        assert_eq!(satisfies(&v, "garbage"), None);
    }
}
