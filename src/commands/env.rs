//! `tfw env`: the resolved configuration and where each value came from, secrets masked.
//! Touches no network and, with the binary's version cached, starts no process.

use anyhow::Result;
use serde::Serialize;

use crate::cli::EnvArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::settings::{Origin, TFW_KEYS, Value, embedded_tokens, is_secret_key};

#[derive(Serialize)]
struct Shown {
    value: String,
    origin: Origin,
    from: String,
}

#[derive(Serialize)]
struct Binary {
    path: Option<String>,
    product: Option<String>,
    version: Option<String>,
    reason: Option<String>,
}

#[derive(Serialize)]
struct Report {
    state: Option<Shown>,
    protected: Option<bool>,
    address: Option<String>,
    lock_address: Option<String>,
    username: Option<Shown>,
    password: Option<Shown>,
    binary: Binary,
    ci: bool,
    env_file: String,
    /// How tfw's own calls reach GitLab ("directly", or through which proxy).
    network: Option<String>,
    /// tfw's own `TFW_*` settings, resolved (environment, then `.env`), with defaults.
    settings: Vec<Variable>,
    variables: Vec<Variable>,
    problems: Vec<Problem>,
}

#[derive(Serialize)]
struct Variable {
    key: String,
    value: String,
    from: String,
}

pub(super) fn run(ctx: &Context, args: &EnvArgs) -> Result<ExitCode> {
    let settings = &ctx.settings;
    let (backend, mut problems) = settings.backend();
    problems.extend(settings.git_tracked_problem());
    let shown = |value: &Value, secret: bool| Shown {
        value: if secret {
            "****".into()
        } else {
            value.value.clone()
        },
        origin: value.origin.clone(),
        from: value.origin.describe(&settings.env_file),
    };
    let state = backend
        .as_ref()
        .map(|b| b.state.clone())
        .or_else(|| settings.state());
    let binary = match crate::engine::resolve(settings) {
        Ok(engine) => {
            let info = engine.info().map_err(|p| problems.push(p)).ok();
            Binary {
                path: Some(engine.program.display().to_string()),
                product: info.as_ref().map(|i| i.product.clone()),
                version: info.map(|i| i.version),
                reason: Some(engine.reason),
            }
        }
        Err(problem) => {
            problems.push(problem);
            Binary {
                path: None,
                product: None,
                version: None,
                reason: None,
            }
        }
    };
    let mut tfw_settings = Vec::new();
    for key in TFW_KEYS {
        let (value, from) = match settings.lookup(key) {
            Some(value) => (value.value, value.origin.describe(&settings.env_file)),
            None if *key == "TFW_HTTP_TIMEOUT" => (
                crate::backend::gitlab::net::DEFAULT_TIMEOUT.to_string(),
                "default".to_string(),
            ),
            None => continue,
        };
        tfw_settings.push(Variable {
            key: key.to_string(),
            value,
            from,
        });
    }
    let mut variables = Vec::new();
    if let Some(dotenv) = &settings.dotenv {
        for (key, value, line) in dotenv.iter() {
            if TFW_KEYS.contains(&key) {
                continue;
            }
            let (value, origin) = match settings.env.get(key).filter(|v| !v.is_empty()) {
                Some(shell) => (shell.as_str(), Origin::Env),
                None => (
                    value,
                    Origin::DotEnv {
                        line,
                        file: dotenv.file(key).to_path_buf(),
                    },
                ),
            };
            variables.push(Variable {
                key: key.to_string(),
                value: if is_secret_key(key) || !embedded_tokens(value).is_empty() {
                    "****".into()
                } else {
                    value.to_string()
                },
                from: origin.describe(&settings.env_file),
            });
        }
    }
    let report = Report {
        protected: state
            .as_ref()
            .map(|s| settings.project.is_protected(&s.value)),
        state: state.as_ref().map(|s| shown(s, false)),
        address: backend.as_ref().map(|b| b.address()),
        lock_address: backend.as_ref().map(|b| b.lock_address()),
        username: backend.as_ref().map(|b| shown(&b.username, false)),
        password: backend.as_ref().map(|b| shown(&b.password, true)),
        binary,
        ci: settings.ci,
        env_file: settings.env_file.display().to_string(),
        network: backend
            .as_ref()
            .map(|b| format!("{}, waiting {} s", b.net.route(), b.net.timeout.as_secs())),
        settings: tfw_settings,
        variables,
        problems,
    };
    let failed = report.problems.iter().any(Problem::is_error);
    if args.json {
        ctx.printer.outln(&serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::failed_if(failed));
    }
    let p = &ctx.printer;
    let width = report
        .variables
        .iter()
        .chain(&report.settings)
        .map(|v| v.key.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let row = |name: &str, value: &str, from: &str| {
        let from = if from.is_empty() {
            String::new()
        } else {
            format!("  ({from})")
        };
        p.outln(&format!(
            "{:<width$}  {}{}",
            name,
            value,
            p.paint_stdout(&from, console::Style::new().dim())
        ))
    };
    if let Some(state) = &report.state {
        let mark = if report.protected == Some(true) {
            "  [protected]"
        } else {
            ""
        };
        row("state", &format!("{}{mark}", state.value), &state.from)?;
    }
    if let Some(address) = &report.address {
        let from = match backend.as_ref().map(|b| b.source) {
            Some(crate::backend::Source::Address) => "TF_HTTP_ADDRESS",
            Some(crate::backend::Source::Project) => "GITLAB_URL + GITLAB_PROJECT",
            Some(crate::backend::Source::Ci) => "CI_API_V4_URL + CI_PROJECT_ID",
            None => "",
        };
        row("address", address, from)?;
    }
    if let Some(lock) = &report.lock_address {
        row("lock", &format!("{lock} (POST/DELETE)"), "")?;
    }
    if let Some(user) = &report.username {
        row("username", &user.value, &user.from)?;
    }
    if let Some(password) = &report.password {
        row("password", &password.value, &password.from)?;
    }
    match (&report.binary.path, &report.binary.version) {
        (Some(path), Some(version)) => row(
            "binary",
            &format!(
                "{path} ({} {version})",
                report.binary.product.as_deref().unwrap_or("")
            ),
            report.binary.reason.as_deref().unwrap_or(""),
        )?,
        (Some(path), None) => row(
            "binary",
            path,
            report.binary.reason.as_deref().unwrap_or(""),
        )?,
        _ => row("binary", "(not found)", "")?,
    }
    let mode = if p.no_prompt() == crate::printer::NoPrompt::NonInteractiveFlag {
        "non-interactive (--non-interactive)"
    } else if report.ci {
        "non-interactive (CI)"
    } else if p.interactive() {
        "interactive"
    } else {
        "non-interactive (no terminal)"
    };
    row("mode", mode, "")?;
    if let Some(network) = &report.network {
        row("network", network, "")?;
    }
    for setting in &report.settings {
        row(&setting.key, &setting.value, &setting.from)?;
    }
    if !report.variables.is_empty() {
        p.outln("")?;
        for var in &report.variables {
            row(&var.key, &var.value, &var.from)?;
        }
    }
    for problem in &report.problems {
        p.problem(problem);
    }
    Ok(ExitCode::failed_if(failed))
}
