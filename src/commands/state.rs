//! `tfw state ...`: inspect and manage the project's states on GitLab. The reading commands
//! (list, show, versions, pull) live here; the ones that change GitLab have a module each in
//! `states/`, next to their guards.

use std::path::Path;

use anyhow::Result;

use crate::cli::StateCommand;
use crate::context::Context;
use crate::exit::ExitCode;
use crate::problem::Problem;
use crate::states::document::Summary;
use crate::states::listing::{Listing, StateLock, age, columns};
use crate::states::remote::Remote;
use crate::states::{delete, prune, restore, unlock, versions};

pub(super) fn run(ctx: &Context, command: &StateCommand) -> Result<ExitCode> {
    let remote = Remote::new(ctx)?;
    // What changes a state here takes the directory's run lock, as every apply does (unlock
    // takes it itself, to tell a run of its own state from any other).
    let changes = match command {
        StateCommand::Delete { name, .. } => Some(Some(name.clone())),
        StateCommand::Restore { .. } => Some(ctx.settings.state_flag.clone()),
        StateCommand::Prune { delete: true, .. } => Some(None),
        _ => None,
    };
    if let Some(state) = changes {
        crate::session::take_run_lock(ctx, state.as_deref())?;
    }
    match command {
        StateCommand::List { json } => list(&remote, *json),
        StateCommand::Show { name, json } => show(&remote, name.as_deref(), *json),
        StateCommand::Versions { name, json, limit } => {
            versions(&remote, name.as_deref(), *json, *limit)
        }
        StateCommand::Diff { name, a, b, json } => {
            super::state_diff::run(&remote, &[name.clone(), a.clone(), b.clone()], *json)
        }
        StateCommand::History { name, json, limit } => {
            super::state_history::run(&remote, name.as_deref(), *json, *limit)
        }
        StateCommand::Pull {
            name,
            serial,
            output,
        } => pull(&remote, name.as_deref(), *serial, output.as_deref()),
        StateCommand::Unlock {
            name,
            force,
            confirm,
        } => unlock::run(
            &remote,
            &unlock::Options {
                name: name.as_deref(),
                force: *force,
                confirm: confirm.as_deref(),
            },
        ),
        StateCommand::Delete {
            name,
            allow_protected,
            yes,
        } => delete::run(
            &remote,
            &delete::Options {
                name,
                allow_protected: *allow_protected,
                yes: *yes,
            },
        ),
        StateCommand::Prune {
            older_than,
            delete,
            yes,
        } => prune::run(
            &remote,
            &prune::Options {
                older_than,
                delete: *delete,
                yes: *yes,
            },
        ),
        StateCommand::Restore { file, confirm } => restore::run(&remote, file, confirm.as_deref()),
    }
}

fn list(remote: &Remote, json: bool) -> Result<ExitCode> {
    let listing = Listing::fetch(remote)?;
    if json {
        listing.print_json(&remote.ctx.printer)?;
    } else {
        listing.print_table(remote.ctx)?;
    }
    Ok(ExitCode::Success)
}

#[derive(serde::Serialize)]
struct Shown {
    name: String,
    current: bool,
    protected: bool,
    personal: bool,
    updated_at: Option<String>,
    updated_by: Option<String>,
    lock: Option<StateLock>,
    /// `null` when GitLab has the state record but no data (e.g. only ever locked).
    serial: Option<u64>,
    lineage: Option<String>,
    terraform_version: Option<String>,
    resources: Option<usize>,
    data_sources: Option<usize>,
    outputs: Vec<crate::states::document::Output>,
    /// GitLab's protection rule of the state (`null`: none, or this GitLab has none).
    protection_rule: Option<crate::backend::gitlab::ProtectionRule>,
    /// The same for people: the rule, `none`, or why it is not known.
    #[serde(skip)]
    protection: String,
}

fn show(remote: &Remote, name: Option<&str>, json: bool) -> Result<ExitCode> {
    let name = remote.target(name);
    let listing = Listing::fetch(remote)?;
    let row = listing
        .states
        .iter()
        .find(|r| r.name == name && r.exists)
        .ok_or_else(|| {
            let known: Vec<String> = listing
                .states
                .iter()
                .filter(|r| r.exists)
                .map(|r| r.name.clone())
                .collect();
            remote.missing(&name, &known)
        })?;
    let bytes = crate::states::delete::download(remote, &name)?;
    let summary = bytes.as_deref().and_then(Summary::parse);
    let rule = crate::states::protection::lookup(&remote.backend.for_state(&name), &name);
    let shown = Shown {
        name: name.clone(),
        current: row.current,
        protected: row.protected,
        personal: row.personal,
        updated_at: row.updated_at.clone(),
        updated_by: row.updated_by.clone(),
        lock: row.lock.clone(),
        serial: summary.as_ref().and_then(|s| s.serial),
        lineage: summary.as_ref().and_then(|s| s.lineage.clone()),
        terraform_version: summary.as_ref().and_then(|s| s.terraform_version.clone()),
        resources: summary.as_ref().map(|s| s.resources),
        data_sources: summary.as_ref().map(|s| s.data_sources),
        outputs: summary.map(|s| s.outputs).unwrap_or_default(),
        protection_rule: rule.rule().cloned(),
        protection: rule.describe(),
    };
    if json {
        remote.ctx.printer.json(&shown)?;
    } else {
        print_shown(
            remote.ctx,
            &shown,
            &remote.backend.for_state(&name).address(),
        )?;
    }
    Ok(ExitCode::Success)
}

fn print_shown(ctx: &Context, shown: &Shown, address: &str) -> Result<()> {
    let mut tags = Vec::new();
    for (on, tag) in [
        (shown.current, "current"),
        (shown.protected, "protected"),
        (shown.personal, "personal"),
    ] {
        if on {
            tags.push(tag);
        }
    }
    let name = if tags.is_empty() {
        shown.name.clone()
    } else {
        format!("{} ({})", shown.name, tags.join(", "))
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let updated = match &shown.updated_at {
        Some(at) => {
            let mut text = match age(at) {
                Some(ago) => format!("{at} ({ago})"),
                None => at.clone(),
            };
            if let Some(by) = &shown.updated_by {
                text.push_str(&format!(" by {by}"));
            }
            text
        }
        None => "-".into(),
    };
    let mut lines = vec![
        format!("state       {name}"),
        format!("address     {address}"),
    ];
    match shown.serial {
        None => lines.push("serial      - (GitLab holds no data for this state yet)".into()),
        Some(serial) => {
            lines.push(format!("serial      {serial}"));
            lines.push(format!("lineage     {}", opt(&shown.lineage)));
            lines.push(format!("terraform   {}", opt(&shown.terraform_version)));
        }
    }
    lines.push(format!("updated     {updated}"));
    if let Some(resources) = shown.resources {
        let data = match shown.data_sources.unwrap_or(0) {
            0 => String::new(),
            n => format!(" (+ {n} data source(s))"),
        };
        lines.push(format!("resources   {resources}{data}"));
    }
    lines.push(format!("protection  {}", shown.protection));
    lines.push(format!(
        "lock        {}",
        shown
            .lock
            .as_ref()
            .map_or("not locked".to_string(), |l| format!(
                "locked by {}",
                l.describe()
            ))
    ));
    if !shown.outputs.is_empty() {
        lines.push("outputs".into());
        let width = shown
            .outputs
            .iter()
            .map(|o| o.name.chars().count())
            .max()
            .unwrap_or(0);
        for output in &shown.outputs {
            lines.push(format!("  {:width$} = {}", output.name, output.shown(120)));
        }
    }
    ctx.printer.lines(lines)?;
    Ok(())
}

fn versions(remote: &Remote, name: Option<&str>, json: bool, limit: usize) -> Result<ExitCode> {
    let name = remote.target(name);
    let info = remote.info(&name)?;
    let found = versions::probe(remote, &info, limit.max(1))?;
    if json {
        remote.ctx.printer.json(&found)?;
        return Ok(ExitCode::Success);
    }
    let printer = &remote.ctx.printer;
    if found.versions.is_empty() {
        printer.status(&format!("GitLab holds no version of `{name}`"));
        return Ok(ExitCode::Success);
    }
    let header = ["SERIAL", "BYTES", "SHA256", "RESOURCES", "CREATED"].map(String::from);
    let rows = found.versions.iter().map(|v| {
        let created = match (&v.created_at, &v.created_by) {
            (Some(at), Some(by)) => format!("{} by {by}", age(at).unwrap_or_else(|| at.clone())),
            (Some(at), None) => age(at).unwrap_or_else(|| at.clone()),
            _ => "-".into(),
        };
        vec![
            v.serial.to_string(),
            v.size.to_string(),
            v.sha256[..12].to_string(),
            v.resources.map_or("-".into(), |r| r.to_string()),
            created,
        ]
    });
    printer.lines(columns(
        std::iter::once(header.to_vec()).chain(rows).collect(),
        &[0, 1, 3],
    ))?;
    if !found.complete
        && let Some(lowest) = found.lowest_probed
    {
        printer.note(&format!(
            "probed serials {lowest}..{}; older versions may exist (`--limit` shows more)",
            found.latest_serial.unwrap_or(lowest)
        ));
    }
    printer.hint(&format!(
        "`tfw state pull {name} --serial N -o FILE` downloads one"
    ));
    Ok(ExitCode::Success)
}

fn pull(
    remote: &Remote,
    name: Option<&str>,
    serial: Option<u64>,
    output: Option<&Path>,
) -> Result<ExitCode> {
    let name = remote.target(name);
    let bytes = match serial {
        Some(serial) => remote
            .call(
                &name,
                &format!("download version {serial} of `{name}`"),
                |c| c.get_version(&name, serial),
            )?
            .ok_or_else(|| {
                Problem::error(format!("GitLab has no version {serial} of state `{name}`")).hint(
                    format!("`tfw state versions {name}` lists the versions it has"),
                )
            })?,
        None => crate::states::delete::download(remote, &name)?.ok_or_else(|| {
            Problem::error(format!("GitLab holds no data for state `{name}`"))
                .hint("`tfw state list` shows the states that exist")
        })?,
    };
    match output {
        Some(path) if path != Path::new("-") => {
            let path = remote.ctx.dir().join(path);
            // A state holds secrets: a new file is readable by its owner only.
            crate::fsutil::write_atomic(&path, &bytes, 0o600)?;
            remote.ctx.printer.status(&format!(
                "wrote `{name}`{} ({} bytes) to {}",
                serial.map_or(String::new(), |s| format!(" version {s}")),
                bytes.len(),
                path.display()
            ));
        }
        _ => {
            // Exactly the bytes GitLab stored: no masking, no added newline.
            remote.ctx.printer.out_exact(&bytes)?;
        }
    }
    Ok(ExitCode::Success)
}
