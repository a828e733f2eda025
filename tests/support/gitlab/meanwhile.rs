//! Another client acting while a request is being handled: what GitLab answers when two
//! requests on one state overlap, produced from the state itself rather than injected.
//!
//! GitLab handles a lock request in two transactions (`lib/api/terraform/state.rb`,
//! `post '/lock'`): `RemoteStateHandler#lock!` (which raises `StateLockedError` on a locked
//! state: 409), then `find_with_lock` to read the holder back for the answer
//! (`state.locked_by_user.username`). A holder releasing its lock between the two leaves
//! `locked_by_user` nil: `NoMethodError`, rescued by `API::API`'s `rescue_from :all` as a
//! plain 500. Every other state route is one transaction (`handle_with_lock`,
//! `unlock!`...), so a change lands before it.

use std::time::SystemTime;

use serde_json::Map;

use super::model::{LockRec, Project, World};
use super::{GitLab, Route};

/// What the other client does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meanwhile {
    /// The holder releases its lock (its terraform finished).
    Unlock,
    /// The holder's lock is released and `who` (a GitLab username) locks with `id`.
    Relock { who: String, id: String },
}

pub(super) struct Pending {
    pub method: String,
    pub route: Route,
    pub state: String,
    pub change: Meanwhile,
}

impl World {
    /// The change waiting for this request, if any (taken: it happens once).
    pub fn take_meanwhile(&mut self, method: &str, route: Route, state: &str) -> Option<Meanwhile> {
        let index = self.meanwhile.iter().position(|p| {
            p.method.eq_ignore_ascii_case(method) && p.route == route && p.state == state
        })?;
        Some(self.meanwhile.remove(index).change)
    }
}

impl Project {
    /// Applies another client's change to `name`.
    pub fn apply(&mut self, name: &str, change: &Meanwhile) {
        let Some(state) = self.states.get_mut(name) else {
            return;
        };
        let now = SystemTime::now();
        state.lock = match change {
            Meanwhile::Unlock => None,
            Meanwhile::Relock { who, id } => Some(LockRec {
                id: id.clone(),
                username: who.clone(),
                locked_at: now,
                info: Map::new(),
            }),
        };
        state.updated_at = now;
    }
}

impl GitLab {
    /// An older GitLab whose GraphQL `TerraformState` has none of `fields` (`deletedAt` is
    /// recent: `app/graphql/types/terraform/state_type.rb`).
    pub fn set_graphql_missing_state_fields(&self, fields: &[&str]) {
        self.shared.world().graphql_missing_state_fields =
            fields.iter().map(|f| f.to_string()).collect();
    }

    /// While the next `method` request to `route` of state `name` is handled, another client
    /// does `change` (for `POST /lock`: between GitLab's two transactions, see the module).
    pub fn meanwhile(&self, route: Route, method: &str, name: &str, change: Meanwhile) {
        self.shared.world().meanwhile.push(Pending {
            method: method.to_string(),
            route,
            state: name.to_string(),
            change,
        });
    }
}
