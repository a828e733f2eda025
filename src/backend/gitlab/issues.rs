//! GitLab's issues API, for `tfw drift --issues`: a scheduled drift check keeps one issue per
//! drifted state, and people read drift where they already read their work. Listings are
//! paged to the end; creates and updates send JSON (Grape reads a JSON body as parameters).
//! GitLab opens this API to personal, project and group access tokens only, never to CI's
//! job token, and a `read_api` token may only list (403 `insufficient_scope` on a write).

use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiResult, Client, Transport, encode_segment};

/// The fields of GitLab's `Entities::Issue` tfw reads.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct Issue {
    pub iid: u64,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `opened` or `closed`.
    pub state: String,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
}

fn parse(bytes: &[u8]) -> ApiResult<Issue> {
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::Transport(Transport::unreadable("issue", &err)))
}

impl Client {
    fn issues_url(&self) -> String {
        format!(
            "{}/projects/{}/issues",
            self.api_url,
            encode_segment(&self.project)
        )
    }

    /// Every issue of the project with `label`, open and closed, oldest first.
    pub(crate) fn issues_labelled(&self, label: &str) -> ApiResult<Vec<Issue>> {
        self.refuse_job_token("use the issues API")?;
        let url = format!(
            "{}?labels={}&state=all&order_by=created_at&sort=asc",
            self.issues_url(),
            encode_segment(label)
        );
        self.get_all(&url, "issues")
    }

    pub(crate) fn create_issue(
        &self,
        title: &str,
        description: &str,
        labels: &[&str],
    ) -> ApiResult<Issue> {
        self.refuse_job_token("use the issues API")?;
        let body =
            json!({ "title": title, "description": description, "labels": labels.join(",") });
        let (_, bytes) = self.call(
            "POST",
            &self.issues_url(),
            Some(body.to_string().as_bytes()),
        )?;
        parse(&bytes)
    }

    /// A new description and/or `state_event` (`close`, `reopen`).
    pub(crate) fn update_issue(
        &self,
        iid: u64,
        description: Option<&str>,
        state_event: Option<&str>,
    ) -> ApiResult<Issue> {
        self.refuse_job_token("use the issues API")?;
        let mut body = serde_json::Map::new();
        if let Some(description) = description {
            body.insert("description".into(), description.into());
        }
        if let Some(event) = state_event {
            body.insert("state_event".into(), event.into());
        }
        let url = format!("{}/{iid}", self.issues_url());
        let body = serde_json::Value::Object(body).to_string();
        let (_, bytes) = self.call("PUT", &url, Some(body.as_bytes()))?;
        parse(&bytes)
    }
}
