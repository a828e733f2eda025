//! `tfw setup`: the first-run wizard that writes `.env`, so nobody has to learn the file's
//! format before their first plan. On a terminal it asks the GitLab URL, the project, the
//! username and a token (hidden), proves them against GitLab before writing (a wrong answer
//! is named and asked again), and writes the file with mode 0600. Without a terminal it never
//! asks: it prints the lines to write, or, given `--token-stdin` and flags, writes the file
//! after the same check. An existing `.env` is replaced only with `--force`, and kept.

mod check;
mod envfile;
mod guess;

use std::io::Read;
use std::path::Path;

use anyhow::Result;

use self::check::{Answers, Checked, Field};
use self::guess::{Defaults, normalize_project, normalize_url};
use crate::cli::SetupArgs;
use crate::context::Context;
use crate::dotenv::DotEnv;
use crate::printer::Printer;
use crate::problem::{Exit, Problem};
use crate::settings::Settings;

pub fn run(ctx: &Context, args: &SetupArgs) -> Result<i32> {
    setup(ctx, args)?;
    ctx.printer.hint("next: `tfw init`, then `tfw plan`");
    Ok(0)
}

/// For `tfw init` in a directory without `.env`: on a terminal, offers the wizard and returns
/// the context reloaded with the new file. `None`: carry on as before (the missing file is
/// then reported, with `tfw setup` in its hint).
pub fn offer(ctx: &Context) -> Result<Option<Context>> {
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
        .map_err(interrupted)?;
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
    setup(ctx, &args)?;
    Ok(Some(reloaded(ctx)?))
}

fn setup(ctx: &Context, args: &SetupArgs) -> Result<()> {
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
    let defaults = guess::gather(settings);
    let (answers, checked, printer) = if args.token_stdin {
        from_flags(ctx, args, &defaults)?
    } else if ctx.printer.interactive() {
        ask(ctx, args, &defaults)?
    } else {
        return Err(print_lines(settings, args, &defaults, &name));
    };
    let kept = &defaults.kept;
    let text = envfile::render(&answers, kept);
    let backup = envfile::write(path, &text, &ctx.tfw_dir().join("env-backups"))?;

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
        crate::render_problem(&printer, warning);
    }
    printer.status(&format!("Wrote `{name}` (mode 600)"));
    if let Some(backup) = backup {
        printer.note(&format!(
            "the previous file is kept as `{}`",
            shown(settings, &backup)
        ));
    }
    if !kept.is_empty() {
        let keys: Vec<&str> = kept.iter().map(|(key, _)| key.as_str()).collect();
        printer.note(&format!("kept from the previous file: {}", keys.join(", ")));
    }
    if let Ok(reloaded) = reloaded(ctx) {
        let settings = &reloaded.settings;
        for problem in settings
            .git_tracked_problem()
            .into_iter()
            .chain(settings.git_ignored_problem())
        {
            crate::render_problem(&printer, &problem);
        }
    }
    Ok(())
}

/// `TF_STATE_NAME`: `--state`, else the replaced file's; `None` means the personal state.
fn chosen_state(settings: &Settings, defaults: &Defaults) -> Option<String> {
    settings
        .state_flag
        .clone()
        .or_else(|| defaults.state.clone())
}

fn state_for(settings: &Settings, answers: &Answers) -> String {
    answers
        .state
        .clone()
        .unwrap_or_else(|| settings.project.personal_state(&answers.username))
}

/// The wizard: asks what the flags did not say, checks, names what is wrong, asks again.
fn ask(
    ctx: &Context,
    args: &SetupArgs,
    defaults: &Defaults,
) -> Result<(Answers, Checked, Printer)> {
    let settings = &ctx.settings;
    ctx.printer.status(
        "tfw needs your GitLab URL, the project, your username and an access token; they go to `.env`, readable by you alone",
    );
    let mut answers = Answers {
        url: args.url.as_deref().map(normalize_url).unwrap_or_default(),
        project: args.project.clone().unwrap_or_default(),
        username: args.username.clone().unwrap_or_default(),
        token: String::new(),
        state: chosen_state(settings, defaults),
    };
    answers.project = normalize_project(&answers.project, &answers.url);
    let mut ask_url = args.url.is_none();
    let mut ask_project = args.project.is_none();
    let mut ask_username = args.username.is_none();
    let mut ask_token = true;
    let mut keep_token = defaults.token.clone();
    loop {
        if ask_url {
            let default = non_empty(&answers.url).or(defaults.url.as_deref());
            answers.url = normalize_url(&prompt("GitLab URL", default, valid_url)?);
        }
        if ask_project {
            let default = non_empty(&answers.project).or(defaults.project.as_deref());
            let raw = prompt("Project (group/project or numeric id)", default, valid_word)?;
            answers.project = normalize_project(&raw, &answers.url);
        }
        if ask_username {
            let default = non_empty(&answers.username).or(defaults.username.as_deref());
            answers.username = prompt("GitLab username", default, valid_username)?;
        }
        if ask_token {
            if keep_token.is_none() {
                ctx.printer.note(&format!(
                    "create a token with the `api` scope at {}",
                    check::token_page(&answers.url)
                ));
            }
            answers.token = prompt_token(keep_token.as_deref())?;
        }
        let printer = with_secret(&ctx.printer, &answers.token);
        let spinner = printer.spinner("checking with GitLab");
        let result = check::check(&answers, &state_for(settings, &answers));
        drop(spinner);
        let failure = match result {
            Ok(checked) => return Ok((answers, checked, printer)),
            Err(failure) => failure,
        };
        crate::render_problem(&printer, &failure.problem);
        let again = dialoguer::Confirm::new()
            .with_prompt("Re-enter?")
            .default(true)
            .wait_for_newline(true)
            .interact()
            .map_err(interrupted)?;
        if !again {
            return Err(Problem::error(format!(
                "nothing was written to `{}`",
                shown(settings, &settings.env_file)
            ))
            .into());
        }
        (ask_url, ask_project, ask_username, ask_token) = match failure.field {
            Field::Url => (true, false, false, false),
            Field::Project => (true, true, false, false),
            Field::Token => (false, false, false, true),
            Field::Account => (false, false, true, true),
        };
        if ask_token {
            // The token just refused is no default to keep.
            keep_token = None;
        }
    }
}

/// `--token-stdin`: every answer from flags (or what the environment and the repository
/// already say), the token from standard input, the same check; nothing is asked.
fn from_flags(
    ctx: &Context,
    args: &SetupArgs,
    defaults: &Defaults,
) -> Result<(Answers, Checked, Printer)> {
    let settings = &ctx.settings;
    let url = args
        .url
        .as_deref()
        .map(normalize_url)
        .or_else(|| defaults.url.clone());
    let project = args.project.clone().or_else(|| defaults.project.clone());
    let username = args.username.clone().or_else(|| defaults.username.clone());
    let missing: Vec<&str> = [
        ("--url", url.is_none()),
        ("--project", project.is_none()),
        ("--username", username.is_none()),
    ]
    .into_iter()
    .filter_map(|(flag, missing)| missing.then_some(flag))
    .collect();
    if !missing.is_empty() {
        return Err(Problem::error(format!(
            "`tfw setup --token-stdin` asks nothing, and these are unknown: {}",
            missing
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint(format!(
            "pass {}",
            flags_example(url.as_deref(), project.as_deref(), username.as_deref())
        ))
        .into());
    }
    let (url, project, username) = (
        url.unwrap_or_default(),
        project.unwrap_or_default(),
        username.unwrap_or_default(),
    );
    for (value, check) in [
        (&url, valid_url as fn(&str) -> Result<(), String>),
        (&project, valid_word),
        (&username, valid_username),
    ] {
        if let Err(message) = check(value) {
            return Err(Problem::error(format!("`{value}`: {message}")).into());
        }
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let token = input.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(Problem::error("no token on standard input")
            .hint("pipe it in: printf '%s\\n' \"$TOKEN\" | tfw setup --token-stdin ...")
            .into());
    }
    let answers = Answers {
        project: normalize_project(&project, &url),
        url,
        username,
        token,
        state: chosen_state(settings, defaults),
    };
    let printer = with_secret(&ctx.printer, &answers.token);
    match check::check(&answers, &state_for(settings, &answers)) {
        Ok(checked) => Ok((answers, checked, printer)),
        // The answers are wrong: the error says which; the file is left as it was.
        Err(failure) => Err(failure.problem.into()),
    }
}

/// No terminal and no `--token-stdin`: the exact lines to write go to stdout (the token as
/// a placeholder, which tfw refuses until replaced), and the error says how to finish.
fn print_lines(
    settings: &Settings,
    args: &SetupArgs,
    defaults: &Defaults,
    name: &str,
) -> anyhow::Error {
    let url = args
        .url
        .as_deref()
        .map(normalize_url)
        .or_else(|| defaults.url.clone());
    let project = args.project.clone().or_else(|| defaults.project.clone());
    let username = args.username.clone().or_else(|| defaults.username.clone());
    let answers = Answers {
        url: url
            .clone()
            .unwrap_or_else(|| "<your GitLab URL, e.g. https://gitlab.example.com>".into()),
        project: project.clone().unwrap_or_else(|| "<group/project>".into()),
        username: username
            .clone()
            .unwrap_or_else(|| "<your GitLab username>".into()),
        token: "<your GitLab access token, api scope>".into(),
        state: chosen_state(settings, defaults),
    };
    // The kept keys may hold secrets: they are never printed.
    print!("{}", envfile::render(&answers, &[]));
    Problem::error(format!("no terminal to ask for your GitLab settings: `{name}` was not written"))
        .hint(format!(
            "save the lines above as `{name}` with your token in TF_HTTP_PASSWORD, then `chmod 600 {name}`; or pipe the token in: printf '%s\\n' \"$TOKEN\" | tfw setup --token-stdin {}",
            flags_example(url.as_deref(), project.as_deref(), username.as_deref())
        ))
        .into()
}

fn flags_example(url: Option<&str>, project: Option<&str>, username: Option<&str>) -> String {
    format!(
        "--url {} --project {} --username {}",
        url.unwrap_or("https://gitlab.example.com"),
        project.unwrap_or("group/project"),
        username.unwrap_or("YOU")
    )
}

fn prompt(
    label: &str,
    default: Option<&str>,
    validate: fn(&str) -> Result<(), String>,
) -> Result<String> {
    let mut input = dialoguer::Input::<String>::new().with_prompt(label);
    if let Some(default) = default {
        input = input.default(default.to_string());
    }
    let answer = input
        .validate_with(|value: &String| validate(value))
        .interact_text()
        .map_err(interrupted)?;
    Ok(answer.trim().to_string())
}

fn prompt_token(keep: Option<&str>) -> Result<String> {
    let label = match keep {
        Some(_) => "Access token (hidden; Enter keeps the current one)",
        None => "Access token (hidden)",
    };
    let token = dialoguer::Password::new()
        .with_prompt(label)
        .allow_empty_password(keep.is_some())
        .interact()
        .map_err(interrupted)?;
    let token = token.trim();
    Ok(match keep {
        Some(kept) if token.is_empty() => kept.to_string(),
        _ => token.to_string(),
    })
}

fn valid_url(value: &str) -> Result<(), String> {
    match url::Url::parse(&normalize_url(value)) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        _ => Err("not a web address; e.g. https://gitlab.example.com".into()),
    }
}

fn valid_word(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() || value.contains(char::is_whitespace) {
        Err("give the project's path (group/project) or its numeric id".into())
    } else {
        Ok(())
    }
}

fn valid_username(value: &str) -> Result<(), String> {
    let value = value.trim();
    // Terraform sends basic auth only with a username, and `:` would end it early.
    if value.is_empty() || value.contains(char::is_whitespace) || value.contains(':') {
        Err("give your GitLab username (no spaces)".into())
    } else {
        Ok(())
    }
}

fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

fn with_secret(printer: &Printer, secret: &str) -> Printer {
    let mut printer = printer.clone();
    printer.add_secret(secret);
    printer
}

/// A prompt ended by Ctrl-C or a closed terminal: stop quietly, as a shell would.
fn interrupted(_: dialoguer::Error) -> anyhow::Error {
    Exit(130).into()
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
        dotenv: Some(DotEnv::load(&old.env_file)?),
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
