//! `tfw new DIR`: a new repository from the template (tfw's own, or `--template SRC[@REF]`),
//! with the lock that lets `tfw sync` keep it up to date from then on.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};

use crate::cli::NewArgs;
use crate::exit::ExitCode;
use crate::printer::Printer;
use crate::problem::Problem;
use crate::template::files::Files;
use crate::template::lock::TemplateLock;
use crate::template::ops::{Op, apply};
use crate::template::plan::{Mode, plan};
use crate::template::source::{Resolver, Spec};
use crate::template::{git, sync::locked_for};

pub(super) fn run(args: &NewArgs, printer: &Printer) -> Result<ExitCode> {
    let roots = super::roots_layout::names(&args.roots)?;
    let cwd = std::env::current_dir()?;
    let dir = cwd.join(&args.dir);
    let shown = args.dir.display().to_string();
    let mut has_git = false;
    // `tfw new infra` with `infra -> ~/elsewhere`: the files would land where the link points.
    if let Ok(target) = std::fs::read_link(&dir) {
        return Err(Problem::error(format!(
            "`{shown}` is a symbolic link to `{}`: tfw writes nothing through a link",
            target.display()
        ))
        .hint(format!(
            "name the folder itself (`tfw new {}`), or remove the link",
            target.display()
        ))
        .into());
    }
    if dir.exists() {
        if !dir.is_dir() {
            return Err(Problem::error(format!("`{shown}` exists and is not a directory")).into());
        }
        // An empty clone (only `.git`) is a fine place to start.
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry.file_name() == ".git" {
                has_git = true;
            } else {
                return Err(Problem::error(format!("`{shown}` already exists and is not empty"))
                    .hint("`tfw adopt` converts an existing repository; `tfw sync` updates one made by `tfw new`")
                    .into());
            }
        }
    }
    let spec = match &args.template {
        Some(text) => Spec::parse(text, &cwd)?,
        None => Spec::builtin(),
    };
    let spinner = printer.spinner("reading the template");
    let template = Resolver::new().resolve(&spec)?;
    drop(spinner);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{shown}`"))?;
    if !has_git && let Err(reason) = git::init(&dir) {
        printer.warning(&format!(
            "`git init` failed ({reason}); the files are written all the same"
        ));
    }
    // One folder per environment: each root declares its backend, the top does not.
    let skipped = match roots.is_empty() {
        true => BTreeMap::new(),
        false => super::roots_layout::no_root_backend(&template),
    };
    let plan = plan(
        &Files::Disk(&dir),
        &skipped,
        "none",
        &template,
        &Mode::default(),
    )?;
    let lock = TemplateLock::new(locked_for(&spec, &template, &dir), plan.entries.clone());
    apply(&dir, &plan.ops, &lock.to_text(), false)?;
    for op in &plan.ops {
        if let Op::Write { path, .. } = op {
            printer.status(&format!("  created    {path}"));
        }
    }
    // tfw.toml and .gitlab-ci.yml, just listed as created, are edited for the roots too.
    let (created, _edited) = super::roots_layout::scaffold(&dir, &roots)?;
    for path in created {
        printer.status(&format!("  created    {path}"));
    }
    printer.status(&format!(
        "Created `{shown}` from {} ({})",
        spec.display(),
        template.label()
    ));
    printer.status(&format!(
        "Next:\n  cd {shown}\n  tfw setup                 write your .env (or copy env.example to .env)\n  tfw doctor                check it\n  git add -A && git commit  .tfw/template.lock included: `tfw sync` updates from it"
    ));
    if !roots.is_empty() {
        printer.status("  tfw roots                 each folder of envs/ is a root, on the state named after it\n  tfw --all plan            every root at once (docs/roots.md)");
    }
    Ok(ExitCode::Success)
}
