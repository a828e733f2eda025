//! `GET /projects/:id/terraform/state_protection_rules` (GitLab 18, behind the
//! `protected_terraform_states` flag): the project's rules, for Maintainers and above
//! (`admin_terraform_state`). A GitLab without the feature answers 404 (the default here:
//! `set_protection_rules_api(true)` turns it on); the rules themselves are enforced on writes
//! by `state_api.rs` either way, as a test may add them to show a refusal.

use serde_json::{Value, json};

use super::model::{Auth, World};
use super::rest::member_project;
use super::server::Reply;
use super::{GitLab, Role};

pub(super) fn rules(world: &World, auth: &Auth, key: &str) -> Reply {
    if !world.protection_rules_api {
        return Reply::error(404, "404 Not Found");
    }
    let (project, role) = match member_project(world, auth, key) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    if role < Role::Maintainer {
        return Reply::forbidden();
    }
    let name = |role: Role| match role {
        Role::Owner => "owner",
        Role::Maintainer => "maintainer",
        _ => "developer",
    };
    let items: Vec<Value> = project
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            json!({
                "id": i + 1,
                "project_id": project.id,
                "state_name": rule.state_name,
                "minimum_access_level_for_write": name(rule.minimum_access_level_for_write),
                "allowed_from": rule.allowed_from,
            })
        })
        .collect();
    Reply::json(200, Value::Array(items))
}

impl GitLab {
    /// Whether this GitLab offers the protection rules API (off by default: older GitLab).
    pub fn set_protection_rules_api(&self, on: bool) {
        self.shared.world().protection_rules_api = on;
    }
}
