//! One repository against its template: `check_repo` (read-only, checksums only) and
//! `sync_repo` (plan, refuse on uncommitted changes, write). Both return a report instead of
//! printing or failing, so the single command and the fleet present the same findings, and one
//! repository's failure is just its own row.

use std::path::Path;

use super::check::check;
use super::lock::{LOCK_PATH, Lock, LockError, Locked};
use super::plan::{Mode, plan};
use super::report::{FileReport, Info, RepoReport, State};
use super::source::{Resolver, Spec};
use super::{Template, git};
use crate::problem::Problem;

pub struct Options<'a> {
    pub dry_run: bool,
    pub allow_dirty: bool,
    /// `--template`: switch to this source instead of the lock's.
    pub template: Option<&'a Spec>,
}

/// What the lock will say after syncing `dir` to `template` from `spec`.
pub fn locked_for(spec: &Spec, template: &Template, dir: &Path) -> Locked {
    Locked {
        source: spec.lock_source(dir),
        reference: spec.reference.clone(),
        commit: template.commit.clone(),
        version: template.version.clone(),
    }
}

fn not_managed() -> Problem {
    Problem::error(format!("this repository has no template lock (`{LOCK_PATH}`)"))
        .hint("`tfw adopt` converts a repository made from the old Makefile template; `tfw new DIR` starts a new one")
}

fn read_lock(dir: &Path) -> Result<Lock, LockError> {
    if !dir.is_dir() {
        return Err(LockError::Broken(Problem::error(format!(
            "`{}` is not a directory",
            dir.display()
        ))));
    }
    Lock::read(dir)?.ok_or_else(|| LockError::Broken(not_managed()))
}

fn resolve(
    lock: &Lock,
    dir: &Path,
    over: Option<&Spec>,
    resolver: &Resolver,
) -> Result<(Spec, std::sync::Arc<Template>), Problem> {
    let spec = match over {
        Some(spec) => spec.clone(),
        None => Spec::from_lock(&lock.template, dir)?,
    };
    let template = resolver.resolve(&spec)?;
    Ok((spec, template))
}

/// `--check`: up to date (0), update available (2), drift (3) or error (1).
pub fn check_repo(dir: &Path, shown: &str, over: Option<&Spec>, resolver: &Resolver) -> RepoReport {
    let lock = match read_lock(dir) {
        Ok(lock) => lock,
        Err(LockError::Broken(problem)) => return RepoReport::failed(shown, problem),
        Err(LockError::Inconsistent(problem)) => {
            let mut report = RepoReport::new(shown);
            report.files.push(FileReport::new(
                LOCK_PATH,
                None,
                "drift",
                Some(problem.message.clone()),
            ));
            report.warnings.push(problem);
            report.set_state(State::Drift);
            return report;
        }
    };
    let mut report = RepoReport::new(shown);
    report.locked = Some(Info::from(&lock.template));
    let (spec, template) = match resolve(&lock, dir, over, resolver) {
        Ok(resolved) => resolved,
        Err(problem) => {
            return RepoReport {
                locked: report.locked,
                ..RepoReport::failed(shown, problem)
            };
        }
    };
    let wanted = locked_for(&spec, &template, dir);
    report.template = Some(Info::from(&wanted));
    let (files, state) = check(dir, &lock, &template, &wanted);
    report.files_changed = files
        .iter()
        .filter(|f| f.status == "update" && f.path != LOCK_PATH)
        .count();
    report.files = files;
    report.set_state(state);
    report
}

/// `tfw sync` (or `--dry-run`) of one repository.
pub fn sync_repo(dir: &Path, shown: &str, options: &Options, resolver: &Resolver) -> RepoReport {
    sync_inner(dir, shown, options, resolver)
        .unwrap_or_else(|problem| RepoReport::failed(shown, problem))
}

fn sync_inner(
    dir: &Path,
    shown: &str,
    options: &Options,
    resolver: &Resolver,
) -> Result<RepoReport, Problem> {
    let lock = read_lock(dir).map_err(|err| err.problem().clone())?;
    let (spec, template) = resolve(&lock, dir, options.template, resolver)?;
    let wanted = locked_for(&spec, &template, dir);
    let mut report = RepoReport::new(shown);
    report.locked = Some(Info::from(&lock.template));
    report.template = Some(Info::from(&wanted));
    let old_label = super::label(&lock.template.version, &lock.template.commit);
    let plan = plan(dir, &lock.files, &old_label, &template, &Mode::default())?;
    let new_lock = Lock::new(wanted, plan.entries.clone());
    let lock_changes = new_lock != lock;
    report.files_changed = plan.changed_files();
    report.conflicts = plan.conflicts;
    report.files = plan.files.clone();
    report.warnings = plan.warnings.clone();
    if plan.ops.is_empty() && !lock_changes {
        report.set_state(State::UpToDate);
        return Ok(report);
    }
    if options.dry_run {
        report.diff = plan.diff();
        report.set_state(State::UpdateAvailable);
        // A preview that worked: the state says what would happen, the exit code is success.
        report.exit_code = 0;
        return Ok(report);
    }
    if !options.allow_dirty {
        let mut paths = plan.touched();
        paths.push(LOCK_PATH.to_string());
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
    super::ops::apply(dir, &plan.ops, &new_lock.to_text())?;
    report.set_state(if plan.conflicts > 0 {
        State::Conflicts
    } else {
        State::Updated
    });
    Ok(report)
}
