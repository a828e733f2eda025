//! `tfw setup`: the first-run wizard that writes `.env`, so nobody has to learn the file's
//! format before their first plan. On a terminal it asks the GitLab URL, the project, the
//! username and a token (hidden), proves them against GitLab before writing (a wrong answer
//! is named and asked again), and writes the file with mode 0600. Without a terminal it never
//! asks: it prints the lines to write, or, given `--token-stdin` and flags, writes the file
//! after the same check. An existing `.env` is replaced only with `--force`, and kept.

mod check;
mod envfile;
mod guess;
mod unattended;
mod wizard;

use std::path::Path;

use anyhow::Result;

use self::check::Answers;
use crate::cli::SetupArgs;
use crate::context::Context;
use crate::dotenv::DotEnv;
use crate::exit::ExitCode;
use crate::printer::Printer;
use crate::problem::Problem;
use crate::settings::Settings;

pub(super) fn run(ctx: &Context, args: &SetupArgs) -> Result<ExitCode> {
    setup(ctx, args, true)?;
    ctx.printer.hint("next: `tfw init`, then `tfw plan`");
    Ok(ExitCode::Success)
}

/// For `tfw init` in a directory without `.env`: on a terminal, offers the wizard and returns
/// the context reloaded with the new file. `None`: carry on as before (the missing file is
/// then reported, with `tfw setup` in its hint).
pub(super) fn offer(ctx: &Context) -> Result<Option<Context>> {
    let settings = &ctx.settings;
    if settings.dotenv.is_some()
        || settings.env_file.exists()
        || !ctx.printer.interactive()
        || settings.backend().0.is_some()
    {
        return Ok(None);
    }
    ctx.printer.note(&format!(
        "there is no `{}` here yet",
        shown(settings, &settings.env_file)
    ));
    let go = dialoguer::Confirm::new()
        .with_prompt("Set it up now?")
        .default(true)
        .wait_for_newline(true)
        .interact()
        .map_err(wizard::interrupted)?;
    if !go {
        return Ok(None);
    }
    let args = SetupArgs {
        url: None,
        project: None,
        username: None,
        token_stdin: false,
        force: false,
    };
    // `tfw --state X init` names a state for one command, not the one to write in `.env`.
    setup(ctx, &args, false)?;
    Ok(Some(reloaded(ctx)?))
}

/// `state_flag`: whether `--state NAME` is what `TF_STATE_NAME` should say.
fn setup(ctx: &Context, args: &SetupArgs, state_flag: bool) -> Result<()> {
    let settings = &ctx.settings;
    let path = &settings.env_file;
    let name = shown(settings, path);
    // An empty file holds nothing to lose (`tfw setup > .env` creates one before tfw runs).
    if std::fs::metadata(path).is_ok_and(|meta| meta.len() > 0) && !args.force {
        return Err(Problem::error(format!("`{name}` already exists"))
            .hint(
                "`tfw doctor` checks it; to replace it, run `tfw setup --force` (the current file is kept in `.tfw/env-backups/`)",
            )
            .into());
    }
    // Before any question: a `.env` that is a link, a FIFO or a hard link is refused anyway.
    crate::fsutil::replaceable(path)?;
    let mut defaults = guess::gather(settings);
    if state_flag && settings.state_flag.is_some() {
        defaults.state.clone_from(&settings.state_flag);
    }
    let (answers, checked, printer) = if args.token_stdin {
        unattended::from_flags(ctx, args, &defaults)?
    } else if ctx.printer.interactive() {
        wizard::ask(ctx, args, &defaults)?
    } else {
        return Err(unattended::print_lines(
            &ctx.printer,
            args,
            &defaults,
            &name,
        ));
    };
    let kept = &defaults.kept;
    let text = envfile::render(&answers, kept);
    let backup = envfile::write(path, &text, &crate::layout::env_backups(ctx.dir()))?;

    let state = state_for(settings, &answers);
    let count = checked
        .state_count
        .map(|n| format!(" ({n} state{})", if n == 1 { "" } else { "s" }))
        .unwrap_or_default();
    printer.status(&format!(
        "GitLab accepted the token of `{}` for `{}`{count}",
        answers.username, answers.project
    ));
    match checked.state_exists {
        Some(true) => printer.status(&format!("Your state `{state}` exists")),
        Some(false) => printer.status(&format!(
            "Your state `{state}` does not exist yet: your first apply creates it"
        )),
        None => {}
    }
    if let Some(warning) = &checked.warning {
        printer.problem(warning);
    }
    printer.status(&format!("Wrote `{name}` (mode 600)"));
    if let Some(backup) = backup {
        printer.note(&format!(
            "the previous file is kept as `{}`",
            shown(settings, &backup)
        ));
    }
    if !kept.is_empty() {
        let keys: Vec<String> = kept.iter().map(|(key, _)| format!("`{key}`")).collect();
        printer.note(&format!("kept from the previous file: {}", keys.join(", ")));
    }
    if let Ok(reloaded) = reloaded(ctx) {
        let settings = &reloaded.settings;
        for problem in settings
            .git_tracked_problem()
            .into_iter()
            .chain(settings.git_ignored_problem())
        {
            printer.problem(&problem);
        }
    }
    Ok(())
}

fn state_for(settings: &Settings, answers: &Answers) -> String {
    answers
        .state
        .clone()
        .unwrap_or_else(|| settings.project.personal_state(&answers.username))
}

fn with_secret(printer: &Printer, secret: &str) -> Printer {
    let mut printer = printer.clone();
    printer.add_secret(secret);
    printer
}

/// `path` relative to the working directory when inside it.
fn shown(settings: &Settings, path: &Path) -> String {
    path.strip_prefix(&settings.dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The same settings, with the `.env` just written.
fn reloaded(ctx: &Context) -> Result<Context> {
    let old = &ctx.settings;
    let settings = Settings {
        dir: old.dir.clone(),
        env_file: old.env_file.clone(),
        dotenv: Some(match &old.dotenv {
            Some(shared) => DotEnv::load(&old.env_file)
                .map_err(Problem::from)?
                .with_shared_of(shared),
            None => DotEnv::load(&old.env_file).map_err(Problem::from)?,
        }),
        dotenv_problem: None,
        project: old.project.clone(),
        project_problem: old.project_problem.clone(),
        env: old.env.clone(),
        state_flag: old.state_flag.clone(),
        ci: old.ci,
    };
    let mut printer = ctx.printer.clone();
    for secret in settings.secrets() {
        printer.add_secret(&secret);
    }
    Ok(Context { settings, printer })
}
