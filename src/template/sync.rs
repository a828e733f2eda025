//! One repository against its template: `check_repo` (read-only, checksums only) and
//! `sync_repo` (plan, refuse on uncommitted changes, write). Both return a report instead of
//! printing or failing, so the single command and the fleet present the same findings, and one
//! repository's failure is just its own row.

use std::path::Path;
use std::sync::Arc;

use super::check::{check, check_files};
use super::files::Files;
use super::lock::{Locked, TemplateLock, TemplateLockError};
use super::plan::{Mode, plan};
use super::report::{FileReport, FileStatus, Info, RepoReport, State};
use super::source::{BUILTIN_NAME, Location, Resolver, Spec};
use super::spec::OVERRIDE_VAR;
use super::{Template, git};
use crate::layout::TEMPLATE_LOCK;
use crate::problem::Problem;

pub(crate) struct Options<'a> {
    pub dry_run: bool,
    pub allow_dirty: bool,
    /// `--replace-symlinks`: a symlink at a managed path is replaced, not refused.
    pub replace_symlinks: bool,
    /// `--template`: switch to this source instead of the lock's.
    pub template: Option<&'a Spec>,
}

/// What the lock will say after syncing `dir` to `template` from `spec`.
pub(crate) fn locked_for(spec: &Spec, template: &Template, dir: &Path) -> Locked {
    Locked {
        source: spec.lock_source(dir),
        reference: spec.reference.clone(),
        url: template.url.clone(),
        commit: template.commit.clone(),
        version: template.version.clone(),
    }
}

fn not_managed() -> Problem {
    Problem::error(format!("this repository has no template lock (`{TEMPLATE_LOCK}`)"))
        .hint("`tfw adopt` converts a repository made from the old Makefile template; `tfw new DIR` starts a new one")
}

fn read_lock(dir: &Path) -> Result<TemplateLock, TemplateLockError> {
    if !dir.is_dir() {
        return Err(TemplateLockError::Broken(Problem::error(format!(
            "`{}` is not a directory",
            dir.display()
        ))));
    }
    TemplateLock::read(dir)?.ok_or_else(|| TemplateLockError::Broken(not_managed()))
}

/// The template to compare with, and the version the lock would then record.
fn resolve(
    lock: &TemplateLock,
    dir: &Path,
    over: Option<&Spec>,
    resolver: &Resolver,
) -> Result<(Locked, Arc<Template>), Problem> {
    if let Some(spec) = over {
        let template = resolver.resolve(spec)?;
        refuse_downgrade(lock, spec, &template)?;
        return Ok((locked_for(spec, &template, dir), template));
    }
    let spec = match resolver.override_text() {
        Some(text) => {
            Spec::parse(text, &std::env::current_dir().unwrap_or_default()).map_err(|p| {
                p.hint(format!(
                    "`{OVERRIDE_VAR}` must name a template: a directory, a git URL, `builtin`"
                ))
            })?
        }
        None => Spec::from_lock(&lock.template, dir)?,
    };
    let template = resolver.resolve(&spec)?;
    refuse_downgrade(lock, &spec, &template)?;
    // Found elsewhere (the override, the recorded URL): the lock still records its own source.
    let wanted = Locked {
        commit: template.commit.clone(),
        version: template.version.clone(),
        url: lock.template.url.clone().or_else(|| template.url.clone()),
        ..lock.template.clone()
    };
    Ok((wanted, template))
}

/// A lock written by a newer tfw's own template is never taken back to this tfw's older one.
pub(crate) fn refuse_downgrade(
    lock: &TemplateLock,
    spec: &Spec,
    template: &Template,
) -> Result<(), Problem> {
    let numbers = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    if spec.location != Location::Builtin || lock.template.source != BUILTIN_NAME {
        return Ok(());
    }
    match (numbers(&lock.template.version), numbers(&template.version)) {
        (Some(locked), Some(ours)) if locked > ours => Err(Problem::error(format!(
            "this repository is at tfw's template {}, newer than this tfw's ({})",
            lock.template.version, template.version
        ))
        .at(Path::new(TEMPLATE_LOCK), None)
        .hint("upgrade tfw (a teammate synced with a newer one); nothing was changed")),
        _ => Ok(()),
    }
}

/// `--check`: up to date (0), update available (2), drift (3) or error (1).
pub(crate) fn check_repo(
    dir: &Path,
    shown: &str,
    over: Option<&Spec>,
    resolver: &Resolver,
) -> RepoReport {
    report_check(&Files::Disk(dir), shown, read_lock(dir), |lock| {
        resolve(lock, dir, over, resolver)
    })
}

/// `--check` of `files` (a checkout, or a branch fetched over GitLab's API by `tfw fleet
/// status`) with `lock`, against the template `resolve` gives for it.
pub(crate) fn report_check(
    files: &Files,
    shown: &str,
    lock: Result<TemplateLock, TemplateLockError>,
    resolve: impl FnOnce(&TemplateLock) -> Result<(Locked, Arc<Template>), Problem>,
) -> RepoReport {
    let lock = match lock {
        Ok(lock) => lock,
        Err(TemplateLockError::Broken(problem)) => return RepoReport::failed(shown, problem),
        Err(TemplateLockError::Inconsistent(problem)) => {
            let mut report = RepoReport::new(shown);
            report.files.push(FileReport::new(
                TEMPLATE_LOCK,
                None,
                FileStatus::Drift,
                Some(problem.message.clone()),
            ));
            report.warnings.push(problem);
            report.set_state(State::Drift);
            return report;
        }
    };
    let mut report = RepoReport::new(shown);
    report.locked = Some(Info::from(&lock.template));
    let (wanted, template) = match resolve(&lock) {
        Ok(resolved) => resolved,
        Err(problem) => {
            return RepoReport {
                locked: report.locked,
                ..RepoReport::failed(shown, problem)
            };
        }
    };
    report.template = Some(Info::from(&wanted));
    let (files, state) = check_files(files, &lock, &template, &wanted);
    report.files_changed = files
        .iter()
        .filter(|f| f.status == FileStatus::Update && f.path != TEMPLATE_LOCK)
        .count();
    report.files = files;
    report.set_state(state);
    report
}

/// `tfw sync` (or `--dry-run`) of one repository.
pub(crate) fn sync_repo(
    dir: &Path,
    shown: &str,
    options: &Options,
    resolver: &Resolver,
) -> RepoReport {
    sync_inner(dir, shown, options, resolver)
        .unwrap_or_else(|problem| RepoReport::failed(shown, problem))
}

/// A repository's files planned against a template version, before anything is written:
/// shared by `tfw sync` (which writes the checkout) and `tfw fleet sync` (which commits
/// through GitLab's API).
pub(crate) struct Planned {
    pub plan: super::plan::Plan,
    /// The lock to record: the new one when something changes, else the current one.
    pub lock_text: String,
    /// The lock itself changes (a new template commit that changed a listed file, a new
    /// source or ref).
    pub lock_changes: bool,
    pub report: RepoReport,
}

impl Planned {
    /// Nothing to write: no file op and no lock change.
    pub(crate) fn is_noop(&self) -> bool {
        self.plan.ops.is_empty() && !self.lock_changes
    }
}

/// Plans bringing `files` from `lock` to `template`, whose lock would record `wanted`.
pub(crate) fn prepare(
    files: &Files,
    shown: &str,
    lock: &TemplateLock,
    wanted: Locked,
    template: &Template,
    replace_symlinks: bool,
) -> Result<Planned, Problem> {
    let mut report = RepoReport::new(shown);
    report.locked = Some(Info::from(&lock.template));
    report.template = Some(Info::from(&wanted));
    let old_label = super::label(&lock.template.version, &lock.template.commit);
    let mode = Mode {
        replace_symlinks,
        ..Mode::default()
    };
    let plan = plan(files, &lock.files, &old_label, template, &mode)?;
    // A new commit that changes no listed file is not worth a change to the lock.
    let lock_changes = plan.entries != lock.files
        || wanted.source != lock.template.source
        || wanted.reference != lock.template.reference;
    let lock_text = match lock_changes {
        true => TemplateLock::new(wanted, plan.entries.clone()).to_text(),
        false => lock.to_text(),
    };
    report.files_changed = super::ops::changed_files(&plan.ops);
    report.conflicts = plan.conflicts;
    report.files = plan.files.clone();
    report.warnings = plan.warnings.clone();
    Ok(Planned {
        plan,
        lock_text,
        lock_changes,
        report,
    })
}

fn sync_inner(
    dir: &Path,
    shown: &str,
    options: &Options,
    resolver: &Resolver,
) -> Result<RepoReport, Problem> {
    let lock = read_lock(dir).map_err(|err| err.problem().clone())?;
    let (wanted, template) = resolve(&lock, dir, options.template, resolver)?;
    let Planned {
        plan,
        lock_text,
        lock_changes,
        mut report,
    } = prepare(
        &Files::Disk(dir),
        shown,
        &lock,
        wanted,
        &template,
        options.replace_symlinks,
    )?;
    if options.dry_run {
        report.diff = super::ops::diff(&plan.ops);
        let state = match plan.ops.is_empty() && !lock_changes {
            true => State::UpToDate,
            false => State::UpdateAvailable,
        };
        report.set_preview(state);
        return Ok(report);
    }
    if !plan.ops.is_empty() || lock_changes {
        if !options.allow_dirty {
            let mut paths = super::ops::touched(&plan.ops);
            paths.push(TEMPLATE_LOCK.to_string());
            match git::dirty(dir, &paths) {
                Some(dirty) if !dirty.is_empty() => {
                    return Err(Problem::error(format!(
                        "uncommitted changes to files this sync would change: {}",
                        dirty.join(", ")
                    ))
                    .hint("commit or stash them first (so the sync can be reviewed and undone), or pass --allow-dirty"));
                }
                Some(_) => {}
                None => report.warnings.push(Problem::warning(
                    "not a git work tree: tfw cannot check for uncommitted changes",
                )),
            }
        }
        super::ops::apply(dir, &plan.ops, &lock_text, options.replace_symlinks)?;
    }
    let wrote = !plan.ops.is_empty() || lock_changes;
    let state = after_sync(dir, &template, &plan, &mut report, wrote);
    report.set_state(state);
    Ok(report)
}

/// The state a sync leaves: what `--check` would now say. Never `updated` while drift or
/// conflict markers remain (exit 3 until they are gone).
fn after_sync(
    dir: &Path,
    template: &Template,
    plan: &super::plan::Plan,
    report: &mut RepoReport,
    wrote: bool,
) -> State {
    if plan.conflicts > 0 {
        return State::Conflicts;
    }
    let lock = match TemplateLock::read(dir) {
        Ok(Some(lock)) => lock,
        _ => return State::Error,
    };
    let (files, _) = check(dir, &lock, template, &lock.template);
    let drift: Vec<&FileReport> = files
        .iter()
        .filter(|f| f.status == FileStatus::Drift)
        .collect();
    if !drift.is_empty() {
        for found in drift {
            if let Some(file) = report.files.iter_mut().find(|f| f.path == found.path) {
                file.status = FileStatus::Drift;
                file.detail = found.detail.clone();
            }
        }
        return State::Drift;
    }
    match wrote {
        true => State::Updated,
        false => State::UpToDate,
    }
}
