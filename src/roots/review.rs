//! Before `tfw --all apply` asks anything: what each root's saved plan is. First what needs
//! no terraform (the plan's metadata: made by `tfw plan` for this state, binary and
//! configuration; its file the one `tfw plan` saved, by SHA-256; terraform said "No
//! changes."), then terraform's own verdict of each remaining plan file (`show -json`, one
//! child `tfw -C ROOT apply --verdict SHA256` per root, `commands::all_verdict`). Only a
//! plan that was saved, reviewed and is still fresh is applied, so the one question covers
//! exactly what will run; a root whose plan cannot be applied stops the whole run before the
//! question (the person approves all of it or nothing), and a root without a plan is left
//! alone.

use crate::plans::{self, PlanChanges, PlanMeta};
use crate::roots::Resolved;

pub(crate) enum Review {
    /// Applied once confirmed.
    Apply {
        meta: Box<PlanMeta>,
        changes: Box<PlanChanges>,
        protected: bool,
    },
    /// Fresh and saved by `tfw plan`, with changes: terraform's verdict of the file with this
    /// SHA-256 decides (then `Apply`, `Skip` or `Stale`).
    Unread {
        meta: Box<PlanMeta>,
        sha256: String,
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
            Review::Apply { meta, .. } | Review::Unread { meta, .. } => Some(meta),
            Review::Skip { meta, .. } => meta.as_deref(),
            Review::Stale(_) => None,
        }
    }
}

/// One root's saved plan, judged without running terraform (its version comes from
/// the engine's cache): `Unread` when only terraform's verdict can tell.
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
    if meta.plan_sha256.is_empty() {
        return Review::Stale(
            "its plan was saved by an older tfw, which kept no hash of the file: plan it again"
                .into(),
        );
    }
    let Some(sha256) = plans::plan_sha256(&files.plan).filter(|sha| *sha == meta.plan_sha256)
    else {
        return Review::Stale(format!(
            "its plan file changed after it was reviewed (made at {}): `{}`",
            meta.created,
            files.plan.display()
        ));
    };
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
    if meta.no_changes {
        return skip("no changes: nothing to apply", Some(meta));
    }
    Review::Unread {
        protected: one.settings.project.is_protected(&state.value),
        meta: Box::new(meta),
        sha256,
    }
}

/// An `Unread` plan once terraform has judged it (`changes`, for the file whose SHA-256
/// the review found).
pub(crate) fn judged(review: Review, changes: PlanChanges) -> Review {
    let Review::Unread {
        meta,
        sha256,
        protected,
    } = review
    else {
        return review;
    };
    if changes.plan_sha256 != sha256 {
        return Review::Stale(format!(
            "its plan file changed while it was read (reviewed SHA-256 {sha256}, judged {})",
            changes.plan_sha256
        ));
    }
    if !changes.has_work() {
        return Review::Skip {
            why: "no changes: nothing to apply".into(),
            meta: Some(meta),
        };
    }
    Review::Apply {
        meta,
        changes: Box::new(changes),
        protected,
    }
}

fn skip(why: &str, meta: Option<PlanMeta>) -> Review {
    Review::Skip {
        why: why.into(),
        meta: meta.map(Box::new),
    }
}
