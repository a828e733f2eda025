//! What every terraform-running command shares: the resolved settings and printer, the
//! validated backend (errors stop the command before terraform starts), the chosen engine,
//! and `init` done when the directory needs it (missing, another state, another binary,
//! persisted backend values), always with `-reconfigure` so no state is offered for migration.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::engine::Engine;
use crate::printer::Printer;
use crate::problem::{Problem, Problems};
use crate::runner::{Outcome, Output, Run};
use crate::settings::Settings;

pub struct Context {
    pub settings: Settings,
    pub printer: Printer,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct InitMarker {
    address: Option<String>,
    program: PathBuf,
}

impl Context {
    pub fn dir(&self) -> &Path {
        &self.settings.dir
    }

    pub fn tfw_dir(&self) -> PathBuf {
        self.settings.dir.join(".tfw")
    }

    /// The validated backend. Warnings are printed; any error stops here with all of them.
    pub fn backend(&self) -> Result<Backend> {
        let (backend, mut problems) = self.settings.backend();
        problems.extend(self.settings.git_tracked_problem());
        self.report(problems)?;
        backend.ok_or_else(|| Problems(Vec::new()).into())
    }

    /// Prints warnings; returns the errors as one failure.
    pub fn report(&self, problems: Vec<Problem>) -> Result<()> {
        let (errors, warnings): (Vec<_>, Vec<_>) =
            problems.into_iter().partition(Problem::is_error);
        for warning in &warnings {
            crate::render_problem(&self.printer, warning);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Problems(errors).into())
        }
    }

    pub fn engine(&self) -> Result<Engine> {
        let engine = crate::engine::resolve(&self.settings)?;
        engine.check_pin(&self.settings)?;
        self.printer.debug(&format!(
            "using {} ({})",
            engine.program.display(),
            engine.reason
        ));
        Ok(engine)
    }

    /// `-no-color` when tfw itself shows no colour (CI, pipes, NO_COLOR).
    pub fn color_args(&self) -> Vec<OsString> {
        if self.printer.color() {
            Vec::new()
        } else {
            vec!["-no-color".into()]
        }
    }

    pub fn terraform(
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
        }
        .execute(&self.printer)
    }

    fn marker_path(&self) -> PathBuf {
        self.tfw_dir().join("init.json")
    }

    /// Runs `init` when the working directory is not ready for this backend and binary.
    pub fn ensure_init(&self, engine: &Engine, backend: Option<&Backend>) -> Result<()> {
        let wanted = InitMarker {
            address: backend.map(Backend::address),
            program: engine.program.clone(),
        };
        let dot_terraform = self.dir().join(".terraform");
        let current: Option<InitMarker> = std::fs::read(self.marker_path())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let persisted = self.persisted_backend_values();
        let backend_state_missing =
            backend.is_some() && !dot_terraform.join("terraform.tfstate").is_file();
        if dot_terraform.is_dir()
            && current.as_ref() == Some(&wanted)
            && persisted.is_empty()
            && !backend_state_missing
        {
            return Ok(());
        }
        self.printer.debug("the working directory needs init");
        let outcome = self.init(engine, backend, Vec::new())?;
        if !outcome.success() {
            if let Some(backend) = backend {
                crate::diagnose::report(self, backend, &outcome, "init");
            }
            return Err(crate::problem::Exit(outcome.exit_code()).into());
        }
        Ok(())
    }

    /// `init -input=false -reconfigure`, plus extra arguments; records what it was made for.
    pub fn init(
        &self,
        engine: &Engine,
        backend: Option<&Backend>,
        extra: Vec<String>,
    ) -> Result<Outcome> {
        // Re-initialising under another run's feet breaks it: one init per directory at a time.
        self.lock_workdir()?;
        let persisted = self.persisted_backend_values();
        if !persisted.is_empty() {
            self.printer.warning(&format!(
                ".terraform/terraform.tfstate holds backend values from an earlier `init -backend-config` ({}); they would override .env, so tfw re-initialises without them",
                persisted.join(", ")
            ));
            if persisted.iter().any(|k| k == "password") {
                self.printer.warning(
                    "a password was stored on disk in .terraform/terraform.tfstate; it is removed now, but rotate that token",
                );
            }
        }
        let mut args: Vec<OsString> = vec!["init".into(), "-input=false".into()];
        if backend.is_some() {
            args.push("-reconfigure".into());
        } else {
            args.push("-backend=false".into());
        }
        args.extend(self.color_args());
        args.extend(extra.into_iter().map(OsString::from));
        let outcome = self.terraform(engine, backend, args, Output::Tee)?;
        if outcome.success() {
            let marker = InitMarker {
                address: backend.map(Backend::address),
                program: engine.program.clone(),
            };
            crate::fsutil::write_atomic(
                &self.marker_path(),
                &serde_json::to_vec_pretty(&marker)?,
                0o644,
            )?;
            if !persisted.is_empty() {
                self.scrub_persisted_backend();
            }
        }
        Ok(outcome)
    }

    /// Names of backend settings persisted in `.terraform/terraform.tfstate`.
    fn persisted_backend_values(&self) -> Vec<String> {
        let path = self.dir().join(".terraform").join("terraform.tfstate");
        let Ok(bytes) = std::fs::read(path) else {
            return Vec::new();
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return Vec::new();
        };
        let Some(config) = value["backend"]["config"].as_object() else {
            return Vec::new();
        };
        config
            .iter()
            .filter(|(_, v)| !v.is_null())
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "retry_max"
                        | "retry_wait_min"
                        | "retry_wait_max"
                        | "skip_cert_verification"
                        | "update_method"
                )
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// `init -reconfigure` rewrites the file from the configuration; this makes sure no
    /// secret survives even when the configuration itself sets none.
    fn scrub_persisted_backend(&self) {
        let path = self.dir().join(".terraform").join("terraform.tfstate");
        let Ok(bytes) = std::fs::read(&path) else {
            return;
        };
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return;
        };
        if let Some(config) = value["backend"]["config"].as_object_mut() {
            for key in [
                "password",
                "username",
                "address",
                "lock_address",
                "unlock_address",
            ] {
                if let Some(v) = config.get_mut(key) {
                    *v = serde_json::Value::Null;
                }
            }
        }
        if let Ok(bytes) = serde_json::to_vec_pretty(&value) {
            let _ = crate::fsutil::write_atomic(&path, &bytes, 0o644);
        }
    }

    pub fn forget_init(&self) {
        let _ = std::fs::remove_file(self.marker_path());
    }
}

/// The working directory's lock, held from the first call until tfw exits (the kernel drops
/// it even on kill -9).
static WORKDIR_LOCK: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();

impl Context {
    /// One tfw at a time per working directory. Two runs in one checkout share `.terraform/`
    /// and `.tfw/plans/`: one re-initialised under the other, or withdrew the plan the other
    /// was about to apply, and both failed (found by tests/concurrency.rs). GitLab's lock only
    /// orders runs on a state; this orders them in a directory. Taken before any file is
    /// touched; a directory tfw cannot write to is left unguarded rather than unusable.
    pub fn lock_workdir(&self) -> Result<()> {
        use std::io::{Read, Seek, Write};
        use std::os::fd::AsRawFd;
        if WORKDIR_LOCK.get().is_some() {
            return Ok(());
        }
        let path = self.tfw_dir().join("run.lock");
        let opened = std::fs::create_dir_all(self.tfw_dir()).and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
        });
        let mut file = match opened {
            Ok(file) => file,
            Err(err) => {
                self.printer
                    .debug(&format!("no lock on the working directory ({err})"));
                return Ok(());
            }
        };
        // SAFETY: flock(2) on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            // The holder writes who it is right after taking the lock: give it a moment.
            let mut holder = String::new();
            for _ in 0..50 {
                holder.clear();
                let _ = file
                    .rewind()
                    .and_then(|()| file.read_to_string(&mut holder));
                if !holder.trim().is_empty() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                "another tfw".to_string()
            } else {
                format!("`{holder}`")
            };
            return Err(Problem::error(format!(
                "{holder} is running in this directory; nothing was changed"
            ))
            .hint("wait for it to finish: tfw runs one command at a time per directory (they share `.terraform/` and the saved plans)")
            .into());
        }
        let args: Vec<String> = std::env::args().skip(1).collect();
        let note = format!("tfw {} (pid {})\n", args.join(" "), std::process::id());
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(self.printer.mask(&note).as_bytes()));
        let _ = WORKDIR_LOCK.set(file);
        Ok(())
    }
}

/// Needed-but-missing confirmation without a terminal: an error naming the flag.
pub fn needs_flag(what: &str, flag: &str) -> anyhow::Error {
    Problem::error(format!(
        "{what} needs a confirmation, and there is no terminal to ask"
    ))
    .hint(format!("pass `{flag}` to confirm on the command line"))
    .into()
}
