//! The versions of a state. GitLab stores every write as a version keyed by its serial, but
//! its REST API has no list of versions and GraphQL tells only the latest serial. So tfw
//! probes `GET versions/{serial}` from the latest serial downward, one serial at a time, and
//! stops when it has `limit` versions, has reached serial 0, or has made `limit + GAPS` probes
//! (serials are usually consecutive; gaps come from deleted versions or a restore's jump). The
//! answer says whether older versions may exist beyond what was probed.

use anyhow::Result;
use serde::Serialize;

use crate::backend::gitlab::StateInfo;
use crate::fsutil::sha256_hex;
use crate::states::document::Summary;
use crate::states::remote::Remote;

/// How many missing serials the probe tolerates beyond `limit`.
pub(crate) const GAPS: u64 = 20;

#[derive(Debug, Serialize)]
pub(crate) struct Versions {
    pub name: String,
    pub latest_serial: Option<u64>,
    /// Newest first.
    pub versions: Vec<Version>,
    /// The lowest serial asked for (`null` when nothing was probed).
    pub lowest_probed: Option<u64>,
    /// True when every serial from the latest down to 0 was probed: there is nothing older.
    pub complete: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Version {
    pub serial: u64,
    /// Size in bytes and sha256 of exactly what GitLab stored (compare with `state pull`).
    pub size: usize,
    pub sha256: String,
    pub lineage: Option<String>,
    pub terraform_version: Option<String>,
    pub resources: Option<usize>,
    /// Known for the latest version only (GraphQL's `latestVersion`).
    pub created_at: Option<String>,
    pub created_by: Option<String>,
}

pub(crate) fn probe(remote: &Remote, info: &StateInfo, limit: usize) -> Result<Versions> {
    let name = info.name.as_str();
    let latest = info.serial();
    let mut versions = Vec::new();
    let mut lowest = None;
    let Some(top) = latest else {
        return Ok(Versions {
            name: name.to_string(),
            latest_serial: None,
            versions,
            lowest_probed: None,
            complete: true,
        });
    };
    let budget = limit as u64 + GAPS;
    let spinner = remote
        .ctx
        .printer
        .spinner(&format!("asking GitLab for the versions of `{name}`"));
    for serial in (top.saturating_sub(budget - 1)..=top).rev() {
        if versions.len() >= limit {
            break;
        }
        lowest = Some(serial);
        let bytes = remote.client.get_version(name, serial).map_err(|err| {
            remote.failure(name, &format!("read version {serial} of `{name}`"), &err)
        })?;
        let Some(bytes) = bytes else { continue };
        let summary = Summary::parse(&bytes);
        let latest_version = info.latest_version.as_ref().filter(|_| serial == top);
        versions.push(Version {
            serial,
            size: bytes.len(),
            sha256: sha256_hex(&bytes),
            lineage: summary.as_ref().and_then(|s| s.lineage.clone()),
            terraform_version: summary.as_ref().and_then(|s| s.terraform_version.clone()),
            resources: summary.as_ref().map(|s| s.resources),
            created_at: latest_version.and_then(|v| v.created_at.clone()),
            created_by: latest_version
                .and_then(|v| v.created_by.as_ref())
                .map(|u| u.username.clone()),
        });
    }
    drop(spinner);
    Ok(Versions {
        name: name.to_string(),
        latest_serial: latest,
        versions,
        lowest_probed: lowest,
        complete: lowest == Some(0),
    })
}
