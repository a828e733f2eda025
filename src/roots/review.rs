//! Before `tfw --all apply` asks anything: what each root's saved plan is, judged from the
//! verdict `tfw plan` recorded for those very bytes (its SHA-256). Only a plan that was
//! saved, reviewed and is still fresh is applied, so the one question covers exactly what
//! will run; a root whose plan cannot be applied stops the whole run before the question
//! (the person approves all of it or nothing), and a root without a plan is left alone.

use crate::plans::{self, PlanChanges, PlanMeta};
use crate::roots::Resolved;

pub(crate) enum Review {
    /// Applied once confirmed.
    Apply {
        meta: Box<PlanMeta>,
        changes: Box<PlanChanges>,
        protected: bool,
    },
    /// Not applied, and not a failure: no saved plan, or one with nothing to do.
    Skip {
        why: String,
        meta: Option<Box<PlanMeta>>,
    },
    /// A saved plan that must not be applied: the run stops before asking.
    Stale(String),
}

impl Review {
    pub(crate) fn meta(&self) -> Option<&PlanMeta> {
        match self {
            Review::Apply { meta, .. } => Some(meta),
            Review::Skip { meta, .. } => meta.as_deref(),
            Review::Stale(_) => None,
        }
    }
}

/// One root's saved plan, judged without running terraform (its version comes from
/// the engine's cache).
pub(crate) fn review(one: &Resolved) -> Review {
    let Some(state) = &one.state else {
        return skip("no state (see `tfw roots`): no saved plan", None);
    };
    let files = plans::files_for(&one.root.dir, &state.value);
    let Some(meta) = files.load_meta() else {
        return skip("no saved plan: run `tfw --all plan` to review one", None);
    };
    if let Some(problem) = one.problems.iter().find(|p| p.is_error()) {
        return Review::Stale(format!("its settings are wrong: {}", problem.message));
    }
    if meta.destroy {
        return Review::Stale(format!(
            "its plan was made by `tfw destroy`: apply it with `tfw -C {} destroy`",
            one.root.path
        ));
    }
    let Some(changes) = meta.changes.clone() else {
        return Review::Stale(
            "its plan was never read (`show -json` failed when it was made), so nobody saw what it does".into(),
        );
    };
    if plans::plan_sha256(&files.plan).as_deref() != Some(changes.plan_sha256.as_str()) {
        return Review::Stale(format!(
            "its plan file changed after it was reviewed (made at {}): `{}`",
            meta.created,
            files.plan.display()
        ));
    }
    let (Some(backend), _) = one.settings.backend() else {
        return Review::Stale("its GitLab settings are incomplete (see `tfw roots`)".into());
    };
    let info = match crate::engine::resolve(&one.settings).and_then(|engine| engine.info()) {
        Ok(info) => info,
        Err(problem) => return Review::Stale(problem.message),
    };
    if let Err(why) = plans::check_fresh(&meta, &backend, &info, &plans::config_hash(&one.root.dir))
    {
        return Review::Stale(format!("its plan is stale: {why}"));
    }
    if changes.summary.is_empty() && changes.outputs.is_empty() {
        return skip("no changes: nothing to apply", Some(meta));
    }
    Review::Apply {
        protected: one.settings.project.is_protected(&state.value),
        meta: Box::new(meta),
        changes: Box::new(changes),
    }
}

fn skip(why: &str, meta: Option<PlanMeta>) -> Review {
    Review::Skip {
        why: why.into(),
        meta: meta.map(Box::new),
    }
}
