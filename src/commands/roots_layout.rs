//! One repository, one folder per environment, as `tfw new --roots staging,prod` lays it
//! out and `tfw adopt` recognises it: each root (`envs/NAME`) declares its own
//! `backend "http"` and calls the shared `modules/`, so the template's root-level
//! `backend.tf` is opted out of (the repository root is no root); `tfw.toml` maps every
//! root to its state (`state = "{root}"`), and the pipeline runs per root.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::problem::Problem;
use crate::template::Template;
use crate::template::lock::Entry;

/// Where the roots go, and the module they share.
const ENVS: &str = "envs";
const MODULE: &str = "modules/app";

/// `--roots staging,prod`: plain names, each once.
pub(crate) fn names(given: &[String]) -> Result<Vec<String>, Problem> {
    let mut out: Vec<String> = Vec::new();
    for name in given.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Problem::error(format!(
                "`--roots {name}`: a root's name is one folder name (letters, digits, `-`, `_`)"
            ))
            .hint("e.g. `tfw new infra --roots staging,prod`"));
        }
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// The roots below `dir` (the repository root not included): a repository laid out by
/// environment when there is at least one.
pub(crate) fn found(dir: &Path) -> Vec<String> {
    crate::roots::discover::walk(dir)
        .iter()
        .filter_map(|root| root.strip_prefix(dir).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .map(crate::repo::slash_path)
        .collect()
}

/// Lock entries opting this repository out of the template's `*.tf` files that declare a
/// backend: in a repository of roots, a backend at the top would make it a root too.
pub(crate) fn no_root_backend(template: &Template) -> BTreeMap<String, Entry> {
    template
        .files
        .iter()
        .filter(|file| file.declares_backend())
        .map(|file| (file.path.clone(), Entry::opted_out(file)))
        .collect()
}

/// Writes each root and the shared module (never over an existing file), maps the roots to
/// their states and turns the pipeline per root on; returns the files it created, then
/// those it changed.
pub(crate) fn scaffold(dir: &Path, roots: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let mut written = Vec::new();
    let mut changed = Vec::new();
    if roots.is_empty() {
        return Ok((written, changed));
    }
    let mut create = |path: String, text: String| -> Result<()> {
        let full = dir.join(&path);
        if !full.exists() {
            std::fs::create_dir_all(full.parent().expect("below the repository"))?;
            crate::fsutil::write_atomic(&full, text.as_bytes(), 0o644)?;
            written.push(path);
        }
        Ok(())
    };
    for root in roots {
        create(
            format!("{ENVS}/{root}/main.tf"),
            format!(
                "# The `{root}` environment: its state is `{root}` (tfw.toml maps every root).\nterraform {{\n  backend \"http\" {{}}\n}}\n\nmodule \"app\" {{\n  source = \"../../{MODULE}\"\n\n  environment = \"{root}\"\n}}\n"
            ),
        )?;
    }
    create(
        format!("{MODULE}/main.tf"),
        "# What every environment deploys; each root under envs/ calls it with its own values.\nvariable \"environment\" {\n  type = string\n}\n\noutput \"environment\" {\n  value = var.environment\n}\n".into(),
    )?;
    if map_states(dir)? {
        changed.push("tfw.toml".into());
    }
    if per_root_pipeline(dir)? {
        changed.push(".gitlab-ci.yml".into());
    }
    Ok((written, changed))
}

/// What `tfw adopt` says (and, unless `dry_run`, does) in a repository of roots.
pub(crate) fn adopted(
    printer: &crate::printer::Printer,
    dir: &Path,
    roots: &[String],
    dry_run: bool,
) -> Result<()> {
    printer.status(&format!(
        "Recognised one folder per environment, {} roots: {} (no `backend.tf` at the top: the repository root is no root)",
        roots.len(),
        roots.join(", ")
    ));
    if !dry_run && per_root_pipeline(dir)? {
        printer.status("  updated    .gitlab-ci.yml  (TFW_PIPELINE: \"roots\": a plan and a manual apply per root)");
    }
    printer.note(
        "map each root to its state in tfw.toml, e.g. `state = \"{root}\"` (see `tfw roots`)",
    );
    Ok(())
}

/// `state = "{root}"` at the top of `tfw.toml`, unless it maps states already.
fn map_states(dir: &Path) -> Result<bool> {
    let path = dir.join(crate::project::FILE_NAME);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if text.lines().any(|l| l.trim_start().starts_with("state ")) {
        return Ok(false);
    }
    let text = format!(
        "# Each root (a folder with `backend \"http\"`) uses the state named after its folder.\nstate = \"{{root}}\"\n\n{text}"
    );
    crate::fsutil::write_atomic(&path, text.as_bytes(), 0o644)?;
    Ok(true)
}

/// `TFW_PIPELINE: "roots"` in the shipped pipeline (a merge-policy file: this edit is kept
/// by later syncs). True when it changed.
pub(crate) fn per_root_pipeline(dir: &Path) -> Result<bool> {
    let path = dir.join(".gitlab-ci.yml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(false);
    };
    let from = "  TFW_PIPELINE: \"root\"";
    if !text.lines().any(|l| l == from) {
        return Ok(false);
    }
    let text = text.replacen(from, "  TFW_PIPELINE: \"roots\"", 1);
    crate::fsutil::write_atomic(&path, text.as_bytes(), 0o644)?;
    Ok(true)
}
