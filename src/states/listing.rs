//! How states are shown: one row per state (name, latest serial, last update, lock holder),
//! the current one marked like kubectx does, as a table for people and pipes or as JSON with
//! the schema documented in `docs/states.md`.

use std::time::SystemTime;

use console::Style;
use serde::Serialize;

use crate::backend::gitlab::StateInfo;
use crate::context::Context;
use crate::printer::{Printer, StdoutError};
use crate::states::remote::Remote;

/// One state in `tfw use`/`tfw state list` (JSON field names are part of the stable schema).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub name: String,
    pub current: bool,
    pub protected: bool,
    pub personal: bool,
    /// False only for the current state when GitLab has no record of it yet.
    pub exists: bool,
    pub serial: Option<u64>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
    pub lock: Option<StateLock>,
    /// When GitLab scheduled the state's deletion; until its worker has removed it, every
    /// call about it fails and the name cannot be reused.
    pub deleted_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct StateLock {
    pub holder: Option<String>,
    pub since: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Listing {
    pub states: Vec<Row>,
}

impl StateLock {
    pub(crate) fn of(info: &StateInfo) -> Option<StateLock> {
        if info.locked_at.is_none() && info.locked_by.is_none() {
            return None;
        }
        Some(StateLock {
            holder: info.lock_holder().map(str::to_string),
            since: info.locked_at.clone(),
        })
    }

    /// "bob, 2h ago" / "bob since 2024-05-01T10:00:00Z" style, for people.
    pub(crate) fn describe(&self) -> String {
        let who = self.holder.as_deref().unwrap_or("someone");
        match self.since.as_deref() {
            Some(since) => match age(since) {
                Some(ago) => format!("{who}, {ago}"),
                None => format!("{who} since {since}"),
            },
            None => who.to_string(),
        }
    }
}

impl Listing {
    /// The project's states from GitLab, the current one marked.
    pub(crate) fn fetch(remote: &Remote) -> anyhow::Result<Self> {
        let states = remote.states()?;
        let current = remote.ctx.settings.state().map(|s| s.value);
        Ok(Self::new(remote.ctx, &states, current.as_deref()))
    }

    /// Rows for the states GitLab listed, plus the current state when GitLab has none yet (a
    /// personal state before its first apply), so the mark is always somewhere.
    pub(crate) fn new(ctx: &Context, states: &[StateInfo], current: Option<&str>) -> Self {
        let project = &ctx.settings.project;
        let username = ctx.settings.username();
        let row = |name: &str| Row {
            name: name.to_string(),
            current: current == Some(name),
            protected: project.is_protected(name),
            personal: project.looks_personal(name),
            exists: true,
            serial: None,
            updated_at: None,
            updated_by: None,
            lock: None,
            deleted_at: None,
        };
        let mut rows: Vec<Row> = states
            .iter()
            .map(|info| {
                let latest = info.latest_version.as_ref();
                Row {
                    serial: info.serial(),
                    updated_at: info.updated_at.clone(),
                    updated_by: latest
                        .and_then(|v| v.created_by.as_ref())
                        .map(|u| u.username.clone()),
                    lock: StateLock::of(info),
                    deleted_at: info.deleted_at.clone(),
                    ..row(&info.name)
                }
            })
            .collect();
        if let Some(current) = current
            && !rows.iter().any(|r| r.name == current)
        {
            rows.push(Row {
                exists: false,
                ..row(current)
            });
            rows.sort_by(|a, b| a.name.cmp(&b.name));
        }
        // Your own personal state is "personal" even with a custom rule that has no `*` match.
        for row in &mut rows {
            row.personal |= project.is_personal(&row.name, username.as_deref());
        }
        Self { states: rows }
    }

    /// The table's lines: a header, then one line per state, the current one starting `*`.
    pub(crate) fn lines(&self) -> Vec<String> {
        let header = ["  NAME", "SERIAL", "UPDATED", "LOCK"]
            .map(String::from)
            .to_vec();
        let rows = self.states.iter().map(|row| {
            let [name, serial, updated, lock] = cells(row);
            let mark = if row.current { '*' } else { ' ' };
            vec![format!("{mark} {name}"), serial, updated, lock]
        });
        columns(std::iter::once(header).chain(rows).collect(), &[1])
    }

    /// One line per state for the picker, readable without a header, in the table's order:
    /// `* dev-alice   serial 3   updated 5m ago   locked by bob, 2h ago`, a protected state
    /// marked `[protected]` after its name.
    pub(crate) fn picker_items(&self) -> Vec<String> {
        let rows = self.states.iter().map(|row| {
            let [name, serial, updated, _] = cells(row);
            let mark = if row.current { '*' } else { ' ' };
            let name = if row.protected {
                format!("{name} [protected]")
            } else {
                name
            };
            let updated = if row.deleted_at.is_some() {
                "being deleted".into()
            } else if row.exists {
                format!("updated {updated}")
            } else {
                updated
            };
            let lock = row
                .lock
                .as_ref()
                .map_or(String::new(), |l| format!("locked by {}", l.describe()));
            vec![
                format!("{mark} {name}"),
                format!("serial {serial}"),
                updated,
                lock,
            ]
        });
        columns(rows.collect(), &[])
    }

    /// The table on stdout (data: it goes to pipes). Colour only when stdout is a terminal.
    pub(crate) fn print_table(&self, ctx: &Context) -> Result<(), StdoutError> {
        let color = ctx.printer.color_stdout();
        let paint = |text: &str, style: Style| {
            if color {
                style.force_styling(true).apply_to(text).to_string()
            } else {
                text.to_string()
            }
        };
        let lines = self.lines();
        ctx.printer
            .lines(lines.iter().enumerate().map(|(index, line)| {
                match index.checked_sub(1).map(|i| &self.states[i]) {
                    None => paint(line, Style::new().dim()),
                    Some(row) if row.current => paint(line, Style::new().green().bold()),
                    Some(row) if row.protected => paint(line, Style::new().yellow()),
                    Some(_) => line.clone(),
                }
            }))
    }

    /// A JSON array of rows (`tfw state list --json | jq -r '.[].name'`).
    pub(crate) fn print_json(&self, printer: &Printer) -> anyhow::Result<()> {
        printer.json(&self.states)
    }
}

fn cells(row: &Row) -> [String; 4] {
    let serial = row.serial.map_or("-".to_string(), |s| s.to_string());
    let updated = if row.deleted_at.is_some() {
        "being deleted".into()
    } else if row.exists {
        row.updated_at
            .as_deref()
            .map(|t| age(t).unwrap_or_else(|| t.to_string()))
            .unwrap_or_else(|| "-".into())
    } else {
        "not on GitLab yet".into()
    };
    let lock = row
        .lock
        .as_ref()
        .map_or("-".to_string(), StateLock::describe);
    [row.name.clone(), serial, updated, lock]
}

/// Aligns rows of cells into lines, two spaces apart; `right` lists the right-aligned columns.
/// The last column is not padded, and no line ends in spaces.
pub(crate) fn columns(rows: Vec<Vec<String>>, right: &[usize]) -> Vec<String> {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, cell)| match (right.contains(&i), i + 1 == count) {
                    (true, _) => format!("{cell:>w$}", w = widths[i]),
                    (false, false) => format!("{cell:w$}", w = widths[i]),
                    (false, true) => cell.clone(),
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

/// "just now", "5m ago", "3h ago", "12d ago" for an RFC 3339 time; `None` if unparsable.
pub(crate) fn age(time: &str) -> Option<String> {
    let seconds = elapsed(time)?.as_secs();
    Some(match seconds {
        0..60 => "just now".into(),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..172_800 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86_400),
    })
}

/// Time since a GitLab time; zero for a time in the future.
pub(crate) fn elapsed(time: &str) -> Option<std::time::Duration> {
    let then = parse_time(time)?;
    Some(SystemTime::now().duration_since(then).unwrap_or_default())
}

/// An ISO 8601 time as GitLab prints it: `Z` on a UTC instance, `+hh:mm`/`-hh:mm` on one in
/// another zone (Rails renders times in the instance's zone), with or without fractions.
pub(crate) fn parse_time(time: &str) -> Option<SystemTime> {
    let time = time.trim();
    let (local, offset) = match time.strip_suffix('Z') {
        Some(local) => (local, 0i64),
        None => {
            let split = time.len().checked_sub(6)?;
            let (local, zone) = time.split_at(split);
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return humantime::parse_rfc3339_weak(time).ok(),
            };
            let (hours, minutes) = zone[1..].split_once(':')?;
            let minutes = hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?;
            (local, sign * minutes * 60)
        }
    };
    let at = humantime::parse_rfc3339_weak(local).ok()?;
    let shift = std::time::Duration::from_secs(offset.unsigned_abs());
    // Local time minus the offset is UTC.
    Some(if offset >= 0 { at - shift } else { at + shift })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_times_with_offsets_are_read() {
        let utc = parse_time("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(parse_time("2024-05-01T12:00:00+02:00"), Some(utc));
        assert_eq!(parse_time("2024-05-01T12:00:00.000+02:00"), Some(utc));
        assert_eq!(parse_time("2024-05-01T05:30:00-04:30"), Some(utc));
        assert_eq!(
            parse_time("2024-05-01T10:00:00.123Z").map(|t| t > utc),
            Some(true)
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
