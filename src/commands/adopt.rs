//! `tfw adopt`: convert a repository made from the old Makefile template (Makefile, scripts/,
//! backend.hcl, an `export`-style env.example, a README section) into one that `tfw sync`
//! keeps up to date. It says what it will do first (`--dry-run` shows the diff and stops), never
//! rewrites the developer's `.env` (tfw reads its `export KEY="value"` lines as they are), and
//! removes the Makefile, scripts/ and backend.hcl only with `--remove-legacy`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::AdoptArgs;
use crate::context::Context;
use crate::printer::Printer;
use crate::problem::Problem;
use crate::template::lock::{Entry, LOCK_PATH, Lock};
use crate::template::ops::apply;
use crate::template::plan::{Mode, plan};
use crate::template::policy::Policy;
use crate::template::source::{Resolver, Spec};
use crate::template::{Template, git, sync::locked_for};

/// What the old template left behind, removed only with `--remove-legacy`.
const LEGACY: &[&str] = &["Makefile", "scripts", "backend.hcl"];

pub fn run(ctx: &Context, args: &AdoptArgs) -> Result<i32> {
    let dir = ctx.dir();
    let p = &ctx.printer;
    match Lock::read(dir) {
        Ok(None) => {}
        Ok(Some(_)) => {
            return Err(Problem::error(format!(
                "this repository already uses a template (`{LOCK_PATH}`)"
            ))
            .hint("`tfw sync` updates it")
            .into());
        }
        Err(err) => {
            return Err(Problem::clone(err.problem())
                .hint(format!(
                    "restore `{LOCK_PATH}` from git, or delete it to adopt again"
                ))
                .into());
        }
    }
    let spec = match &args.template {
        Some(text) => Spec::parse(text, &std::env::current_dir()?)?,
        None => Spec::builtin(),
    };
    let spinner = p.spinner("reading the template");
    let template = Resolver::new().resolve(&spec)?;
    drop(spinner);

    let mut mode = Mode::default();
    if has_export_lines(&dir.join("env.example")) {
        mode.replace.insert("env.example".to_string());
    }
    for file in &template.files {
        let existing = std::fs::read_to_string(dir.join(&file.path)).unwrap_or_default();
        if file.policy != Policy::Block
            && !existing.is_empty()
            && same_code(&existing, &file.content)
        {
            mode.replace.insert(file.path.clone());
        }
    }
    let skipped = skip_second_backend(dir, &template);
    mode.replace_symlinks = args.replace_symlinks;
    let plan = plan(dir, &skipped, "none", &template, &mode)?;
    let lock = Lock::new(locked_for(&spec, &template, dir), plan.entries.clone());
    let legacy: Vec<&str> = LEGACY
        .iter()
        .copied()
        .filter(|name| dir.join(name).exists())
        .collect();

    p.status(&format!(
        "Adopting {} ({}):",
        spec.display(),
        template.label()
    ));
    for file in plan.files.iter().filter(|f| f.notable()) {
        p.status(&file.line());
    }
    for (path, entry) in &skipped {
        if entry.skip {
            p.status(&format!(
                "  {:<10} {path}  (another .tf file already declares the backend)",
                "skipped"
            ));
        }
    }
    if args.remove_legacy {
        for name in &legacy {
            p.status(&format!("  {:<10} {name}", "remove"));
        }
    }
    for warning in &plan.warnings {
        crate::render_problem(p, warning);
    }

    if args.dry_run {
        print!("{}", plan.diff());
        p.status("Dry run: nothing was changed");
        return Ok(0);
    }
    if !args.allow_dirty {
        let mut paths = plan.touched();
        if args.remove_legacy {
            paths.extend(legacy.iter().map(|s| s.to_string()));
        }
        paths.push(LOCK_PATH.to_string());
        if let Some(dirty) = git::dirty(dir, &paths).filter(|d| !d.is_empty()) {
            return Err(Problem::error(format!(
                "uncommitted changes to files adopt would change: {}",
                dirty.join(", ")
            ))
            .hint("commit or stash them first, or pass --allow-dirty")
            .into());
        }
    }
    apply(dir, &plan.ops, &lock.to_text(), args.replace_symlinks)?;
    if args.remove_legacy {
        for name in &legacy {
            let path = dir.join(name);
            if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
            .with_context(|| format!("cannot remove `{name}`"))?;
        }
    } else if !legacy.is_empty() {
        p.note(&format!(
            "kept {} (tfw does not use them); `tfw adopt --remove-legacy` would have removed them",
            legacy
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    report_dotenv(ctx, p);
    if readme_mentions_make(dir) {
        p.note(
            "`README.md` still describes `make` commands outside tfw's block: edit that part by hand",
        );
    }
    p.status(&format!(
        "Adopted: {} file(s) written; next, run `tfw doctor`, then commit them with `{LOCK_PATH}`",
        plan.changed_files()
    ));
    Ok(0)
}

/// The same apart from comments and whitespace (the old template's `backend.tf`, say):
/// replacing it loses nothing.
fn same_code(a: &str, b: &str) -> bool {
    let code = |text: &str| -> String {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.starts_with('#') && !line.starts_with("//"))
            .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
            .collect()
    };
    code(a) == code(b)
}

fn has_export_lines(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.lines()
            .any(|line| line.trim_start().starts_with("export "))
    })
}

fn readme_mentions_make(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("README.md")).is_ok_and(|text| {
        ["make init", "make plan", "make apply"]
            .iter()
            .any(|m| text.contains(m))
    })
}

/// A template `.tf` file declaring the backend, when another `.tf` file here already does:
/// writing it would give terraform two backends, so the lock records it as skipped.
fn skip_second_backend(dir: &Path, template: &Template) -> BTreeMap<String, Entry> {
    let mut skipped = BTreeMap::new();
    for file in &template.files {
        if !file.path.ends_with(".tf")
            || !file.content.contains("backend \"")
            || dir.join(&file.path).exists()
        {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let declared = entries.flatten().any(|entry| {
            let path = entry.path();
            path.extension().is_some_and(|e| e == "tf")
                && std::fs::read_to_string(&path).is_ok_and(|text| text.contains("backend \""))
        });
        if declared {
            skipped.insert(
                file.path.clone(),
                Entry {
                    policy: file.policy,
                    sha256: file.sha256.clone(),
                    base: Some(file.content.clone()),
                    skip: true,
                    executable: file.executable,
                },
            );
        }
    }
    skipped
}

/// `.env` is never rewritten: say whether it works as it is.
fn report_dotenv(ctx: &Context, p: &Printer) {
    if ctx.settings.dotenv.is_none() {
        p.note("no `.env` here yet: `tfw setup` writes one (`env.example` shows the keys)");
        return;
    }
    let (backend, problems) = ctx.settings.backend();
    match backend {
        Some(backend) => p.note(&format!(
            "`.env` is unchanged and works as it is: state `{}` at {}",
            backend.state_name(),
            backend.address()
        )),
        None => p.warning(&format!(
            "`.env` is unchanged, but tfw finds {} problem(s) in it: run `tfw doctor`",
            problems.iter().filter(|problem| problem.is_error()).count()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_code_ignores_comments_and_layout() {
        let template = "# GitLab state\nterraform {\n  backend \"http\" {}\n}\n";
        assert!(same_code(
            "terraform {\n  backend \"http\" {\n  }\n}\n",
            template
        ));
        assert!(!same_code(
            "terraform {\n  backend \"http\" {}\n  required_version = \"1\"\n}\n",
            template
        ));
    }
}
