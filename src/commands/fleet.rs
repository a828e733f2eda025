//! `tfw fleet status`: the template across a GitLab group (`crate::fleet`), as a table (or
//! `--json`) and the worst project's exit code, like `tfw sync --check --repos`: 0 up to date
//! or not enrolled, 2 an update available, 3 drift or conflict markers, 1 a project that
//! could not be read. The group itself not being readable is the command's error.

use anyhow::Result;

use crate::cli::{FleetCommand, FleetStatusArgs};
use crate::context::Context;
use crate::exit::ExitCode;
use crate::fleet::api::{Api, Failure};
use crate::fleet::status::{ProjectStatus, Standing};
use crate::fleet::{READ_SCOPE, projects, status};
use crate::problem::{Kind, Problem};
use crate::states::listing::columns;
use crate::template::report::worst;
use crate::template::source::Spec;

pub(super) fn run(ctx: &Context, command: &FleetCommand) -> Result<ExitCode> {
    match command {
        FleetCommand::Status(args) => run_status(ctx, args),
        FleetCommand::Sync(args) => super::fleet_sync::run(ctx, args),
    }
}

/// The API client of the settings' GitLab and token. CI's job token reaches neither other
/// projects' files nor merge requests (GitLab opens only a few routes to it), so it is
/// refused before anything is asked. For the same reason the settings' warning that
/// `TF_HTTP_PASSWORD` replaces the job token is dropped here: for fleet that is the only way.
pub(crate) fn api(ctx: &Context, scope: &str) -> Result<Api> {
    let backend = ctx.backend_without(&[Kind::PasswordOverJobToken])?;
    if backend.uses_job_token() {
        return Err(Problem::error(
            "`tfw fleet` cannot use CI's job token: GitLab does not open other projects' files and merge requests to it",
        )
        .hint(format!(
            "set `TF_HTTP_PASSWORD` to a group access token with the `{scope}` scope (a masked CI/CD variable)"
        ))
        .into());
    }
    Api::new(&backend.api_url, &backend.password.value, &backend.net)
        .map_err(|failure| failure.problem("reach GitLab", scope).into())
}

/// `--template`: the template the locks should follow, at that ref (`TFW_TEMPLATE` only says
/// where to read it, as for `tfw sync`).
fn template(args: &FleetStatusArgs) -> Result<Option<Spec>> {
    let Some(text) = &args.template else {
        return Ok(None);
    };
    let cwd = std::env::current_dir()?;
    Ok(Some(Spec::parse(text, &cwd)?))
}

/// The group listing failed: the whole command did.
pub(crate) fn group_problem(group: &str, failure: &Failure) -> Problem {
    match failure {
        Failure::Status { code: 404, .. } => Problem::error(format!(
            "GitLab shows no group `{group}` to this token (404)"
        ))
        .hint("give the group's full path (`parent/child`) or numeric id, and check that the token's user is a member of it or of one of its projects"),
        _ => failure.problem(&format!("list the projects of group `{group}`"), READ_SCOPE),
    }
}

fn run_status(ctx: &Context, args: &FleetStatusArgs) -> Result<ExitCode> {
    let template = template(args)?;
    let api = api(ctx, READ_SCOPE)?;
    let spinner = ctx.printer.spinner(&format!(
        "asking GitLab for the projects of `{}`",
        args.group
    ));
    let listed = projects::of_group(&api, &args.group);
    drop(spinner);
    let listed = listed.map_err(|failure| group_problem(&args.group, &failure))?;
    let progress = ctx.printer.interactive() && !ctx.printer.quiet();
    let resolver = ctx.resolver();
    let statuses = status::run(
        &api,
        &listed,
        template.as_ref(),
        &resolver,
        args.jobs,
        progress,
    );
    let code = worst(statuses.iter().map(|s| s.exit_code));
    if args.json {
        let counts: serde_json::Map<String, serde_json::Value> = Standing::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), count(&statuses, *s).into()))
            .collect();
        let out = serde_json::json!({
            "group": args.group,
            "exit_code": code,
            "counts": counts,
            "projects": statuses,
        });
        ctx.printer.json(&out)?;
        return Ok(code);
    }
    print_table(ctx, &statuses)?;
    for status in &statuses {
        if let Some(problem) = &status.error {
            ctx.printer
                .error(&format!("{}: {}", status.project, problem.message));
            if let Some(hint) = &problem.hint {
                ctx.printer.hint(hint);
            }
        }
        if ctx.printer.verbose() > 0 {
            for warning in &status.warnings {
                ctx.printer
                    .warning(&format!("{}: {}", status.project, warning.message));
            }
        }
    }
    ctx.printer.status(&summary(&args.group, &statuses));
    Ok(code)
}

fn count(statuses: &[ProjectStatus], state: Standing) -> usize {
    statuses.iter().filter(|s| s.state == state).count()
}

/// `12 projects in `platform`: 8 up-to-date, 2 update-available, 1 not-enrolled, 1 error`.
fn summary(group: &str, statuses: &[ProjectStatus]) -> String {
    let counts: Vec<String> = Standing::ALL
        .iter()
        .filter_map(|state| {
            let n = count(statuses, *state);
            (n > 0).then(|| format!("{n} {}", state.as_str()))
        })
        .collect();
    let noun = if statuses.len() == 1 {
        "project"
    } else {
        "projects"
    };
    match counts.is_empty() {
        true => format!("no project in `{group}`"),
        false => format!(
            "{} {noun} in `{group}`: {}",
            statuses.len(),
            counts.join(", ")
        ),
    }
}

fn print_table(ctx: &Context, statuses: &[ProjectStatus]) -> Result<()> {
    if statuses.is_empty() {
        return Ok(());
    }
    let header = ["PROJECT", "STATE", "VERSION", "MERGE REQUEST", "DETAIL"].map(String::from);
    let rows = statuses.iter().map(|s| {
        let version = s.locked.as_ref().map_or("-".to_string(), |info| {
            crate::template::label(&info.version, &info.commit)
                .trim_start_matches("template ")
                .to_string()
        });
        let mr = s.merge_request.as_ref().map_or("-".to_string(), |mr| {
            let mut text = format!("!{}", mr.iid);
            if mr.draft {
                text.push_str(" draft");
            }
            if mr.has_conflicts {
                text.push_str(" conflicts");
            }
            text
        });
        vec![
            s.project.clone(),
            s.state.as_str().to_string(),
            version,
            mr,
            s.detail(),
        ]
    });
    let lines = columns(std::iter::once(header.to_vec()).chain(rows).collect(), &[]);
    ctx.printer
        .lines(lines.iter().map(|line| line.trim_end()))?;
    Ok(())
}
