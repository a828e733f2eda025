//! The one way to terraform. Every command that runs terraform or changes a state takes the
//! same steps, in this order, through this module: settings (already loaded) → backend →
//! engine → the directory's run lock → init → plan → gate → backup → run. Commands choose
//! which steps they need (`validate` stops after init, `exec` skips plan and gate), never
//! the order, and never write a step again: a guard added here holds for all of them.
//! Commands that change a state without terraform (`state unlock`, `delete`, `restore`,
//! `clean`, `use`) take the same run lock through [`lock`].

pub(crate) mod gate;
mod init;
pub(crate) mod plan;
pub(crate) mod rules;
pub(crate) mod runlock;

use std::ffi::OsString;
use std::path::Path;

use anyhow::Result;

use crate::backend::Backend;
use crate::backend::gitlab::Client;
use crate::context::Context;
use crate::engine::Engine;
use crate::exit::ExitCode;
use crate::plans;
use crate::runner::{Outcome, Output};

pub(crate) use gate::Approval;

/// What the root module must be for the command.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// Its state lives on GitLab (`backend "http"`): plan, apply, destroy.
    Gitlab,
    /// Anything terraform accepts (`exec` may run local-state commands).
    Any,
}

/// A command on one state, from the validated backend to terraform's exit.
pub(crate) struct Session<'a> {
    pub ctx: &'a Context,
    pub backend: Backend,
    pub engine: Engine,
}

/// Takes the run lock of the directory for `state`, for commands that change a state
/// without running terraform.
pub(crate) fn take_run_lock(ctx: &Context, state: Option<&str>) -> Result<()> {
    runlock::acquire(ctx, state)
}

impl<'a> Session<'a> {
    /// backend → engine → run lock.
    pub(crate) fn open(ctx: &'a Context, root: Root) -> Result<Self> {
        let backend = ctx.backend()?;
        Self::with_backend(ctx, backend, root)
    }

    /// The same, for a command that already judged the validated backend (a refusal that
    /// must come before anything runs).
    pub(crate) fn with_backend(ctx: &'a Context, backend: Backend, root: Root) -> Result<Self> {
        if root == Root::Gitlab {
            rules::require_http_backend(ctx.dir())?;
        }
        rules::refuse_moved_data_dir(&ctx.settings)?;
        let engine = ctx.engine()?;
        runlock::acquire(ctx, Some(backend.state_name()))?;
        Ok(Self {
            ctx,
            backend,
            engine,
        })
    }

    pub(crate) fn state(&self) -> &str {
        self.backend.state_name()
    }

    pub(crate) fn init_if_needed(&self) -> Result<()> {
        init::ensure(self.ctx, &self.engine, Some(&self.backend))
    }

    /// `tfw init`: always, with the person's extra arguments.
    pub(crate) fn init(&self, extra: Vec<String>) -> Result<Outcome> {
        init::run(self.ctx, &self.engine, Some(&self.backend), extra)
    }

    pub(crate) fn terraform(&self, args: Vec<OsString>, output: Output) -> Result<Outcome> {
        self.ctx
            .terraform(&self.engine, Some(&self.backend), args, output)
    }

    pub(crate) fn plan(
        &self,
        extra: &[String],
        destroy: bool,
        no_lock: bool,
    ) -> Result<plan::Made> {
        plan::make(self, extra, destroy, no_lock)
    }

    /// `show -json PLAN`, parsed; terraform's outcome when it could not show it (terraform
    /// 1.0 reads the remote state to show a plan, and fails on a stale one; 1.11 reads the
    /// file alone, and `apply` refuses a stale plan itself).
    pub(crate) fn show_json(&self, plan: &Path) -> Result<serde_json::Value, Option<Outcome>> {
        let args: Vec<OsString> = vec!["show".into(), "-json".into(), plan.into()];
        let outcome = self
            .terraform(args, Output::CaptureStdout)
            .map_err(|_| None)?;
        if !outcome.success() {
            return Err(Some(outcome));
        }
        serde_json::from_str(&outcome.stdout).map_err(|_| None)
    }

    /// gate → backup → run: applies the state's saved plan file once the gate let it pass.
    /// A refused or declined plan is withdrawn (it must not linger to be applied later by a
    /// command that asks less); an applied one is consumed.
    pub(crate) fn apply(&self, approval: &Approval, action: &str) -> Result<ExitCode> {
        let files = plans::files_for(self.ctx.dir(), self.state());
        self.init_if_needed()?;
        // Ctrl-C at the question declines too: the plan goes as it would for "no".
        let discard =
            crate::screen::discard_on_interrupt(vec![files.plan.clone(), files.meta.clone()]);
        let judged = gate::check(self, &files.plan, approval, action);
        drop(discard);
        let changes = match judged {
            Ok(changes) => changes,
            Err((err, refused)) => {
                if refused.is_some() {
                    files.remove();
                }
                return Err(err);
            }
        };
        self.backup()?;
        let mut args: Vec<OsString> = vec!["apply".into(), "-input=false".into()];
        args.extend(self.ctx.color_args());
        // tfw.toml's `[args] apply`: options for applying a saved plan (-parallelism=...).
        let team = &self.ctx.settings.project.file.args.apply;
        // Checked again here, at the one place a plan is applied, whatever command led here.
        let what = format!("`tfw {action}`");
        rules::refuse_unlocked_write(&self.ctx.settings, &self.backend, &["apply"], team, &what)?;
        args.extend(team.iter().map(OsString::from));
        // Again now, after the backup: the file terraform reads must still be the one judged.
        if let Err(err) = gate::still_judged(&files.plan, &changes, approval, self.state()) {
            files.remove();
            return Err(err);
        }
        args.push(files.plan.as_os_str().to_owned());
        let outcome = self.terraform(args, Output::Tee)?;
        files.remove();
        self.after(&outcome, action);
        Ok(outcome.exit_code())
    }

    /// Explains a failed or interrupted run in GitLab's terms.
    pub(crate) fn after(&self, outcome: &Outcome, action: &str) {
        if !outcome.success() && !outcome.interrupted {
            crate::diagnose::report(
                &self.ctx.printer,
                &self.ctx.settings,
                &self.backend,
                outcome,
                action,
            );
        }
        crate::stopped::report(
            &self.ctx.printer,
            &self.ctx.settings,
            &self.backend,
            outcome,
            action,
        );
    }

    /// Saves the current remote state locally before it changes. No backup, no change.
    pub(crate) fn backup(&self) -> Result<()> {
        let (ctx, backend) = (self.ctx, &self.backend);
        let spinner = ctx.printer.spinner("backing up the remote state");
        let result = Client::new(backend).get_state(backend.state_name());
        drop(spinner);
        match result {
            Ok(Some(bytes)) => {
                let path = crate::backups::save(
                    ctx.dir(),
                    backend.state_name(),
                    &bytes,
                    ctx.settings.project.backups_keep(),
                )?;
                let shown = path.strip_prefix(ctx.dir()).unwrap_or(&path);
                ctx.printer.status(&format!(
                    "Backed up the current state to `{}`",
                    shown.display()
                ));
                Ok(())
            }
            Ok(None) => {
                ctx.printer.debug("no remote state yet: nothing to back up");
                Ok(())
            }
            Err(err) => Err(err
                .problem(
                    "cannot back up the remote state before changing it",
                    backend,
                )
                .into()),
        }
    }
}

/// `validate` and `graph`: they need no credentials, so the backend is used when it is
/// valid and left out (`init -backend=false`) when it is not.
pub(crate) struct Local<'a> {
    pub ctx: &'a Context,
    pub backend: Option<Backend>,
    pub engine: Engine,
}

impl<'a> Local<'a> {
    /// engine → backend if valid → run lock.
    pub(crate) fn open(ctx: &'a Context) -> Result<Self> {
        rules::refuse_moved_data_dir(&ctx.settings)?;
        let engine = ctx.engine()?;
        let (backend, _) = ctx.settings.backend();
        runlock::acquire(ctx, backend.as_ref().map(Backend::state_name))?;
        Ok(Self {
            ctx,
            backend,
            engine,
        })
    }

    /// With a backend, init when needed; without one, `init -backend=false` when the
    /// directory was never initialised. `Some(code)` when init failed.
    pub(crate) fn init_if_needed(&self, only_when_missing: bool) -> Result<Option<ExitCode>> {
        let missing = !self.ctx.dir().join(".terraform").is_dir();
        if only_when_missing && !missing {
            return Ok(None);
        }
        match &self.backend {
            Some(backend) if !only_when_missing => {
                init::ensure(self.ctx, &self.engine, Some(backend))?;
                Ok(None)
            }
            backend if missing => {
                let outcome = init::run(self.ctx, &self.engine, backend.as_ref(), Vec::new())?;
                Ok((!outcome.success()).then(|| outcome.exit_code()))
            }
            _ => Ok(None),
        }
    }

    pub(crate) fn terraform(&self, args: Vec<OsString>, output: Output) -> Result<Outcome> {
        self.ctx
            .terraform(&self.engine, self.backend.as_ref(), args, output)
    }
}
