//! `tfw adopt`: convert a repository made from the old Makefile template (Makefile, scripts/,
//! backend.hcl, an `export`-style env.example, a README section) into one that `tfw sync`
//! keeps up to date, losing nothing: it lists every file it keeps, converts or removes and
//! why first (`--dry-run` shows the diff and stops), carries the old `env.example` keys and
//! the scripts' extra terraform arguments over, never rewrites the developer's `.env`, and
//! with `--remove-legacy` (also as a second step, once the lock exists) removes only the
//! files it recognises as the template's (`template::legacy`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::cli::AdoptArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::layout::TEMPLATE_LOCK;
use crate::printer::Printer;
use crate::problem::Problem;
use crate::template::carry::{self, Carried};
use crate::template::files::Files;
use crate::template::legacy::{self, LegacyFile, Verdict};
use crate::template::lock::{Entry, TemplateLock};
use crate::template::ops::{self, apply, remove_empty_parents};
use crate::template::plan::{Mode, plan};
use crate::template::policy::Policy;
use crate::template::source::{Resolver, Spec};
use crate::template::{Template, git, guard, sync::locked_for};

/// What adopt does with one of the old template's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Remove,
    /// The template's, left until `--remove-legacy`.
    Leave,
    Keep,
}

fn action(file: &LegacyFile, args: &AdoptArgs) -> (Action, String) {
    let later = "`tfw adopt --remove-legacy` removes it";
    match (&file.verdict, args.remove_legacy) {
        (Verdict::Unchanged, true) => (Action::Remove, "the Makefile template's, unchanged".into()),
        (Verdict::Unchanged, false) => (
            Action::Leave,
            format!("the Makefile template's, unchanged: {later}"),
        ),
        (Verdict::Edited(_), true) if args.force => (
            Action::Remove,
            "the Makefile template's, edited here (diff below): removed with `--force`".into(),
        ),
        (Verdict::Edited(_), _) => (
            Action::Keep,
            "the Makefile template's, edited here (diff below): kept; `--remove-legacy --force` removes it".into(),
        ),
        (Verdict::Unknown, _) => (Action::Keep, "not from the Makefile template".into()),
        (Verdict::Ignored, _) => (
            Action::Keep,
            "ignored by git, which could not bring it back".into(),
        ),
        (Verdict::Symlink, _) => (Action::Keep, "a symbolic link".into()),
    }
}

/// Lists the old template's files with what happens to each, and what the scripts passed to
/// terraform; returns the files to remove.
fn list_legacy(
    p: &Printer,
    files: &[LegacyFile],
    carried: &[Carried],
    args: &AdoptArgs,
) -> Vec<String> {
    let mut remove = Vec::new();
    for file in files {
        let (action, why) = action(file, args);
        let word = match action {
            Action::Remove => "remove",
            Action::Leave => "legacy",
            Action::Keep => "keep",
        };
        p.status(&format!("  {word:<10} {}  ({why})", file.path));
        if let Verdict::Edited(diff) = &file.verdict {
            for line in diff.lines() {
                p.status(&format!("      {line}"));
            }
        }
        if action == Action::Remove {
            remove.push(file.path.clone());
        }
    }
    for c in carried {
        let shown = c.args.join(" ");
        match c.to {
            Ok(key) => p.status(&format!(
                "  {:<10} {shown}  (from {}, into tfw.toml [args] {key})",
                "carry", c.script
            )),
            Err(why) => p.warning(&format!(
                "`{}` passes `{shown}` to terraform, not carried over: {why}",
                c.script
            )),
        }
    }
    remove
}

fn remove_files(dir: &Path, paths: &[String]) -> Result<()> {
    for path in paths {
        guard::prepare(dir, path, false)?;
        std::fs::remove_file(dir.join(path)).with_context(|| format!("cannot remove `{path}`"))?;
        remove_empty_parents(dir, path);
    }
    Ok(())
}

fn refuse_dirty(dir: &Path, paths: Vec<String>) -> Result<()> {
    if let Some(dirty) = git::dirty(dir, &paths).filter(|d| !d.is_empty()) {
        return Err(Problem::error(format!(
            "uncommitted changes to files adopt would change: {}",
            dirty.join(", ")
        ))
        .hint("commit or stash them first, or pass `--allow-dirty`")
        .into());
    }
    Ok(())
}

/// `tfw adopt --remove-legacy` once the repository already has its lock: only the old files.
fn remove_legacy_only(ctx: &Context, args: &AdoptArgs) -> Result<ExitCode> {
    let (dir, p) = (ctx.dir(), &ctx.printer);
    let files = legacy::survey(dir, &|paths| git::ignored(dir, paths));
    p.status("Removing what is left of the Makefile template:");
    let remove = list_legacy(p, &files, &[], args);
    if args.dry_run {
        p.status("Dry run: nothing was changed");
        return Ok(ExitCode::Success);
    }
    if !args.allow_dirty {
        refuse_dirty(dir, remove.clone())?;
    }
    remove_files(dir, &remove)?;
    p.status(&format!(
        "Removed {} file(s); review with `git status`, then commit",
        remove.len()
    ));
    Ok(ExitCode::Success)
}

pub(super) fn run(ctx: &Context, args: &AdoptArgs) -> Result<ExitCode> {
    let dir = ctx.dir();
    let p = &ctx.printer;
    match TemplateLock::read(dir) {
        Ok(None) => {}
        Ok(Some(_)) if args.remove_legacy => return remove_legacy_only(ctx, args),
        Ok(Some(_)) => {
            return Err(Problem::error(format!(
                "this repository already uses a template (`{TEMPLATE_LOCK}`)"
            ))
            .hint("`tfw sync` updates it; `tfw adopt --remove-legacy` removes what is left of the Makefile template")
            .into());
        }
        Err(err) => {
            return Err(Problem::clone(err.problem())
                .hint(format!(
                    "restore `{TEMPLATE_LOCK}` from git, or delete it to adopt again"
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

    let legacy_files = legacy::survey(dir, &|paths| git::ignored(dir, paths));
    let carried = carry::extra_args(dir);
    let mut mode = Mode {
        replace_symlinks: args.replace_symlinks,
        ..Mode::default()
    };
    let read = |path: &str| match guard::read(dir, path) {
        Ok(guard::Found::File { bytes, .. }) => String::from_utf8(bytes).ok(),
        _ => None,
    };
    let mut kept_keys = Vec::new();
    if let Some(old) = read("env.example").filter(|text| has_export_lines(text)) {
        mode.replace.insert("env.example".to_string());
        if let Some(new) = template.file("env.example") {
            let (merged, keys) = carry::merge_env_example(&old, &new.content);
            if !keys.is_empty() {
                mode.write_instead.insert("env.example".into(), merged);
            }
            kept_keys = keys;
        }
    }
    if let Some(file) = template.file("tfw.toml") {
        let base = read("tfw.toml").unwrap_or_else(|| file.content.clone());
        match carry::with_args(&base, &carried) {
            Some(text) => {
                mode.write_instead.insert("tfw.toml".into(), text);
            }
            None if carried.iter().any(|c| c.to.is_ok()) => p.warning(
                "`tfw.toml` already has an [args] table: add the arguments listed below to it yourself",
            ),
            None => {}
        }
    }
    for file in &template.files {
        let existing = read(&file.path).unwrap_or_default();
        if file.policy != Policy::Block
            && !existing.is_empty()
            && same_code(&existing, &file.content)
        {
            mode.replace.insert(file.path.clone());
        }
    }
    let mut skipped = skip_second_backend(dir, &template);
    let roots = super::roots_layout::found(dir);
    if !roots.is_empty() {
        skipped.extend(super::roots_layout::no_root_backend(&template));
    }
    let mut plan = plan(&Files::Disk(dir), &skipped, "none", &template, &mode)?;
    let lock = TemplateLock::new(locked_for(&spec, &template, dir), plan.entries.clone());
    for file in &mut plan.files {
        match file.path.as_str() {
            "env.example" if mode.replace.contains("env.example") => {
                file.detail = Some(match kept_keys.is_empty() {
                    true => "the old `export` form, converted to the short one".into(),
                    false => format!(
                        "the old `export` form, converted to the short one; kept: {}",
                        kept_keys.join(", ")
                    ),
                });
            }
            "tfw.toml" if mode.write_instead.contains_key("tfw.toml") => {
                file.detail = Some("with the old scripts' terraform arguments in [args]".into());
            }
            _ => {}
        }
    }

    p.status(&format!(
        "Adopting {} ({}):",
        spec.display(),
        template.label()
    ));
    for file in &plan.files {
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
    let remove = list_legacy(p, &legacy_files, &carried, args);
    if !roots.is_empty() && args.dry_run {
        super::roots_layout::adopted(p, dir, &roots, true)?;
    }
    for warning in &plan.warnings {
        p.problem(warning);
    }

    if args.dry_run {
        p.out(&ops::diff(&plan.ops))?;
        p.status("Dry run: nothing was changed");
        return Ok(ExitCode::Success);
    }
    if !args.allow_dirty {
        let mut paths = ops::touched(&plan.ops);
        paths.extend(remove.iter().cloned());
        paths.push(TEMPLATE_LOCK.to_string());
        refuse_dirty(dir, paths)?;
    }
    apply(dir, &plan.ops, &lock.to_text(), args.replace_symlinks)?;
    remove_files(dir, &remove)?;
    if !roots.is_empty() {
        super::roots_layout::adopted(p, dir, &roots, false)?;
    }
    if !roots.is_empty() {
        super::roots_layout::adopted(p, dir, &roots, false)?;
    }
    if !args.remove_legacy
        && legacy_files
            .iter()
            .any(|f| matches!(f.verdict, Verdict::Unchanged | Verdict::Edited(_)))
    {
        p.note("the Makefile keeps working meanwhile; once everyone uses tfw, `tfw adopt --remove-legacy` removes the template's files listed as `legacy`");
    }
    report_dotenv(ctx, p);
    if readme_mentions_make(dir) {
        p.note(
            "`README.md` still describes `make` commands outside tfw's block: edit that part by hand",
        );
    }
    p.status(&format!(
        "Adopted: {} file(s) written; next, run `tfw doctor`, then commit them with `{TEMPLATE_LOCK}`",
        ops::changed_files(&plan.ops)
    ));
    Ok(ExitCode::Success)
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

fn has_export_lines(text: &str) -> bool {
    text.lines()
        .any(|line| line.trim_start().starts_with("export "))
}

fn readme_mentions_make(dir: &Path) -> bool {
    let Ok(guard::Found::File { bytes, .. }) = guard::read(dir, "README.md") else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    ["make init", "make plan", "make apply"]
        .iter()
        .any(|m| text.contains(m))
}

/// A template `.tf` file declaring the backend, when another `.tf` file here already does:
/// writing it would give terraform two backends, so the lock records it as skipped.
fn skip_second_backend(dir: &Path, template: &Template) -> BTreeMap<String, Entry> {
    let mut skipped = BTreeMap::new();
    for file in &template.files {
        if !file.declares_backend() || dir.join(&file.path).exists() {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let declared = entries.flatten().any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Regular files only: a FIFO named `x.tf` must not hang adopt.
            name.ends_with(".tf")
                && entry.file_type().is_ok_and(|t| t.is_file())
                && std::fs::read_to_string(entry.path())
                    .is_ok_and(|text| text.contains("backend \""))
        });
        if declared {
            skipped.insert(file.path.clone(), Entry::opted_out(file));
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
mod tests;
