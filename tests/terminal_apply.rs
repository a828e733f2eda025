//! Issue 20, items 3 and 6 (first part): `tfw apply` plans when it has no plan to apply (or
//! an out-of-date one), shows it and asks; a declined plan is gone; hints name the state and
//! the tfw command, never raw terraform; colour goes only where a terminal reads it.

use crate::support::Sandbox;
use crate::support::tty::{Tty, term, through_shell};

const ESC: char = '\u{1b}';

#[test]
fn apply_without_a_plan_plans_shows_it_and_asks() {
    let sandbox = Sandbox::new();
    let mut tty = Tty::start(&sandbox, &["apply"]);
    // terraform's plan, then tfw's summary and question.
    tty.expect("Changes to Outputs");
    tty.expect("Apply on state dev-alice: no changes to resources");
    tty.expect("Type `yes` to apply `dev-alice`");
    tty.send_line("no");
    tty.expect("cancelled");
    let (seen, code) = tty.finish();
    assert_eq!(code, 1, "{seen}");
    assert!(!seen.contains("terraform apply"), "{seen}");
    assert!(!seen.contains("0 to destroy"), "{seen}");
    // Declined: discarded, so the next apply plans (and shows) again.
    assert!(!sandbox.path(".tfw/plans/dev-alice.tfplan").exists());
    assert!(sandbox.gitlab.state("42", "dev-alice").is_none());
    let mut tty = Tty::start(&sandbox, &["apply"]);
    tty.expect("Changes to Outputs");
    tty.expect("Type `yes`");
    tty.send_line("yes");
    tty.expect("Apply complete!");
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains("Using the saved plan"), "{seen}");
    assert!(sandbox.gitlab.state("42", "dev-alice").is_some());
}

#[test]
fn apply_with_an_out_of_date_plan_plans_again_and_asks() {
    let sandbox = Sandbox::new();
    sandbox.tfw(&["plan"]).run().success();
    sandbox.write("more.tf", "output \"more\" {\n  value = 1\n}\n");
    let mut tty = Tty::start(&sandbox, &["apply"]);
    tty.expect("the saved plan for `dev-alice` is out of date");
    tty.expect("changed since it was made");
    tty.expect("planning again");
    tty.expect("more");
    tty.expect("Type `yes` to apply `dev-alice`");
    tty.send_line("yes");
    tty.expect("Apply complete!");
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    let state = sandbox.remote_state("dev-alice").unwrap();
    assert_eq!(state["outputs"]["more"]["value"], 1);
}

#[test]
fn apply_without_a_terminal_plans_shows_and_names_the_flag() {
    let sandbox = Sandbox::new();
    let out = sandbox.tfw(&["apply"]).run();
    out.code(1)
        .stdout_has("Changes to Outputs")
        .stderr_has("Apply on state dev-alice")
        .stderr_has("`tfw apply` needs a confirmation, and there is no terminal to ask")
        .stderr_has("pass `--auto-approve`")
        .lacks("terraform apply");
    assert!(!sandbox.path(".tfw/plans/dev-alice.tfplan").exists());
    assert!(sandbox.gitlab.state("42", "dev-alice").is_none());
}

#[test]
fn non_interactive_on_a_terminal_says_the_flag_forbade_asking() {
    let sandbox = Sandbox::new();
    let tty = Tty::start(&sandbox, &["--non-interactive", "destroy"]);
    let (seen, code) = tty.finish();
    assert_eq!(code, 1, "{seen}");
    assert!(
        seen.contains("`tfw destroy` needs a confirmation, and `--non-interactive` forbids asking"),
        "{seen}"
    );
    assert!(!seen.contains("no terminal"), "{seen}");
    // `--non-interactive` is CI mode (docs/configuration.md), said as what was typed.
    let tty = Tty::start(&sandbox, &["--non-interactive", "apply"]);
    let (seen, code) = tty.finish();
    assert_eq!(code, 1, "{seen}");
    assert!(
        seen.contains("with `--non-interactive`, `tfw apply` applies only"),
        "{seen}"
    );
    assert!(
        !seen.contains("no terminal") && !seen.contains("in CI"),
        "{seen}"
    );
}

#[test]
fn hints_name_the_state_that_was_chosen_with_state() {
    let sandbox = Sandbox::new();
    let out = sandbox.tfw(&["--state", "staging", "plan"]).run();
    out.success()
        .stderr_has("`tfw --state staging apply` applies exactly this plan")
        .lacks("terraform apply");
    sandbox.write("more.tf", "output \"more\" {\n  value = 1\n}\n");
    // Someone reviewed the old plan and expects exactly it: not replaced unseen.
    sandbox
        .tfw(&["--state", "staging", "apply", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("the saved plan cannot be applied")
        .stderr_has("run `tfw --state staging plan` again")
        .stderr_has("`tfw --state staging apply` without `--auto-approve`");
    assert!(sandbox.gitlab.state("42", "staging").is_none());
}

#[test]
fn terraforms_own_advice_is_not_passed_through() {
    let sandbox = Sandbox::new();
    let init = sandbox.tfw(&["init"]).run();
    init.success()
        .stdout_has("successfully initialized")
        .lacks("Try running \"terraform plan\"")
        .lacks("rerun this command");
    // On a terminal terraform gives its advice (not in automation mode).
    let tty = Tty::start(&sandbox, &["plan"]);
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("Saved the plan to"), "{seen}");
    assert!(!seen.contains("To perform exactly these actions"), "{seen}");
    assert!(!seen.contains("terraform apply"), "{seen}");
    assert!(
        seen.contains("`tfw apply` applies exactly this plan"),
        "{seen}"
    );
}

#[test]
fn colour_goes_only_to_the_stream_that_is_a_terminal() {
    let sandbox = Sandbox::new();
    // stdout into a file, stderr on the terminal (`tfw plan > plan.txt`).
    let command = term(sandbox.tfw(&["plan"])).command;
    let tty = Tty::spawn(through_shell(&command, "\"$@\" > plan.txt"));
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    let file = sandbox.read("plan.txt");
    assert!(file.contains("Changes to Outputs"), "{file}");
    assert!(!file.contains(ESC), "colour codes in the file: {file:?}");
    assert!(
        seen.contains(&format!("{ESC}[1mPlan for `dev-alice`")),
        "no colour on the terminal: {seen:?}"
    );

    // stdout on the terminal, stderr into a file (`tfw plan 2> log`): the other way round.
    let tty = Tty::spawn(through_shell(&command, "\"$@\" 2> log.txt"));
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    let log = sandbox.read("log.txt");
    assert!(log.contains("Plan for `dev-alice`"), "{log}");
    assert!(!log.contains(ESC), "colour codes in the log: {log:?}");
    assert!(
        seen.contains(&format!("{ESC}[1m")),
        "terraform's plan lost its colour on the terminal: {seen:?}"
    );
}

#[test]
fn no_color_and_clicolor_force_are_respected() {
    let sandbox = Sandbox::new();
    // Forced into pipes.
    let out = sandbox
        .tfw(&["plan"])
        .env("TERM", "xterm-256color")
        .env("CLICOLOR_FORCE", "1")
        .run();
    out.success();
    assert!(out.stderr().contains(ESC), "{:?}", out.stderr());
    assert!(out.stdout.contains(ESC), "{:?}", out.stdout);
    // NO_COLOR wins over CLICOLOR_FORCE, and over a terminal.
    let out = sandbox
        .tfw(&["plan"])
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .run();
    out.success();
    assert!(!out.all().contains(ESC), "{:?}", out.all());
    let command = term(sandbox.tfw(&["plan"]).env("NO_COLOR", "1")).command;
    let (seen, code) = Tty::spawn(command).finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(&format!("{ESC}[1m")), "{seen:?}");
    // CLICOLOR=0 turns it off on a terminal.
    let command = term(sandbox.tfw(&["plan"]).env("CLICOLOR", "0")).command;
    let (seen, _) = Tty::spawn(command).finish();
    assert!(!seen.contains(&format!("{ESC}[1m")), "{seen:?}");
}

/// The plan `tfw apply` makes by itself goes through the same gate as a saved one: a
/// protected state losing a resource is refused without `--allow-protected`, and with it
/// the state's name is typed (Terraform 1.11, real resources).
#[test]
fn a_plan_made_by_apply_passes_the_same_gate() {
    let test = "a_plan_made_by_apply_passes_the_same_gate";
    let Some(sandbox) = crate::gate::prod_with(test, 2) else {
        return;
    };
    sandbox.write("main.tf", crate::gate::resources_tf(1, false));
    let before = sandbox.gitlab.versions("42", "prod");
    let tty = Tty::start(&sandbox, &["--state", "prod", "apply"]);
    let (seen, code) = tty.finish();
    assert_eq!(code, 1, "{seen}");
    assert!(seen.contains("destroy  terraform_data.r[1]"), "{seen}");
    assert!(seen.contains("--allow-protected"), "{seen}");
    crate::gate::unchanged(&sandbox, &before);
    let mut tty = Tty::start(&sandbox, &["--state", "prod", "apply", "--allow-protected"]);
    tty.expect("Type the state name `prod` to apply");
    tty.send_line("prod");
    tty.expect("Apply complete!");
    let (seen, code) = tty.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(crate::gate::instances(&sandbox, "prod").len(), 1);
}
