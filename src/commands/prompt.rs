//! `tfw prompt`: the current state for a shell prompt (what it prints: `states::prompt`).
//! The shell starts it before every prompt, so the command lines a prompt uses skip clap:
//! building clap's command tree is about half of tfw's start-up (docs/benchmarks.md), more
//! than everything `tfw prompt` itself does. Any other shape (`--help`, a typo, `-v`) goes
//! through clap to the same `run`, so both ways mean the same thing.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::prompt::{DEFAULT_FORMAT, DEFAULT_MARKER, parse_format};
use crate::cli::{Cli, Command, PromptArgs};
use crate::exit::ExitCode;
use crate::printer::Printer;
use crate::settings::Settings;
use crate::states::prompt::render;

/// Runs `tfw prompt` when `args` is one of the plain shapes a prompt line uses; `None` sends
/// the command line to clap.
pub(crate) fn fast(args: &[OsString]) -> Option<ExitCode> {
    let cli = parse(args)?;
    let Command::Prompt(prompt) = &cli.command else {
        return None;
    };
    run(&cli, prompt);
    Some(ExitCode::Success)
}

/// Prints the prompt text. Never fails: a prompt that printed errors would break every
/// prompt after it, so any problem (no `.env`, a bad `-C`) prints nothing and exits 0.
pub(super) fn run(cli: &Cli, args: &PromptArgs) {
    // `ci: false`: a prompt is a person's view; CI's default state is for CI jobs.
    let Ok(settings) = Settings::load(cli, crate::process_env(), false) else {
        return;
    };
    if let Some(text) = render(&settings, &args.format, &args.marker) {
        // A closed stdout is nothing to report here either.
        let _ = Printer::plain().outln(&text);
    }
}

/// `[globals] prompt [globals] [--format F] [--marker M]`, each value as `--opt V` or
/// `--opt=V`, and nothing else: what clap would accept the same way.
fn parse(args: &[OsString]) -> Option<Cli> {
    let mut words = args.iter().skip(1).map(|arg| arg.to_str());
    let mut cli = Cli {
        chdir: None,
        env_file: None,
        state: None,
        non_interactive: false,
        no_color: false,
        verbose: 0,
        quiet: false,
        many: Default::default(),
        command: Command::Prompt(PromptArgs {
            format: DEFAULT_FORMAT.into(),
            marker: DEFAULT_MARKER.into(),
        }),
    };
    let (mut seen, mut format, mut marker) = (false, None, None);
    while let Some(word) = words.next() {
        let word = word?;
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (word, None),
        };
        let mut value = || take(inline, &mut words);
        match flag {
            "prompt" if !seen && inline.is_none() => seen = true,
            "-C" | "--chdir" if cli.chdir.is_none() => cli.chdir = Some(PathBuf::from(value()?)),
            "--env-file" if cli.env_file.is_none() => cli.env_file = Some(PathBuf::from(value()?)),
            "--state" if cli.state.is_none() => cli.state = Some(value()?),
            "--no-color" if inline.is_none() => cli.no_color = true,
            "--non-interactive" if inline.is_none() => cli.non_interactive = true,
            "--format" if seen && format.is_none() => format = Some(parse_format(&value()?).ok()?),
            "--marker" if seen && marker.is_none() => marker = Some(value()?),
            _ => return None,
        }
    }
    if !seen {
        return None;
    }
    cli.command = Command::Prompt(PromptArgs {
        format: format.unwrap_or_else(|| DEFAULT_FORMAT.into()),
        marker: marker.unwrap_or_else(|| DEFAULT_MARKER.into()),
    });
    Some(cli)
}

/// A flag's value: inline (`--opt=V`) or the next word. clap reads `--marker -x` as a flag
/// `-x`, so a next word starting with `-` leaves the line to clap.
fn take<'a>(
    inline: Option<&str>,
    words: &mut impl Iterator<Item = Option<&'a str>>,
) -> Option<String> {
    match inline {
        Some(value) => Some(value.to_string()),
        None => words
            .next()
            .flatten()
            .filter(|v| !v.starts_with('-'))
            .map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Option<(Option<String>, Option<String>, String, String)> {
        let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        let cli = parse(&args)?;
        let Command::Prompt(p) = cli.command else {
            unreachable!()
        };
        Some((
            cli.chdir.map(|d| d.display().to_string()),
            cli.state,
            p.format,
            p.marker,
        ))
    }

    #[test]
    fn plain_prompt_lines_skip_clap() {
        let default = (None, None, DEFAULT_FORMAT.to_string(), "!".to_string());
        assert_eq!(parsed("tfw prompt"), Some(default));
        assert_eq!(
            parsed("tfw -C infra prompt --format=tf:{state} --marker *"),
            Some((Some("infra".into()), None, "tf:{state}".into(), "*".into()))
        );
        assert_eq!(
            parsed("tfw prompt --state prod --chdir=x"),
            Some((
                Some("x".into()),
                Some("prod".into()),
                DEFAULT_FORMAT.into(),
                "!".into()
            ))
        );
    }

    #[test]
    fn everything_else_goes_to_clap() {
        for line in [
            "tfw",
            "tfw plan",
            "tfw prompt --help",
            "tfw prompt -v",
            "tfw prompt prompt",
            "tfw prompt --format {nope}",
            "tfw prompt --marker -x",
            "tfw prompt --format",
            "tfw --format x prompt",
            "tfw prompt --state a --state b",
            "tfw state prompt",
        ] {
            assert!(parsed(line).is_none(), "{line}");
        }
    }
}
