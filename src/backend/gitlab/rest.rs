//! The REST calls besides the state API: who the token is (`GET /user`), the project (its
//! full path, archived or not), its members (`state prune`) and its running jobs (is a lock
//! "yours" or your pipeline's?). Listings follow `X-Next-Page` to the end, bounded.

use serde::Deserialize;

use super::{ApiError, ApiResult, Client, Transport, Trouble};
use crate::backend::encode_segment;

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct Member {
    pub username: String,
    /// `active` for a working account; `blocked`, `deactivated`... for people who left.
    #[serde(default)]
    pub state: Option<String>,
    /// `Gitlab::Access`: 30 Developer, 40 Maintainer, 50 Owner.
    #[serde(default)]
    pub access_level: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProjectInfo {
    pub path_with_namespace: String,
    pub archived: bool,
    /// The token user's access level (`permissions`: the project's or the group's, the
    /// higher one), `None` when GitLab did not say.
    pub access_level: Option<u32>,
}

/// A running CI job of the project.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunningJob {
    pub id: u64,
    pub name: String,
    pub pipeline: Option<u64>,
    pub username: Option<String>,
    pub web_url: Option<String>,
}

#[derive(Deserialize)]
struct JobAnswer {
    id: u64,
    name: String,
    #[serde(default)]
    pipeline: Option<IdOnly>,
    #[serde(default)]
    user: Option<UsernameOnly>,
    #[serde(default)]
    web_url: Option<String>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: u64,
}

#[derive(Deserialize)]
struct UsernameOnly {
    username: String,
}

/// Pages of 100 tfw reads at most from one listing.
const MAX_PAGES: usize = 100;

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> ApiResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::Transport(Transport::unreadable(what, &err)))
}

impl Client {
    fn project_url(&self) -> String {
        format!(
            "{}/projects/{}",
            self.api_url,
            encode_segment(&self.project)
        )
    }

    /// Every item of a paged listing (`?per_page=100`, then `X-Next-Page` until it is empty).
    pub(super) fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> ApiResult<Vec<T>> {
        let separator = if url.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut page = "1".to_string();
        for _ in 0..MAX_PAGES {
            let answer = self.answer(
                "GET",
                &format!("{url}{separator}per_page=100&page={page}"),
                None,
            )?;
            let batch: Vec<T> = parse(&answer.body, what)?;
            items.extend(batch);
            match answer.next_page {
                Some(next) if next != page => page = next,
                _ => break,
            }
        }
        Ok(items)
    }

    /// The token's user (`GET /user`): who GitLab records as the holder of this token's locks.
    pub(crate) fn whoami(&self) -> ApiResult<String> {
        self.refuse_job_token("ask GitLab who the token belongs to")?;
        let (_, bytes) = self.call("GET", &format!("{}/user", self.api_url), None)?;
        let value: serde_json::Value = parse(&bytes, "user")?;
        value["username"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::Transport(Transport::new(
                    Trouble::Other,
                    "the user answer has no username",
                ))
            })
    }

    /// The token's scopes (`GET /personal_access_tokens/self`, GitLab 15.5+).
    pub(crate) fn token_scopes(&self) -> ApiResult<Vec<String>> {
        self.refuse_job_token("read the token's scopes")?;
        let url = format!("{}/personal_access_tokens/self", self.api_url);
        let (_, bytes) = self.call("GET", &url, None)?;
        let value: serde_json::Value = parse(&bytes, "token")?;
        Ok(value["scopes"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub(crate) fn project_info(&self) -> ApiResult<ProjectInfo> {
        self.refuse_job_token("read the project")?;
        let (_, bytes) = self.call("GET", &self.project_url(), None)?;
        let value: serde_json::Value = parse(&bytes, "project")?;
        let path = value["path_with_namespace"].as_str().ok_or_else(|| {
            ApiError::Transport(Transport::new(
                Trouble::Other,
                "the project answer has no path_with_namespace",
            ))
        })?;
        let permissions = &value["permissions"];
        let access_level = ["project_access", "group_access"]
            .iter()
            .filter_map(|k| permissions[k]["access_level"].as_u64())
            .max()
            .map(|l| l as u32);
        Ok(ProjectInfo {
            path_with_namespace: path.to_string(),
            archived: value["archived"].as_bool().unwrap_or(false),
            access_level,
        })
    }

    /// The project's members, inherited ones included, with their account state.
    pub(crate) fn project_members(&self) -> ApiResult<Vec<Member>> {
        self.refuse_job_token("list the project's members")?;
        self.get_all(&format!("{}/members/all", self.project_url()), "members")
    }

    /// The project's running jobs, newest first. A job token may ask too (its own project,
    /// as its pipeline's user): the jobs listing takes job tokens (`auth_for`).
    pub(crate) fn running_jobs(&self) -> ApiResult<Vec<RunningJob>> {
        let jobs: Vec<JobAnswer> = self.get_all(
            &format!("{}/jobs?scope[]=running", self.project_url()),
            "jobs",
        )?;
        Ok(jobs
            .into_iter()
            .map(|j| RunningJob {
                id: j.id,
                name: j.name,
                pipeline: j.pipeline.map(|p| p.id),
                username: j.user.map(|u| u.username),
                web_url: j.web_url,
            })
            .collect())
    }
}
