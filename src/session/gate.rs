//! The gate in front of every apply: it reads the saved plan itself (`show -json`), so what
//! is judged is what terraform will do, however the plan came (`destroy`, `-destroy`,
//! `-replace=`, a resource removed from the configuration, a plan saved earlier). A plan that
//! destroys, replaces or forgets anything in a protected state needs `--allow-protected`; a
//! protected state's name is typed on a terminal whatever the flags; without a terminal the
//! flags stand in for the person, and one line says so.

use std::path::Path;

use anyhow::Result;

use crate::confirm::{Ask, needs_flag};
use crate::plans::{self, PlanChanges};
use crate::problem::Problem;
use crate::session::Session;

/// How many destroyed or replaced addresses a confirmation lists before "and N more".
const LISTED: usize = 20;

/// What the person said on the command line.
pub(crate) struct Approval<'a> {
    /// `--auto-approve`: confirms without a terminal (never a protected state's name on one).
    pub auto_approve: bool,
    /// `--allow-protected`: a protected state may lose or replace resources.
    pub allow_protected: bool,
    /// The flag that confirms without a terminal, for messages.
    pub flag: &'a str,
    /// `tfw --all apply` listed and confirmed the plan file with this SHA-256: any other
    /// bytes are refused, and the confirmation was that run's, not this one's.
    pub reviewed: Option<&'a str>,
}

impl Approval<'_> {
    /// The plan about to be applied is not the one `tfw --all apply` confirmed: a refusal
    /// naming both hashes. Checked by the gate and again just before terraform starts.
    fn refuse_other_plan(&self, plan: &Path, state: &str) -> Result<()> {
        let Some(reviewed) = self.reviewed else {
            return Ok(());
        };
        let actual = plans::plan_sha256(plan);
        if actual.as_deref() == Some(reviewed) {
            return Ok(());
        }
        let now = actual.map_or_else(|| "gone".to_string(), |sha| format!("SHA-256 {sha}"));
        Err(Problem::error(format!(
            "the plan file for `{state}` changed after it was reviewed (reviewed SHA-256 {reviewed}, now {now}): refused, nothing was changed"
        ))
        .at(plan, None)
        .hint("run `tfw plan` in that root again, review it, then apply")
        .into())
    }
}

/// Just before terraform applies the file: still the bytes the gate judged (and, under
/// `tfw --all apply`, the ones that were confirmed). A refusal names both hashes.
pub(crate) fn still_judged(
    plan: &Path,
    changes: &PlanChanges,
    approval: &Approval,
    state: &str,
) -> Result<()> {
    approval.refuse_other_plan(plan, state)?;
    let actual = plans::plan_sha256(plan);
    if actual.as_deref() == Some(changes.plan_sha256.as_str()) {
        return Ok(());
    }
    let now = actual.map_or_else(|| "gone".to_string(), |sha| format!("SHA-256 {sha}"));
    Err(Problem::error(format!(
        "the plan file for `{state}` changed after the gate read it (judged SHA-256 {}, now {now}): refused, nothing was changed",
        changes.plan_sha256
    ))
    .at(plan, None)
    .hint("run `tfw plan` again, review it, then apply")
    .into())
}

impl PlanChanges {
    /// Destroys, replaces, or stops managing (`forget`) anything: what a protected state
    /// must not undergo without `--allow-protected`.
    pub(crate) fn destructive(&self) -> bool {
        !self.destroyed.is_empty() || !self.replaced.is_empty() || !self.forgotten.is_empty()
    }

    /// Anything for `apply` to do: a resource, an output, or a resource to forget (which
    /// terraform's "Plan: ..." line does not count).
    pub(crate) fn has_work(&self) -> bool {
        !self.summary.is_empty() || !self.outputs.is_empty() || !self.forgotten.is_empty()
    }

    /// "  destroy  a.b" lines, the first `LISTED`, then "  ... and N more".
    pub(crate) fn listing(&self) -> Vec<String> {
        let all: Vec<String> = self
            .destroyed
            .iter()
            .map(|a| format!("  destroy  {a}"))
            .chain(self.replaced.iter().map(|a| format!("  replace  {a}")))
            .chain(self.forgotten.iter().map(|a| format!("  forget   {a}")))
            .collect();
        let mut lines: Vec<String> = all.iter().take(LISTED).cloned().collect();
        if all.len() > LISTED {
            lines.push(format!("  ... and {} more", all.len() - LISTED));
        }
        lines
    }

    fn counts(&self) -> String {
        let (destroyed, replaced) = (self.destroyed.len(), self.replaced.len());
        match self.forgotten.len() {
            0 => format!("{destroyed} destroyed and {replaced} replaced"),
            forgotten => {
                format!("{destroyed} destroyed, {replaced} replaced and {forgotten} forgotten")
            }
        }
    }
}

/// What the plan file does, in terraform's own words: `show -json` of the file, now, by the
/// process that will apply it. Never a verdict read from `.tfw/plans/` (a file anyone who
/// can swap the plan can also write). The bytes are hashed before and after terraform reads
/// them, so the verdict is bound to one content; `Session::apply` checks that content again
/// just before terraform applies it.
pub(crate) fn read(session: &Session, plan: &Path) -> Result<PlanChanges> {
    let state = session.state();
    let before = plans::plan_sha256(plan);
    let shown = session.show_json(plan);
    let after = plans::plan_sha256(plan);
    let sha = match (before, after) {
        (Some(before), Some(after)) if before == after => before,
        _ => {
            return Err(Problem::error(format!(
                "the plan file for `{state}` changed while terraform was reading it: refused, nothing was changed"
            ))
            .at(plan, None)
            .hint(format!(
                "run `{}` again, review it, then apply",
                session.ctx.tfw("plan")
            ))
            .into());
        }
    };
    match shown {
        Ok(shown) => Ok(PlanChanges::from_show_json(&shown, sha)),
        // Interrupted: nobody refused the plan, so it stays for the next try.
        Err(Some(outcome)) if outcome.interrupted => {
            Err(crate::problem::Exit(outcome.exit_code()).into())
        }
        // terraform said why (a stale plan, GitLab failing): explained, and the plan is
        // withdrawn, as the apply terraform refused would have consumed it.
        Err(Some(outcome)) => {
            let ctx = session.ctx;
            crate::diagnose::report(&ctx.printer, &ctx.settings, &session.backend, &outcome, "apply");
            plans::files_for(session.ctx.dir(), state).remove();
            Err(crate::problem::Exit(outcome.exit_code()).into())
        }
        Err(None) => Err(Problem::error(format!(
            "cannot read the plan for `{state}` with `show -json`, so tfw cannot tell what it destroys; nothing was changed"
        ))
        .hint(format!(
            "run `{}` again, with -v to see terraform's error",
            session.ctx.tfw("plan")
        ))
        .into()),
    }
}

/// The plan file is not the one `tfw plan` saved and showed: someone wrote another plan in
/// its place (`tfw exec -- plan -out`, terraform itself, a copy). Refused rather than judged,
/// since the counts printed for the saved plan would not be this file's.
fn refuse_replaced(session: &Session, plan: &Path) -> Result<()> {
    let state = session.state();
    let Some(meta) = plans::files_for(session.ctx.dir(), state).load_meta() else {
        return Ok(());
    };
    let actual = plans::plan_sha256(plan).unwrap_or_default();
    if meta.plan_sha256.is_empty() || meta.plan_sha256 == actual {
        return Ok(());
    }
    Err(Problem::error(format!(
        "the plan file for `{state}` is not the one `tfw plan` saved at {} (SHA-256 {}, now {actual}): refused, nothing was changed",
        meta.created, meta.plan_sha256
    ))
    .at(plan, None)
    .hint(format!(
        "run `{}` again and review it; a plan made another way is not applied by tfw",
        session.ctx.tfw("plan")
    ))
    .into())
}

/// Whether the gate refused the plan (then it is withdrawn) or could not look at it.
pub(crate) struct Refused;

/// Judges the plan file and asks (or refuses) before `action` ("apply", "destroy") runs it.
/// A refusal or a declined question is marked with [`Refused`]; a plan that could not be
/// read is kept for a retry.
pub(crate) fn check(
    session: &Session,
    plan: &Path,
    approval: &Approval,
    action: &str,
) -> Result<PlanChanges, (anyhow::Error, Option<Refused>)> {
    approval
        .refuse_other_plan(plan, session.state())
        .map_err(|err| (err, Some(Refused)))?;
    refuse_replaced(session, plan).map_err(|err| (err, Some(Refused)))?;
    let changes = read(session, plan).map_err(|err| (err, None))?;
    judge(session, changes, approval, action).map_err(|err| (err, Some(Refused)))
}

fn judge(
    session: &Session,
    changes: PlanChanges,
    approval: &Approval,
    action: &str,
) -> Result<PlanChanges> {
    let ctx = session.ctx;
    let printer = &ctx.printer;
    let state = session.backend.state_name();
    let protected = ctx.settings.project.is_protected(state);
    let command = format!("tfw {action}");
    printer.status("");
    let what = match (changes.summary.is_empty(), action) {
        (false, _) => changes.summary.phrase(),
        (true, "destroy") => "nothing to destroy".to_string(),
        (true, _) => "no changes to resources".to_string(),
    };
    printer.status(&format!(
        "{} on state {}: {what}",
        printer.bold(&capitalize(action)),
        printer.bold(state),
    ));
    printer.status(&format!("  address: {}", session.backend.address()));
    for line in changes.listing() {
        printer.status(&line);
    }
    if protected && changes.destructive() && !approval.allow_protected {
        return Err(Problem::error(format!(
            "the plan for protected state `{state}` has {} resource(s): refused, nothing was changed",
            changes.counts()
        ))
        .hint(format!(
            "review it with `tfw --state {state} plan`; if you really mean it, add `--allow-protected` (and type `{state}` to confirm)"
        ))
        .into());
    }
    if printer.interactive() {
        if protected {
            printer.warning(&format!("`{state}` is a protected, shared state"));
            return Ask {
                command: &command,
                action,
            }
            .typed(&ctx.printer, state, None)
            .map(|()| changes);
        }
        if !approval.auto_approve {
            Ask {
                command: &command,
                action: &format!("{action} `{state}`"),
            }
            .yes(&ctx.printer, false, approval.flag)?;
        }
        return Ok(changes);
    }
    if !approval.auto_approve {
        return Err(needs_flag(printer, &format!("`{command}`"), approval.flag));
    }
    if protected && approval.reviewed.is_some() {
        printer.note(&format!(
            "protected state `{state}`: confirmed by `tfw --all apply`"
        ));
    } else if protected {
        let flags = if changes.destructive() {
            format!("`{} --allow-protected`", approval.flag)
        } else {
            format!("`{}`", approval.flag)
        };
        printer.warning(&format!(
            "protected state `{state}` ({}, {} to change): approved by {flags}, {} to type its name",
            changes.counts(),
            changes.summary.change,
            printer.unasked()
        ));
    }
    Ok(changes)
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_destroys_and_replaces() {
        let plan = serde_json::json!({"resource_changes": [
            {"address": "a.new", "change": {"actions": ["create"]}},
            {"address": "a.gone", "change": {"actions": ["delete"]}},
            {"address": "a.swap", "change": {"actions": ["delete", "create"]}},
            {"address": "a.cbd", "change": {"actions": ["create", "delete"]}},
            {"address": "a.same", "change": {"actions": ["no-op"]}},
            {"address": "a.left", "change": {"actions": ["forget"]}},
            {"address": "data.x", "change": {"actions": ["read"]}}
        ]});
        let changes = PlanChanges::from_show_json(&plan, "x".into());
        assert_eq!(changes.destroyed, ["a.gone"]);
        assert_eq!(changes.replaced, ["a.swap", "a.cbd"]);
        assert_eq!(changes.forgotten, ["a.left"]);
        assert_eq!(changes.counts(), "1 destroyed, 2 replaced and 1 forgotten");
        assert!(changes.destructive());
        assert_eq!(changes.summary.destroy, 3);
        let none = PlanChanges::from_show_json(&serde_json::json!({}), "y".into());
        assert!(!none.destructive());
    }

    #[test]
    fn lists_twenty_then_the_rest() {
        let changes = PlanChanges {
            destroyed: (0..25).map(|i| format!("r.n[{i}]")).collect(),
            ..PlanChanges::default()
        };
        let lines = changes.listing();
        assert_eq!(lines.len(), 21);
        assert_eq!(lines[19], "  destroy  r.n[19]");
        assert_eq!(lines[20], "  ... and 5 more");
    }
}
