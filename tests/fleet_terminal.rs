//! Issue 18, item 3 on a terminal: `tfw fleet sync` and `tfw fleet status` draw a progress bar
//! and leave the terminal as they found it (the bar's line cleared, the cursor shown if it
//! was hidden) before the summary table, also after Ctrl-C; off a terminal, one plain line
//! per project. And in CI, no warning about `TF_HTTP_PASSWORD` replacing the job token:
//! for fleet, the job token cannot work.

use std::time::Duration;

use crate::fleet_status::Fleet;
use crate::fleet_sync::{behind_fleet, sync};
use crate::support::gitlab::{CI_JOB_TOKEN, Fault, Route};
use crate::support::tty::{HIDE_CURSOR, SHOW_CURSOR, Tty, term};

/// What a terminal shows after `raw`, line by line: text overwrites at the cursor, `\r`,
/// `\n`, cursor up (`ESC[nA`) and erase-line (`ESC[2K`, `ESC[K`) are followed; other
/// sequences change nothing visible here.
fn screen(raw: &str) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
                if lines.len() <= row {
                    lines.push(Vec::new());
                }
            }
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut params = String::new();
                let mut end = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        end = c;
                        break;
                    }
                    params.push(c);
                }
                match (end, params.as_str()) {
                    ('K', "2") => lines[row].clear(),
                    ('K', "" | "0") => lines[row].truncate(col),
                    ('A', n) => row = row.saturating_sub(n.parse().unwrap_or(1)),
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                match line.get_mut(col) {
                    Some(at) => *at = c,
                    None => line.push(c),
                }
                col += 1;
            }
        }
    }
    lines.into_iter().map(|l| l.into_iter().collect()).collect()
}

/// The bar was drawn, nothing of it is left on the screen, and a cursor hidden was shown again.
#[track_caller]
fn left_clean(seen: &str) -> Vec<String> {
    assert!(
        seen.contains('█') || seen.contains('░'),
        "no bar drawn\n{seen:?}"
    );
    let shown = screen(seen);
    let text = shown.join("\n");
    assert!(
        !text.contains('█') && !text.contains('░'),
        "the bar is left on the terminal\n{text}\n--- raw\n{seen:?}"
    );
    if let Some(hidden) = seen.rfind(HIDE_CURSOR) {
        assert!(
            seen[hidden..].contains(SHOW_CURSOR),
            "the cursor is left hidden\n{seen:?}"
        );
    }
    shown
}

/// The line where `needle` ends on the screen, from the top.
#[track_caller]
fn at(shown: &[String], needle: &str) -> usize {
    shown
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} on the screen\n{}", shown.join("\n")))
}

#[test]
fn fleet_sync_draws_a_bar_on_a_terminal_and_clears_it_before_the_table() {
    let fleet = behind_fleet();
    let tty = Tty::spawn(
        term(fleet.sandbox.tfw(&["fleet", "sync", "--group", "fleet"]))
            .env("NO_COLOR", "1")
            .command,
    );
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    let shown = left_clean(&seen);
    let table = at(&shown, "PROJECT");
    assert!(at(&shown, "fleet/a ") > table, "{}", shown.join("\n"));
    assert!(at(&shown, "4 project(s) in `fleet`") > table);
    // On a terminal the bar stands for the per-project lines.
    assert!(!seen.contains("fleet/a: opened"), "{seen}");
}

#[test]
fn fleet_status_draws_a_bar_on_a_terminal_and_clears_it_before_the_table() {
    let fleet = behind_fleet();
    let tty = Tty::spawn(term(fleet.status_cmd(&[])).env("NO_COLOR", "1").command);
    let (seen, code) = tty.finish();
    assert_eq!(code, 2, "{seen}");
    let shown = left_clean(&seen);
    assert!(at(&shown, "4 projects in `fleet`") > at(&shown, "PROJECT"));
}

#[test]
fn off_a_terminal_fleet_sync_prints_one_plain_line_per_project() {
    let fleet = behind_fleet();
    let out = sync(&fleet, &[]);
    out.code(0);
    let all = out.all();
    assert!(
        !all.contains('\u{1b}'),
        "an escape code off a terminal\n{all:?}"
    );
    assert!(
        !all.contains('█') && !all.contains('░'),
        "a bar off a terminal\n{all}"
    );
    for (project, outcome) in [
        ("fleet/a", "opened"),
        ("fleet/sub/b", "opened"),
        ("fleet/current", "up-to-date"),
        ("fleet/plain", "skipped"),
    ] {
        let lines: Vec<&str> = out
            .stderr()
            .lines()
            .filter(|l| l.starts_with(&format!("{project}: ")))
            .collect();
        assert_eq!(lines.len(), 1, "one line for {project}\n{}", out.stderr());
        assert!(lines[0].contains(outcome), "{project}: {}", lines[0]);
    }
}

#[test]
fn ctrl_c_on_a_terminal_leaves_no_bar_and_the_cursor_shown() {
    let fleet = Fleet::new();
    let old = fleet.checkout("old");
    let mut ids = Vec::new();
    for project in ["fleet/a", "fleet/b", "fleet/c"] {
        ids.push(fleet.pushed(project, &old));
    }
    fleet.release("2");
    let gl = fleet.gl();
    // fleet/a is delivered (the bar drawn at 1/3), fleet/b's merge request is held long
    // enough for Ctrl-C to land while the bar is on the screen.
    gl.fault(
        Fault::delay(Route::MergeRequests, Duration::from_secs(4))
            .method("POST")
            .project("fleet/b"),
    );
    let mut tty = Tty::spawn(
        term(
            fleet
                .sandbox
                .tfw(&["fleet", "sync", "--group", "fleet", "-j", "1"]),
        )
        .env("NO_COLOR", "1")
        .command,
    );
    let b = format!("/projects/{}/merge_requests", ids[1]);
    let asked = gl.wait_for_request(Duration::from_secs(120), |r| {
        r.method == "POST" && r.path().ends_with(&b)
    });
    assert!(
        asked.is_some(),
        "the merge request of fleet/b was never asked for"
    );
    tty.expect("1/3");
    // The terminal's Ctrl-C: SIGINT to the foreground process group.
    tty.send("\u{3}");
    let (seen, code) = tty.finish();
    assert_eq!(code, 130, "{seen}");
    let shown = left_clean(&seen);
    let warning = at(&shown, "stopping: no new project starts");
    assert!(at(&shown, "PROJECT") > warning, "{}", shown.join("\n"));
    assert!(at(&shown, "2 opened, 1 held-back") > warning);
}

#[test]
fn ci_fleet_says_nothing_about_tf_http_password_replacing_the_job_token() {
    let fleet = behind_fleet();
    std::fs::remove_file(fleet.sandbox.path(".env")).unwrap();
    let ci = |cmd: crate::support::Cmd| {
        cmd.env("CI", "true")
            .env("CI_API_V4_URL", fleet.gl().api_url())
            .env("CI_PROJECT_ID", "42")
            .env("CI_JOB_TOKEN", CI_JOB_TOKEN)
            .env("TF_STATE_NAME", "ci")
            .env("TF_HTTP_PASSWORD", crate::support::gitlab::ALICE_TOKEN)
    };
    let out = ci(fleet.status_cmd(&[])).run();
    out.code(2).lacks("not `CI_JOB_TOKEN`");
    let out = ci(fleet
        .sandbox
        .tfw(&["fleet", "sync", "--group", "fleet", "--dry-run"]))
    .run();
    out.code(0).lacks("not `CI_JOB_TOKEN`");
    // Everywhere else the warning stays (ci::ci_says_when_tf_http_password_replaces_the_job_token).
    ci(fleet.sandbox.tfw(&["env"])).run().success().stderr_has(
        "using `TF_HTTP_PASSWORD` (from environment) as the GitLab token, not `CI_JOB_TOKEN`",
    );
}

/// Ctrl-C before any terraform or bar: while `fleet status` still waits for the group's
/// listing (the route stalled), its spinner is cleared and the cursor shown before tfw exits.
#[test]
fn ctrl_c_while_asking_for_the_groups_projects_clears_the_spinner() {
    let fleet = behind_fleet();
    fleet
        .gl()
        .fault(Fault::hang(Route::GroupProjects, Duration::from_secs(60)));
    let mut tty = Tty::spawn(
        term(fleet.status_cmd(&[]))
            .env("NO_COLOR", "1")
            .env("TFW_HTTP_TIMEOUT", "90")
            .command,
    );
    tty.expect("asking GitLab for the projects of `fleet`");
    tty.expect("(1s)");
    tty.send("\u{3}");
    let (seen, code) = tty.finish();
    assert_eq!(code, 130, "{seen}");
    let shown = screen(&seen).join("\n");
    assert!(
        !shown.contains("asking GitLab"),
        "the spinner was left on the terminal\n{shown}\n--- raw\n{seen:?}"
    );
    crate::support::tty::cursor_restored(&seen);
}

/// Ctrl-C while `fleet status` draws its bar (the last project, by path, stalled): tfw's own
/// handler ends it, with the bar cleared and the cursor shown.
#[test]
fn ctrl_c_during_fleet_status_leaves_no_bar() {
    let fleet = behind_fleet();
    fleet
        .gl()
        .fault(Fault::hang(Route::Any, Duration::from_secs(60)).project("fleet/sub/b"));
    let mut tty = Tty::spawn(
        term(fleet.status_cmd(&["-j", "1"]))
            .env("NO_COLOR", "1")
            .env("TFW_HTTP_TIMEOUT", "90")
            .command,
    );
    tty.expect("3/4");
    tty.send("\u{3}");
    let (seen, code) = tty.finish();
    assert_eq!(code, 130, "{seen}");
    left_clean(&seen);
}
