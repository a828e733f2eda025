//! GitLab's state protection rules (GitLab 18, behind `protected_terraform_states`): per
//! state, the role a write needs and where writes may come from. A GitLab without them
//! answers 404, which means "no rules" and never an error: tfw then works as it always did.

use serde::{Deserialize, Serialize};

use super::{ApiError, ApiResult, Client, Transport, encode_segment};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub(crate) struct ProtectionRule {
    pub state_name: String,
    /// `developer`, `maintainer`, `owner` or `admin`.
    pub minimum_access_level_for_write: String,
    /// `anywhere`, `ci_only` or `ci_on_protected_branch_only`.
    pub allowed_from: String,
}

impl Client {
    /// The project's rules; `None` when this GitLab has no such feature (404).
    pub(crate) fn protection_rules(&self) -> ApiResult<Option<Vec<ProtectionRule>>> {
        self.refuse_job_token("read the state protection rules")?;
        let url = format!(
            "{}/projects/{}/terraform/state_protection_rules?per_page=100",
            self.api_url,
            encode_segment(&self.project)
        );
        match self.call("GET", &url, None) {
            Ok((_, bytes)) => serde_json::from_slice(&bytes).map(Some).map_err(|err| {
                ApiError::Transport(Transport::unreadable("protection rules", &err))
            }),
            Err(ApiError::Status { code: 404, .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }
}
