//! Issue "Reliability": `.env` robustness. A property test feeds the parser (`DotEnv::parse`)
//! and the validator (`Settings::backend`) thousands of generated files, from plausible ones
//! (every key tfw knows, quotes, `export`, `${VAR}`, comments, CRLF, a BOM) to garbage, and
//! checks what must hold for every input: no panic, no hang, every problem points at a line
//! that exists, a key's problem points at its line, no token echoed, messages of bounded size,
//! and "the last definition wins" against an oracle. Then the awkward inputs one by one, also
//! through the real binary.
//!
//! `PROPTEST_CASES` sets the number of generated files per property (default 2000; the three
//! properties together take a few seconds).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use clap::Parser;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tfw::cli::Cli;
use tfw::dotenv::DotEnv;
use tfw::printer::Printer;
use tfw::problem::Problem;
use tfw::settings::Settings;

use crate::support::Sandbox;

/// A token-like value the generator scatters everywhere; no message may ever contain it.
const TOKEN: &str = "glpat-FUZZ7h3Qx9Lm2Pz8Kd4";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// Runs a property on another thread with a deadline: a parser that loops forever fails the
/// test instead of hanging CI.
fn within_deadline(name: &str, property: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            property();
            let _ = done.send(());
        })
        .unwrap();
    match finished.recv_timeout(Duration::from_secs(300)) {
        Ok(()) => worker.join().unwrap(),
        // The worker panicked (the property failed): its message is the report.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: no answer within 300 s: the parser or validator hangs")
        }
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        // Failures print the minimal input; no regression files in the source tree.
        failure_persistence: None,
        ..Config::default()
    })
}

// ------------------------------------------------------------------------------------------
// Generators.

const KNOWN_KEYS: &[&str] = &[
    "TF_HTTP_ADDRESS",
    "TF_HTTP_USERNAME",
    "TF_HTTP_PASSWORD",
    "TF_HTTP_LOCK_ADDRESS",
    "TF_HTTP_UNLOCK_ADDRESS",
    "TF_HTTP_LOCK_METHOD",
    "TF_HTTP_UNLOCK_METHOD",
    "TF_HTTP_RETRY_MAX",
    "TF_HTTP_PASWORD",
    "TF_STATE_NAME",
    "GITLAB_URL",
    "GITLAB_PROJECT",
    "TFW_BINARY",
    "AWS_SECRET_ACCESS_KEY",
    "CI_JOB_TOKEN",
    "export",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KNOWN_KEYS).prop_map(str::to_string),
        1 => "[A-Za-z_][A-Za-z0-9_.]{0,12}",
        1 => "[0-9 -]{1,4}[A-Z]{0,5}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_./:-]{0,20}",
        Just(TOKEN.to_string()),
        Just("http://127.0.0.1:1/api/v4/projects/42/terraform/state/${TF_STATE_NAME}".into()),
        Just("https://gitlab.example.com".into()),
        Just("group/infra".into()),
        Just("<myurl>/state/dev".into()),
        Just("${TF_HTTP_ADDRESS}/lock".into()),
        "[ -~]{0,30}",
        ".{0,12}",
        "[$\\\\\"'#{}= \t]{0,8}",
    ]
}

fn quoted(value: String, style: u8) -> String {
    match style {
        0 => value,
        1 => format!("\"{value}\""),
        2 => format!("'{value}'"),
        3 => format!("\"{value}"),
        _ => format!("{value} # a comment"),
    }
}

/// One physical line, plausible or not.
fn line() -> impl Strategy<Value = String> {
    let assignment = (any::<bool>(), key(), "[ \t]{0,2}", value(), 0u8..5).prop_map(
        |(export, key, space, value, style)| {
            let prefix = if export { "export " } else { "" };
            format!("{prefix}{key}{space}={space}{}", quoted(value, style))
        },
    );
    prop_oneof![
        8 => assignment,
        1 => "#[ -~]{0,30}".prop_map(|c| c),
        1 => "[ \t]{0,3}",
        1 => key().prop_map(|k| format!("export {k}")),
        1 => Just(TOKEN.to_string()),
        1 => (key(), value()).prop_map(|(k, v)| format!("{k} {v}")),
        1 => ".{0,40}",
        1 => proptest::collection::vec(any::<char>(), 0..20).prop_map(|c| c.into_iter().collect()),
    ]
}

fn file() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(line(), 0..25),
        any::<bool>(),
        0u8..3,
        any::<bool>(),
    )
        .prop_map(|(lines, bom, eol, final_newline)| {
            let mut text = if bom {
                "\u{feff}".to_string()
            } else {
                String::new()
            };
            for (index, line) in lines.iter().enumerate() {
                text.push_str(line);
                if index + 1 < lines.len() || final_newline {
                    text.push_str(match eol {
                        0 => "\n",
                        1 => "\r\n",
                        _ if index % 2 == 0 => "\r\n",
                        _ => "\n",
                    });
                }
            }
            text
        })
}

// ------------------------------------------------------------------------------------------
// What must hold.

fn line_count(text: &str) -> usize {
    text.split('\n').count()
}

/// `printer` masks as tfw's own does once `.env` is read; a parse error has no printer yet
/// and must not echo a secret by itself.
fn check_problem(
    problem: &Problem,
    lines: usize,
    path: &Path,
    printer: Option<&Printer>,
) -> Result<(), TestCaseError> {
    let text = format!("{problem} {}", problem.hint.as_deref().unwrap_or(""));
    let text = match printer {
        Some(printer) => printer.mask(&text).into_owned(),
        None => text,
    };
    prop_assert!(!text.contains(TOKEN), "a message echoes the token: {text}");
    prop_assert!(
        text.len() < 1200,
        "an unbounded message ({} bytes)",
        text.len()
    );
    if let Some(location) = &problem.location
        && location.path == path
        && let Some(line) = location.line
    {
        prop_assert!(
            (1..=lines).contains(&line),
            "line {line} of a {lines}-line file: {text}"
        );
    }
    Ok(())
}

fn check_parse(text: &str) -> Result<(), TestCaseError> {
    let path = Path::new(".env");
    let lines = line_count(text);
    match DotEnv::parse(path, text.to_string()) {
        Ok(env) => {
            for (key, _, line) in env.iter() {
                prop_assert!(
                    (1..=lines).contains(&line),
                    "`{key}` on line {line} of {lines}"
                );
            }
            for warning in &env.warnings {
                prop_assert!(
                    warning.location.as_ref().and_then(|l| l.line).is_some(),
                    "{warning}"
                );
                check_problem(warning, lines, path, None)?;
            }
        }
        Err(problem) => {
            prop_assert!(
                problem.location.as_ref().and_then(|l| l.line).is_some(),
                "a parse error without a line: {problem}"
            );
            check_problem(&problem, lines, path, None)?;
        }
    }
    Ok(())
}

/// The first backticked word of a message (the key it is about, by tfw's convention).
fn named_key(message: &str) -> Option<&str> {
    message.split('`').nth(1)
}

fn check_settings(dir: &Path, text: &str) -> Result<(), TestCaseError> {
    let env_file = dir.join(".env");
    std::fs::write(&env_file, text).unwrap();
    let cli = Cli::try_parse_from(["tfw", "-C", dir.to_str().unwrap(), "env"]).unwrap();
    let settings = Settings::load(&cli, HashMap::new(), false).unwrap();
    let (_, problems) = settings.backend();
    let _ = (
        settings.secrets(),
        settings.child_env(None),
        settings.state(),
    );
    let lines = line_count(text);
    let mut printer = Printer::plain();
    for secret in settings.secrets() {
        printer.add_secret(&secret);
    }
    for problem in &problems {
        check_problem(problem, lines, &env_file, Some(&printer))?;
        // A problem about a key written in the file points at that key's line.
        if let (Some(dotenv), Some(key)) = (&settings.dotenv, named_key(&problem.message))
            && let Some(line) = dotenv.line(key)
            && problem.is_error()
            && problem
                .location
                .as_ref()
                .is_some_and(|l| l.path == env_file)
        {
            let at = problem.location.as_ref().and_then(|l| l.line);
            prop_assert!(
                at.is_some(),
                "`{key}` is on line {line}, the problem names none: {problem}"
            );
        }
    }
    if settings.dotenv.is_none() {
        let problem = settings
            .dotenv_problem
            .as_ref()
            .expect("a reason for no .env")
            .problem();
        prop_assert!(
            problem.location.as_ref().and_then(|l| l.line).is_some(),
            "{problem}"
        );
    }
    Ok(())
}

#[test]
fn the_parser_holds_up_under_generated_files() {
    within_deadline("parse", || {
        runner().run(&file(), |text| check_parse(&text)).unwrap();
    });
}

#[test]
fn the_parser_holds_up_under_arbitrary_text() {
    within_deadline("parse-any", || {
        runner()
            .run(&".{0,200}", |text| check_parse(&text))
            .unwrap();
        let bytes = proptest::collection::vec(any::<u8>(), 0..200);
        runner()
            .run(&bytes, |bytes| {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join(".env");
                std::fs::write(&path, &bytes).unwrap();
                let lines = bytes.split(|b| *b == b'\n').count();
                match DotEnv::load(&path) {
                    Ok(_) => {}
                    Err(err) => {
                        let problem = err.problem();
                        prop_assert!(
                            problem.location.as_ref().and_then(|l| l.line).is_some(),
                            "{problem}"
                        );
                        check_problem(problem, lines, &path, None)?;
                    }
                }
                Ok(())
            })
            .unwrap();
    });
}

#[test]
fn the_validator_holds_up_under_generated_files() {
    within_deadline("settings", || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        runner()
            .run(&file(), |text| check_settings(&path, &text))
            .unwrap();
    });
}

/// Plain assignments with repeated keys: the value is the last one written, its line is the
/// last definition's, and every repeat is warned about, naming the line.
#[test]
fn the_last_definition_wins() {
    within_deadline("oracle", || {
        let assignments = proptest::collection::vec(
            (
                proptest::sample::select(&["A", "B", "TF_STATE_NAME", "C.D"][..]),
                "[a-z0-9]{1,6}",
                any::<bool>(),
            ),
            1..20,
        );
        runner()
            .run(&assignments, |assignments| {
                let mut expected: BTreeMap<&str, (String, usize)> = BTreeMap::new();
                let mut text = String::new();
                for (index, (key, value, export)) in assignments.iter().enumerate() {
                    let prefix = if *export { "export " } else { "" };
                    text.push_str(&format!("{prefix}{key}={value}\n"));
                    expected.insert(key, (value.clone(), index + 1));
                }
                let env = DotEnv::parse(Path::new(".env"), text.clone()).unwrap();
                for (key, (value, line)) in &expected {
                    prop_assert_eq!(env.get(key), Some(value.as_str()), "{}", text);
                    prop_assert_eq!(env.line(key), Some(*line), "{}", text);
                }
                prop_assert_eq!(env.warnings.len(), assignments.len() - expected.len());
                for warning in &env.warnings {
                    prop_assert!(warning.message.contains("is set twice"), "{}", warning);
                }
                Ok(())
            })
            .unwrap();
    });
}

// ------------------------------------------------------------------------------------------
// The awkward inputs, one by one.

fn parse(text: &str) -> Result<DotEnv, Problem> {
    DotEnv::parse(Path::new(".env"), text.to_string())
}

#[test]
fn crlf_bom_tabs_and_bare_export() {
    let lf = "export TF_STATE_NAME=\"dev\"\nGITLAB_URL=https://g.example.com\n";
    let crlf = lf.replace('\n', "\r\n");
    let bom = format!("\u{feff}{crlf}");
    for text in [lf.to_string(), crlf, bom] {
        let env = parse(&text).unwrap();
        assert_eq!(env.get("TF_STATE_NAME"), Some("dev"));
        assert_eq!(env.get("GITLAB_URL"), Some("https://g.example.com"));
        assert_eq!(env.line("GITLAB_URL"), Some(2));
        assert!(env.warnings.is_empty());
    }
    let env = parse("\tA=1\nB=\t2\nexport\tC=3\nD=\"x\ty\"\nE=4\t# note\n").unwrap();
    assert_eq!(
        ["A", "B", "C", "D", "E"].map(|k| env.get(k)),
        [Some("1"), Some("2"), Some("3"), Some("x\ty"), Some("4")]
    );
    let env = parse("A=1\nexport B\nexport\tC\n").unwrap();
    assert_eq!(env.warnings.len(), 2);
    let lines: Vec<_> = env
        .warnings
        .iter()
        .map(|w| w.location.as_ref().unwrap().line)
        .collect();
    assert_eq!(lines, [Some(2), Some(3)]);
    assert!(env.warnings[0].message.contains("`export B` has no value"));
}

#[test]
fn duplicate_keys_last_wins_with_a_warning() {
    let env = parse("TF_STATE_NAME=a\nX=1\nTF_STATE_NAME=b\nTF_STATE_NAME=c\n").unwrap();
    assert_eq!(env.get("TF_STATE_NAME"), Some("c"));
    assert_eq!(env.line("TF_STATE_NAME"), Some(4));
    let warnings: Vec<String> = env.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains(".env:3") && warnings[0].contains("first on line 1"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains(".env:4") && warnings[1].contains("first on line 3"),
        "{warnings:?}"
    );
}

#[test]
fn very_long_lines_and_many_lines() {
    let long = "v".repeat(1 << 20);
    let env = parse(&format!("A=1\nBIG={long}\nC=3\n")).unwrap();
    assert_eq!(env.get("BIG").map(str::len), Some(1 << 20));
    assert_eq!(env.line("C"), Some(3));
    // A megabyte of garbage: an error on the right line, and a message of a few words.
    let err = parse(&format!("A=1\n{long} {long}\n")).unwrap_err();
    assert_eq!(err.location.as_ref().unwrap().line, Some(2));
    assert!(
        err.to_string().len() < 300,
        "{} bytes",
        err.to_string().len()
    );
    // Fifty thousand lines: read in well under a second (once quadratic: minutes).
    let many: String = (0..50_000).map(|i| format!("KEY_{i}=value{i}\n")).collect();
    let env = parse(&many).unwrap();
    assert_eq!(env.line("KEY_49999"), Some(50_000));
    let repeated: String = (0..20_000).map(|i| format!("K=v{i}\n")).collect();
    let env = parse(&repeated).unwrap();
    assert_eq!(env.get("K"), Some("v19999"));
    assert_eq!(env.warnings.len(), 19_999);
}

#[test]
fn a_pasted_token_is_never_echoed() {
    for text in [
        format!("TF_HTTP_USERNAME=alice\n{TOKEN}\n"),
        format!("TF_HTTP_USERNAME=alice\n  \"{TOKEN}\"\n"),
        format!("TF_HTTP_PASSWORD {TOKEN}\n"),
        format!("export {TOKEN}=x\n"),
        format!("TF_HTTP_PASSWORD=\"{TOKEN}\nA=1\n"),
        format!("{TOKEN} TF_HTTP_PASSWORD\n"),
    ] {
        let err = parse(&text).unwrap_err();
        let shown = format!("{err} {}", err.hint.as_deref().unwrap_or(""));
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains("glpat"), "{shown}");
        assert!(err.location.unwrap().line.is_some());
    }
}

/// Each awkward file through the real binary: exit 1 (never a panic's 101), the file and line
/// named, and no token in the output.
#[test]
fn the_binary_reports_bad_files_by_line() {
    let sandbox = Sandbox::new();
    let good = sandbox.read(".env");
    let mut bad: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "invalid UTF-8",
            [good.as_bytes(), b"X=\xff\xfe\n"].concat(),
            ".env:10",
        ),
        (
            "NUL bytes",
            [good.as_bytes(), b"\0\0\0\n"].concat(),
            ".env:10",
        ),
        (
            "binary garbage",
            [
                good.as_bytes(),
                &[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, b'\n'],
            ]
            .concat(),
            ".env:10",
        ),
        (
            "a pasted token",
            format!("{good}{TOKEN}\n").into_bytes(),
            ".env:10",
        ),
        (
            "unterminated quote",
            format!("{good}TF_STATE_NAME=\"dev\n").into_bytes(),
            ".env:10",
        ),
        (
            "a megabyte of garbage",
            format!("{good}{}\n", "@".repeat(1 << 20)).into_bytes(),
            ".env:10",
        ),
    ];
    bad.push((
        "CRLF and a BOM, otherwise fine",
        format!("\u{feff}{}", good.replace('\n', "\r\n")).into_bytes(),
        "",
    ));
    let count = bad.len();
    for (name, bytes, location) in bad {
        sandbox.write(".env", &bytes);
        let out = sandbox.tfw(&["env"]).env("TF_HTTP_PASSWORD", TOKEN).run();
        out.lacks(TOKEN);
        if location.is_empty() {
            out.success();
            continue;
        }
        assert_eq!(out.status(), Some(1), "[{name}]\n{}", out.stderr());
        assert!(
            out.stderr().contains(location),
            "[{name}] {location} not named:\n{}",
            out.stderr()
        );
        assert!(out.stderr().contains("hint:"), "[{name}]\n{}", out.stderr());
        assert!(
            out.stderr().len() < 4000,
            "[{name}] {} bytes of stderr",
            out.stderr().len()
        );
    }
    assert_eq!(count, 7);
}
