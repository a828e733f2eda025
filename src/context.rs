//! What every command shares: the resolved settings and printer, the validated backend
//! (errors stop the command before terraform starts), the chosen engine, and the one way a
//! terraform process is started. The order commands use them in is `session`'s.

use std::ffi::OsString;
use std::path::Path;

use anyhow::Result;

use crate::backend::Backend;
use crate::engine::Engine;
use crate::printer::Printer;
use crate::problem::{Kind, Problem, Problems};
use crate::runner::{Outcome, Output, Run};
use crate::settings::Settings;

pub(crate) struct Context {
    pub settings: Settings,
    pub printer: Printer,
}

impl Context {
    pub(crate) fn dir(&self) -> &Path {
        &self.settings.dir
    }

    /// The validated backend. Warnings are printed; any error stops here with all of them.
    pub(crate) fn backend(&self) -> Result<Backend> {
        self.backend_without(&[])
    }

    /// `backend`, without the problems of the kinds a command knows not to apply to it.
    pub(crate) fn backend_without(&self, moot: &[Kind]) -> Result<Backend> {
        let (backend, mut problems) = self.settings.backend();
        problems.retain(|p| !moot.contains(&p.kind));
        problems.extend(self.settings.git_tracked_problem());
        self.report(problems)?;
        backend.ok_or_else(|| Problems(Vec::new()).into())
    }

    /// `tfw WORDS` as the person should type it to act on this command's state: with
    /// `--state NAME` when that flag chose it (a bare `tfw plan` would plan another state).
    /// The template resolver, with `TFW_TEMPLATE` as every setting is read (the environment,
    /// then `.env`) and shown by `tfw env`: `tfw sync`, `sync --repos` and `tfw fleet`.
    pub(crate) fn resolver(&self) -> crate::template::source::Resolver {
        let over = self
            .settings
            .lookup(crate::template::spec::OVERRIDE_VAR)
            .map(|v| v.value);
        crate::template::source::Resolver::with_override(over)
    }

    pub(crate) fn tfw(&self, words: &str) -> String {
        self.settings.tfw(words)
    }

    /// Prints warnings; returns the errors as one failure.
    pub(crate) fn report(&self, problems: Vec<Problem>) -> Result<()> {
        let (errors, warnings): (Vec<_>, Vec<_>) =
            problems.into_iter().partition(Problem::is_error);
        for warning in &warnings {
            self.printer.problem(warning);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Problems(errors).into())
        }
    }

    pub(crate) fn engine(&self) -> Result<Engine> {
        let engine = crate::engine::resolve(&self.settings)?;
        engine.check_pin(&self.settings)?;
        self.printer.debug(&format!(
            "using {} ({})",
            engine.program.display(),
            engine.reason
        ));
        Ok(engine)
    }

    /// `-no-color` unless terraform's output stream (stdout, where its plan goes) gets colour:
    /// `tfw plan | tee plan.txt` must not fill the file with escape sequences. What terraform
    /// writes to stderr is stripped of colour by the runner when stderr gets none.
    pub(crate) fn color_args(&self) -> Vec<OsString> {
        if self.printer.color_stdout() {
            Vec::new()
        } else {
            vec!["-no-color".into()]
        }
    }

    pub(crate) fn terraform(
        &self,
        engine: &Engine,
        backend: Option<&Backend>,
        args: Vec<OsString>,
        output: Output,
    ) -> Result<Outcome> {
        let mut env = self.settings.child_env(backend);
        // Nobody can answer terraform's own questions either (CI is covered by child_env):
        // without a terminal it must fail rather than wait for input that never comes.
        if !self.printer.interactive() {
            env.insert("TF_INPUT".into(), "0".into());
            env.insert("TF_IN_AUTOMATION".into(), "1".into());
        }
        Run {
            program: &engine.program,
            args,
            dir: &self.settings.dir,
            env: &env,
            output,
            tfw: self.tfw("").trim_end().to_string(),
            started: crate::session::runlock::terraform_started,
        }
        .execute(&self.printer)
    }
}
