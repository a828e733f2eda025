//! `tfw state history`: the versions of a state, newest first, each with its resource count
//! and what changed since the version before it. Read over REST alone (the latest state,
//! then `versions/{serial}` downward, as `state versions` probes), so a CI job token works
//! too. A version GitLab does not have, one that is not a readable state, or one whose call
//! failed is a row with its reason, never a silent gap: the answer is then `partial`.

use anyhow::Result;
use serde::Serialize;

use crate::backend::gitlab::ApiError;
use crate::states::diff::compare;
use crate::states::remote::Remote;
use crate::states::snapshot::Snapshot;
use crate::states::versions::GAPS;

#[derive(Debug, Serialize)]
pub(crate) struct History {
    pub name: String,
    pub latest_serial: Option<u64>,
    /// Newest first.
    pub versions: Vec<Entry>,
    /// The lowest serial asked for; `complete`: every serial down to 0 was asked for.
    pub lowest_probed: Option<u64>,
    pub complete: bool,
    /// Some row is missing, unreadable or failed.
    pub partial: bool,
}

/// What reading one version gave (its JSON name in lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Read {
    Ok,
    /// GitLab has no such version.
    Missing,
    /// Not a state tfw can read.
    Unreadable,
    /// The call failed.
    Failed,
}

impl Read {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Missing => "missing",
            Self::Unreadable => "unreadable",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Entry {
    pub serial: u64,
    pub status: Read,
    pub reason: Option<String>,
    pub lineage: Option<String>,
    pub resources: Option<usize>,
    pub outputs: Option<usize>,
    /// The older version `changes` is measured against (`null`: none was found).
    pub against: Option<u64>,
    pub changes: Option<Changes>,
    #[serde(skip)]
    snapshot: Option<Snapshot>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub outputs: Vec<String>,
    pub lineage_changed: bool,
}

impl Entry {
    fn new(serial: u64, status: Read, reason: Option<String>) -> Entry {
        Entry {
            serial,
            status,
            reason,
            lineage: None,
            resources: None,
            outputs: None,
            against: None,
            changes: None,
            snapshot: None,
        }
    }

    fn read(serial: u64, bytes: &[u8]) -> Entry {
        match Snapshot::from_state(bytes) {
            Ok(snapshot) => Entry {
                lineage: snapshot.lineage.clone(),
                resources: Some(snapshot.resource_count()),
                outputs: Some(snapshot.outputs.len()),
                snapshot: Some(snapshot),
                ..Entry::new(serial, Read::Ok, None)
            },
            Err(reason) => Entry::new(serial, Read::Unreadable, Some(reason)),
        }
    }
}

/// Up to `limit` versions (plus the one before the oldest, to say what it changed).
pub(crate) fn fetch(remote: &Remote, name: &str, limit: usize) -> Result<History> {
    let latest = crate::states::delete::download(remote, name)?;
    let mut history = History {
        name: name.to_string(),
        latest_serial: None,
        versions: Vec::new(),
        lowest_probed: None,
        complete: true,
        partial: false,
    };
    let Some(latest) = latest else {
        return Ok(history);
    };
    let Some(top) = crate::backups::serial_of(&latest) else {
        history.versions.push(Entry::read(0, &latest));
        history.partial = true;
        return Ok(history);
    };
    history.latest_serial = Some(top);
    let wanted = limit + 1;
    let budget = wanted as u64 + GAPS;
    let spinner = remote
        .ctx
        .printer
        .spinner(&format!("asking GitLab for the versions of `{name}`"));
    let mut entries = vec![Entry::read(top, &latest)];
    let mut lowest = top;
    for serial in (top.saturating_sub(budget - 1)..top).rev() {
        if entries.iter().filter(|e| e.status != Read::Missing).count() >= wanted {
            break;
        }
        lowest = serial;
        let entry = match remote.client.get_version(name, serial) {
            Ok(Some(bytes)) => Entry::read(serial, &bytes),
            Ok(None) => Entry::new(
                serial,
                Read::Missing,
                Some(format!("GitLab has no version {serial}")),
            ),
            // Token, role or network: every other call would fail alike.
            Err(
                err @ (ApiError::Transport(_)
                | ApiError::Status {
                    code: 401 | 403, ..
                }),
            ) => {
                drop(spinner);
                return Err(remote.failure(
                    name,
                    &format!("read version {serial} of `{name}`"),
                    &err,
                ));
            }
            Err(err) => Entry::new(
                serial,
                Read::Failed,
                Some(err.problem("the call failed", &remote.backend).message),
            ),
        };
        entries.push(entry);
    }
    drop(spinner);
    // Missing serials below the oldest version found are not a gap, just the end.
    while entries.last().is_some_and(|e| e.status == Read::Missing) {
        entries.pop();
    }
    link(&mut entries);
    // The extra version only served to say what the oldest shown one changed.
    let found: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].status != Read::Missing)
        .collect();
    if found.len() > limit {
        entries.truncate(found[limit]);
    }
    history.lowest_probed = Some(lowest);
    history.complete = lowest == 0;
    history.partial = entries.iter().any(|e| e.status != Read::Ok);
    history.versions = entries;
    Ok(history)
}

/// Each readable version against the next older readable one.
fn link(entries: &mut [Entry]) {
    for i in 0..entries.len() {
        let Some(newer) = &entries[i].snapshot else {
            continue;
        };
        let Some(older) = entries[i + 1..].iter().find(|e| e.snapshot.is_some()) else {
            continue;
        };
        let older_snapshot = older.snapshot.as_ref().expect("found by snapshot");
        let diff = compare(older_snapshot, newer);
        let changes = Changes {
            added: diff.resources.added,
            removed: diff.resources.removed,
            changed: diff
                .resources
                .changed
                .into_iter()
                .map(|c| c.address)
                .collect(),
            outputs: diff.outputs.into_iter().map(|c| c.name).collect(),
            lineage_changed: older_snapshot.lineage != newer.lineage,
        };
        let against = older.serial;
        entries[i].against = Some(against);
        entries[i].changes = Some(changes);
    }
}

impl Changes {
    /// `+1 -0 ~2, outputs ~1: + a.b, ~ c.d` for the table (at most three addresses).
    pub(crate) fn describe(&self) -> String {
        let mut text = if self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.outputs.is_empty()
        {
            "no change".to_string()
        } else {
            format!(
                "+{} -{} ~{}",
                self.added.len(),
                self.removed.len(),
                self.changed.len()
            )
        };
        if !self.outputs.is_empty() {
            text.push_str(&format!(", outputs ~{}", self.outputs.len()));
        }
        let named: Vec<String> = self
            .added
            .iter()
            .map(|a| format!("+ {a}"))
            .chain(self.removed.iter().map(|a| format!("- {a}")))
            .chain(self.changed.iter().map(|a| format!("~ {a}")))
            .collect();
        if !named.is_empty() {
            text.push_str(": ");
            text.push_str(&named.iter().take(3).cloned().collect::<Vec<_>>().join(", "));
            if named.len() > 3 {
                text.push_str(&format!(" (+{} more)", named.len() - 3));
            }
        }
        if self.lineage_changed {
            text.push_str(" (new lineage)");
        }
        text
    }
}
