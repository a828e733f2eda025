//! The projects of a group, subgroups included, archived ones left out: GitLab's
//! `GET /groups/:id/projects`, paged by keyset on `id` (no offset limit on a large group; a
//! GitLab that ignores `pagination=keyset` pages by offset, and `Link` is followed either way).

use serde::Deserialize;

use super::api::{Api, Failure};
use crate::backend::encode_segment;

/// One project as the listing shows it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub(crate) struct ProjectRef {
    pub id: u64,
    pub path_with_namespace: String,
    /// `null` for an empty repository; absent when the token's user may not read the code
    /// (a Guest), which `status` reports.
    #[serde(default, deserialize_with = "present")]
    pub default_branch: Option<Option<String>>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub empty_repo: bool,
    #[serde(default)]
    pub web_url: Option<String>,
}

/// Tells a `null` field (`Some(None)`) from an absent one (`None`, by `default`).
fn present<'de, D>(de: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(de).map(Some)
}

/// Every project of `group` (a full path or a numeric id), sorted by path.
pub(crate) fn of_group(api: &Api, group: &str) -> Result<Vec<ProjectRef>, Failure> {
    let url = api.url(&format!(
        "/groups/{}/projects?include_subgroups=true&archived=false&per_page=100&pagination=keyset&order_by=id&sort=asc",
        encode_segment(group)
    ));
    let mut projects: Vec<ProjectRef> = api.get_all(&url)?;
    // `archived=false` already leaves them out; a GitLab that ignores it must not change that.
    projects.retain(|p| !p.archived);
    projects.sort_by(|a, b| a.path_with_namespace.cmp(&b.path_with_namespace));
    projects.dedup_by_key(|p| p.id);
    Ok(projects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_absent_default_branches_differ() {
        let parse = |text: &str| {
            serde_json::from_str::<ProjectRef>(text)
                .unwrap()
                .default_branch
        };
        assert_eq!(
            parse(r#"{"id":1,"path_with_namespace":"a/b","default_branch":"main"}"#),
            Some(Some("main".into()))
        );
        assert_eq!(
            parse(r#"{"id":1,"path_with_namespace":"a/b","default_branch":null}"#),
            Some(None)
        );
        assert_eq!(parse(r#"{"id":1,"path_with_namespace":"a/b"}"#), None);
    }
}
