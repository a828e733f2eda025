//! `init` when the working directory needs it (missing, another state, another binary,
//! persisted backend values), always with `-reconfigure` so no state is offered for
//! migration. `.tfw/init.json` records what the directory was initialised for.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::context::Context;
use crate::engine::Engine;
use crate::runner::{Outcome, Output};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct InitMarker {
    address: Option<String>,
    program: PathBuf,
}

fn marker_path(ctx: &Context) -> PathBuf {
    crate::layout::init_record(ctx.dir())
}

/// Runs `init` when the working directory is not ready for this backend and binary.
pub(crate) fn ensure(ctx: &Context, engine: &Engine, backend: Option<&Backend>) -> Result<()> {
    let wanted = InitMarker {
        address: backend.map(Backend::address),
        program: engine.program.clone(),
    };
    let dot_terraform = ctx.dir().join(".terraform");
    let current: Option<InitMarker> = std::fs::read(marker_path(ctx))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let persisted = persisted_backend_values(ctx);
    let backend_state_missing =
        backend.is_some() && !dot_terraform.join("terraform.tfstate").is_file();
    if dot_terraform.is_dir()
        && current.as_ref() == Some(&wanted)
        && persisted.is_empty()
        && !backend_state_missing
    {
        return Ok(());
    }
    ctx.printer.debug("the working directory needs init");
    let outcome = run(ctx, engine, backend, Vec::new())?;
    if !outcome.success() {
        if let Some(backend) = backend {
            crate::diagnose::report(&ctx.printer, &ctx.settings, backend, &outcome, "init");
        }
        return Err(crate::problem::Exit(outcome.exit_code()).into());
    }
    Ok(())
}

/// `init -input=false -reconfigure`, plus extra arguments; records what it was made for.
/// The caller holds the run lock: re-initialising under another run's feet breaks it.
pub(crate) fn run(
    ctx: &Context,
    engine: &Engine,
    backend: Option<&Backend>,
    extra: Vec<String>,
) -> Result<Outcome> {
    let persisted = persisted_backend_values(ctx);
    if !persisted.is_empty() {
        ctx.printer.warning(&format!(
            ".terraform/terraform.tfstate holds backend values from an earlier `init -backend-config` ({}); they would override .env, so tfw re-initialises without them",
            persisted.join(", ")
        ));
        if persisted.iter().any(|k| k == "password") {
            ctx.printer.warning(
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
    args.extend(ctx.color_args());
    args.extend(extra.into_iter().map(OsString::from));
    let outcome = ctx.terraform(engine, backend, args, Output::Tee)?;
    if outcome.success() {
        if let Some(backend) = backend {
            refuse_foreign_backend(ctx, backend)?;
        }
        let marker = InitMarker {
            address: backend.map(Backend::address),
            program: engine.program.clone(),
        };
        crate::fsutil::write_atomic(
            &marker_path(ctx),
            &serde_json::to_vec_pretty(&marker)?,
            0o644,
        )?;
        if !persisted.is_empty() {
            scrub_persisted_backend(ctx);
        }
    }
    Ok(outcome)
}

/// Names of backend settings persisted in `.terraform/terraform.tfstate`.
fn persisted_backend_values(ctx: &Context) -> Vec<String> {
    let path = ctx.dir().join(".terraform").join("terraform.tfstate");
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

/// After an init, terraform's own record of the backend it configured
/// (`.terraform/terraform.tfstate`): an address, lock or unlock address that is not the
/// state tfw judged (a `backend "http"` block with `address = ...`, a `-backend-config`
/// from `TF_CLI_ARGS_init`) would send every write, or the lock, to another state than the
/// one the guards were checked for. Refused before any command uses it.
fn refuse_foreign_backend(ctx: &Context, backend: &Backend) -> Result<()> {
    let path = ctx.dir().join(".terraform").join("terraform.tfstate");
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(());
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Ok(());
    };
    let config = &value["backend"]["config"];
    let wanted = [
        ("address", backend.address()),
        ("lock_address", backend.lock_address()),
        ("unlock_address", backend.lock_address()),
    ];
    for (key, ours) in wanted {
        let Some(theirs) = config[key].as_str() else {
            continue;
        };
        if theirs != ours {
            // Their value is never shown whole: a hand-written URL may carry a password.
            let named =
                crate::backend::parse_address(theirs.strip_suffix("/lock").unwrap_or(theirs))
                    .filter(|parsed| parsed.base == backend.base)
                    .map_or("an address tfw did not set".to_string(), |parsed| {
                        format!(
                            "state `{}`",
                            crate::backend::decode_segment(&parsed.last_segment)
                        )
                    });
            return Err(crate::problem::Problem::error(format!(
                "terraform was configured with a backend `{key}` for {named}, not for state `{}`: refused, nothing was run on it",
                backend.state_name()
            ))
            .hint("remove `address`, `lock_address` and `unlock_address` from the `backend \"http\"` block (and any `-backend-config` in `TF_CLI_ARGS_init`): tfw fills them in for the state it checks; `--state NAME` or `tfw use NAME` works on another state")
            .into());
        }
    }
    Ok(())
}

/// `init -reconfigure` rewrites the file from the configuration; this makes sure no
/// secret survives even when the configuration itself sets none.
fn scrub_persisted_backend(ctx: &Context) {
    let path = ctx.dir().join(".terraform").join("terraform.tfstate");
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
