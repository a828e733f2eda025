//! GitLab's own protection rules for states, read before tfw acts. A rule can say that a state
//! takes writes only from CI jobs (or only from jobs on protected branches), or only from a
//! high role; GitLab then answers 403 to the lock, the write, the unlock and the delete. tfw
//! reads the rule first and refuses at once, naming the rule and the pipeline way, instead of
//! planning, taking the lock and failing halfway. Without the feature (404) nothing changes.

use std::time::Duration;

use anyhow::Result;

use crate::backend::Backend;
use crate::backend::gitlab::{Client, ProtectionRule};
use crate::context::Context;
use crate::problem::Problem;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lookup {
    /// This GitLab has no protection rules (404).
    Unsupported,
    /// No rule for this state.
    Unprotected,
    Rule(ProtectionRule),
    /// The rules could not be read (role, job token, network): why.
    Unknown(String),
}

/// GitLab's access levels by name.
fn level(name: &str) -> u32 {
    match name {
        "developer" => 30,
        "maintainer" => 40,
        "owner" => 50,
        "admin" => 60,
        _ => 0,
    }
}

/// The rule of `state`, asked with a short deadline: it only guards, it must not stall.
pub(crate) fn lookup(backend: &Backend, state: &str) -> Lookup {
    let client = Client::with_timeout(backend, Duration::from_secs(10));
    match client.protection_rules() {
        Ok(None) => Lookup::Unsupported,
        Ok(Some(rules)) => match rules.into_iter().find(|r| r.state_name == state) {
            Some(rule) => Lookup::Rule(rule),
            None => Lookup::Unprotected,
        },
        Err(err) => Lookup::Unknown(err.problem("the rules could not be read", backend).message),
    }
}

impl Lookup {
    /// One line for `use`, `state show` and `doctor`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Lookup::Unsupported => "none (this GitLab has no state protection rules)".into(),
            Lookup::Unprotected => "none".into(),
            Lookup::Rule(rule) => describe(rule),
            Lookup::Unknown(why) => format!("unknown ({why})"),
        }
    }

    pub(crate) fn rule(&self) -> Option<&ProtectionRule> {
        match self {
            Lookup::Rule(rule) => Some(rule),
            _ => None,
        }
    }
}

pub(crate) fn describe(rule: &ProtectionRule) -> String {
    let from = match rule.allowed_from.as_str() {
        "ci_only" => "from CI jobs only",
        "ci_on_protected_branch_only" => "from CI jobs on protected branches only",
        _ => "from anywhere",
    };
    format!(
        "GitLab rule: writes need {} or higher, {from} (`allowed_from: {}`)",
        rule.minimum_access_level_for_write, rule.allowed_from
    )
}

/// Why GitLab will refuse this write from here, if it will. `access_level` is the user's
/// role in the project when known.
pub(crate) fn refusal(
    ctx: &Context,
    backend: &Backend,
    rule: &ProtectionRule,
    access_level: Option<u32>,
    action: &str,
) -> Option<Problem> {
    let state = backend.state_name();
    let job_token = backend.uses_job_token();
    let protected_ref = ctx
        .settings
        .env
        .get("CI_COMMIT_REF_PROTECTED")
        .is_some_and(|v| v == "true");
    let why = match rule.allowed_from.as_str() {
        "ci_only" if !job_token => "accepts writes only from CI jobs".to_string(),
        "ci_on_protected_branch_only" if !job_token || !protected_ref => {
            "accepts writes only from CI jobs on protected branches".to_string()
        }
        _ => match access_level {
            Some(level_here) if level_here < level(&rule.minimum_access_level_for_write) => {
                format!(
                    "needs the {} role or higher for writes",
                    rule.minimum_access_level_for_write
                )
            }
            _ => return None,
        },
    };
    Some(
        Problem::error(format!(
            "GitLab's protection rule on `{state}` {why} (`minimum_access_level_for_write: {}`, `allowed_from: {}`): {action} refused before taking the lock, nothing was changed",
            rule.minimum_access_level_for_write, rule.allowed_from
        ))
        .hint(format!(
            "change `{state}` through the pipeline: merge the change and run its apply job, which applies the reviewed plan artifact with CI's job token; here `tfw --state {state} plan` still works (without the lock)"
        )),
    )
}

/// Refuses a write the state's rule will refuse, before anything is locked. A GitLab without
/// rules, or rules tfw cannot read, let the write go on (GitLab still decides).
pub(crate) fn guard_write(ctx: &Context, backend: &Backend, action: &str) -> Result<()> {
    let spinner = ctx.printer.spinner("reading GitLab's protection rules");
    let found = lookup(backend, backend.state_name());
    drop(spinner);
    let Lookup::Rule(rule) = found else {
        if let Lookup::Unknown(why) = &found {
            ctx.printer
                .debug(&format!("cannot read the state protection rules: {why}"));
        }
        return Ok(());
    };
    // The role matters only for a rule above Maintainer (GitLab's floor for any write).
    let access_level = (level(&rule.minimum_access_level_for_write) > 40)
        .then(|| Client::new(backend).project_info().ok()?.access_level)
        .flatten();
    match refusal(ctx, backend, &rule, access_level, action) {
        Some(problem) => Err(problem.into()),
        None => Ok(()),
    }
}

/// Whether the rule refuses this state's lock from here (a plan then goes without it):
/// GitLab guards the lock with the same rule as the write.
pub(crate) fn refuses_lock(ctx: &Context, backend: &Backend) -> Option<ProtectionRule> {
    let rule = lookup(backend, backend.state_name()).rule()?.clone();
    let access_level = (level(&rule.minimum_access_level_for_write) > 40)
        .then(|| Client::new(backend).project_info().ok()?.access_level)
        .flatten();
    refusal(ctx, backend, &rule, access_level, "plan").map(|_| rule)
}
