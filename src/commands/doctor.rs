//! `tfw doctor`: every check tfw relies on, all problems at once, exit 0 (healthy) or 1.
//! `--offline` skips the GitLab call, so it costs no more than `terraform version`.

use anyhow::Result;
use serde::Serialize;

use crate::backend::gitlab::Client;
use crate::cli::DoctorArgs;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::{Problem, Severity};

#[derive(Serialize)]
struct Check {
    name: &'static str,
    status: Status,
    detail: String,
    problems: Vec<Problem>,
}

#[derive(Serialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warning,
    Error,
    Skipped,
}

fn status_of(problems: &[Problem]) -> Status {
    if problems.iter().any(Problem::is_error) {
        Status::Error
    } else if problems.iter().any(|p| p.severity == Severity::Warning) {
        Status::Warning
    } else {
        Status::Ok
    }
}

pub(super) fn run(ctx: &Context, args: &DoctorArgs) -> Result<ExitCode> {
    let settings = &ctx.settings;
    let mut checks = Vec::new();

    let (backend, problems) = settings.backend();
    let detail = match &backend {
        Some(b) => format!("state `{}` at {}", b.state_name(), b.address()),
        None => format!("{}", settings.env_file.display()),
    };
    checks.push(Check {
        name: "settings",
        status: status_of(&problems),
        detail,
        problems,
    });

    let git: Vec<Problem> = match settings.git_tracked_problem() {
        Some(tracked) => vec![tracked],
        None => settings.git_ignored_problem().into_iter().collect(),
    };
    checks.push(if settings.dotenv.is_none() {
        Check {
            name: "git",
            status: Status::Skipped,
            detail: "no `.env` to check".into(),
            problems: git,
        }
    } else {
        Check {
            name: "git",
            status: status_of(&git),
            detail: "`.env` is not tracked, and ignored if this is a git work tree".into(),
            problems: git,
        }
    });

    let (engine_detail, engine_problems) = match crate::engine::resolve(settings) {
        Ok(engine) => match engine.info() {
            Ok(info) => {
                let pin = engine
                    .check_pin(settings)
                    .err()
                    .into_iter()
                    .collect::<Vec<_>>();
                (
                    format!(
                        "{} {} at {} ({})",
                        info.product,
                        info.version,
                        engine.program.display(),
                        engine.reason
                    ),
                    pin,
                )
            }
            Err(problem) => (engine.program.display().to_string(), vec![problem]),
        },
        Err(problem) => ("no binary".into(), vec![problem]),
    };
    checks.push(Check {
        name: "binary",
        status: status_of(&engine_problems),
        detail: engine_detail,
        problems: engine_problems,
    });

    let loose = crate::modes::loose(ctx.dir(), None);
    let files: Vec<Problem> = loose
        .iter()
        .map(|file| {
            let shown = file.path.strip_prefix(ctx.dir()).unwrap_or(&file.path);
            Problem::warning(format!(
                "`{}` holds {} and is readable by others (mode {:o})",
                shown.display(),
                file.holds,
                file.mode
            ))
            .hint("run `tfw clean --fix-modes`")
        })
        .collect();
    checks.push(Check {
        name: "files",
        status: status_of(&files),
        detail: "saved plans, backups and `errored.tfstate` are the owner's alone".into(),
        problems: files,
    });

    let config = configuration_problems(ctx);
    checks.push(Check {
        name: "configuration",
        status: status_of(&config),
        detail: "`backend \"http\" {}` in the *.tf files".into(),
        problems: config,
    });

    match (&backend, args.offline) {
        (_, true) => checks.push(Check {
            name: "gitlab",
            status: Status::Skipped,
            detail: "--offline".into(),
            problems: vec![],
        }),
        (None, false) => checks.push(Check {
            name: "gitlab",
            status: Status::Skipped,
            detail: "settings have errors".into(),
            problems: vec![],
        }),
        (Some(backend), false) => {
            let spinner = ctx.printer.spinner("contacting GitLab");
            let result = Client::new(backend).get_state(backend.state_name());
            drop(spinner);
            let (detail, problems) = match result {
                Ok(Some(bytes)) => (
                    format!(
                        "token accepted; state `{}` has serial {}",
                        backend.state_name(),
                        crate::backups::serial_of(&bytes).unwrap_or(0)
                    ),
                    vec![],
                ),
                Ok(None) => (
                    format!(
                        "token accepted; state `{}` does not exist yet (created on first apply)",
                        backend.state_name()
                    ),
                    vec![],
                ),
                Err(err) => ("".into(), vec![err.problem("GitLab check failed", backend)]),
            };
            checks.push(Check {
                name: "gitlab",
                status: status_of(&problems),
                detail,
                problems,
            });
            checks.push(protection_check(ctx, backend));
        }
    }

    let errors = checks.iter().filter(|c| c.status == Status::Error).count();
    if args.json {
        let report = serde_json::json!({ "ok": errors == 0, "checks": checks });
        ctx.printer.outln(&serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::failed_if(errors > 0));
    }
    let p = &ctx.printer;
    for check in &checks {
        let mark = match check.status {
            Status::Ok => p.paint("ok  ", console::Style::new().green()),
            Status::Warning => p.paint("warn", console::Style::new().yellow()),
            Status::Error => p.paint("FAIL", console::Style::new().red().bold()),
            Status::Skipped => p.paint("skip", console::Style::new().dim()),
        };
        p.report(&format!("{mark} {:<14} {}", check.name, check.detail));
        for problem in &check.problems {
            p.problem(problem);
        }
    }
    if errors == 0 {
        p.status("All checks passed");
        Ok(ExitCode::Success)
    } else {
        p.status(&format!("{errors} check(s) failed"));
        Ok(ExitCode::Failure)
    }
}

/// GitLab's protection rule of the current state, and whether it refuses writes from here.
fn protection_check(ctx: &Context, backend: &crate::backend::Backend) -> Check {
    use crate::states::protection;
    let found = protection::lookup(backend, backend.state_name());
    let problems: Vec<Problem> = found
        .rule()
        .and_then(|rule| protection::refusal(ctx, backend, rule, None, "apply"))
        .map(|refused| {
            let mut warning = Problem::warning(refused.message);
            warning.hint = refused.hint;
            warning
        })
        .into_iter()
        .collect();
    Check {
        name: "protection",
        status: status_of(&problems),
        detail: format!("`{}`: {}", backend.state_name(), found.describe()),
        problems,
    }
}

fn configuration_problems(ctx: &Context) -> Vec<Problem> {
    let Ok(entries) = std::fs::read_dir(ctx.dir()) else {
        return vec![Problem::error("cannot read the working directory")];
    };
    let mut any_tf = false;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "tf") {
            any_tf = true;
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains("backend \"http\"") {
                return vec![];
            }
            if let Some(pos) = text.find("backend \"") {
                let line = text[..pos].matches('\n').count() + 1;
                return vec![
                    Problem::error("the configuration uses another backend than \"http\"")
                        .at(&path, Some(line))
                        .hint("GitLab-managed state needs `terraform { backend \"http\" {} }`"),
                ];
            }
        }
    }
    if !any_tf {
        return vec![
            Problem::error(format!("no *.tf files in {}", ctx.dir().display()))
                .hint("run tfw in the Terraform root module, or pass -C DIR"),
        ];
    }
    vec![
        Problem::error("no `backend \"http\" {}` block in the *.tf files").hint(
            "add a backend.tf with `terraform { backend \"http\" {} }` (tfw sets everything else)",
        ),
    ]
}
