//! Many repositories at once (`tfw sync --repos`): the list expanded from directories and list
//! files, the work spread over one thread per core with a shared queue (std's scoped threads:
//! the work is a few file reads per repository, a thread pool crate would add nothing; `each`
//! is also how `tfw fleet` visits a group's projects), a progress bar on a terminal only, and
//! the final table. A repository that fails, even by
//! panicking, is one `error` row; the others go on.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::report::{RepoReport, State};
use crate::problem::Problem;

/// A repository to visit and how to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repo {
    pub dir: PathBuf,
    pub shown: String,
}

/// Directories as given, and the directories listed (one per line, `#` comments) in files.
/// A path that does not exist stays in the list: it becomes that repository's error row.
pub(crate) fn expand(args: &[PathBuf]) -> Result<Vec<Repo>, Problem> {
    let mut repos: Vec<Repo> = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |dir: PathBuf| {
        let key = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if seen.insert(key) {
            repos.push(Repo {
                shown: dir.display().to_string(),
                dir,
            });
        }
    };
    for arg in args {
        if !arg.is_file() {
            push(arg.clone());
            continue;
        }
        let text = std::fs::read_to_string(arg).map_err(|err| {
            Problem::error(format!("cannot read the repository list: {err}")).at(arg, None)
        })?;
        let base = arg.parent().unwrap_or(Path::new(""));
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            push(base.join(line));
        }
    }
    Ok(repos)
}

/// Runs `work` on every repository, at most one per core at a time; reports in input order.
pub(crate) fn run<F>(repos: &[Repo], progress: bool, work: F) -> Vec<RepoReport>
where
    F: Fn(&Path, &str) -> RepoReport + Sync,
{
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    each(
        repos,
        workers,
        progress.then(|| bar(repos.len())),
        |repo| repo.shown.clone(),
        |repo| work(&repo.dir, &repo.shown),
        |repo| {
            RepoReport::failed(
                &repo.shown,
                Problem::error("tfw crashed on this repository"),
            )
        },
    )
}

/// The bar `each` advances, for `len` items: made by the caller, which may print above it
/// (`ProgressBar::suspend`) while it is drawn; cleared by `screen::restore` on a signal.
pub(crate) fn bar(len: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
        bar.set_style(style);
    }
    crate::progress::track(&bar);
    bar
}

/// Runs `work` on every item, at most `workers` at a time (clamped to 1..=items), with a
/// progress bar (`bar`, cleared at the end) naming each finished item; results in input order. An item
/// whose work panics gets `crashed(item)`: the others go on. Shared by `tfw sync --repos`
/// and `tfw fleet` (whose work waits on GitLab rather than on the disk, so it asks for more
/// workers than cores).
pub(crate) fn each<T, R>(
    items: &[T],
    workers: usize,
    bar: Option<indicatif::ProgressBar>,
    name: impl Fn(&T) -> String + Sync,
    work: impl Fn(&T) -> R + Sync,
    crashed: impl Fn(&T) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let workers = workers.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = catch_unwind(AssertUnwindSafe(|| work(item)))
                        .unwrap_or_else(|_| crashed(item));
                    *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    if let Some(bar) = &bar {
                        bar.set_message(name(item));
                        bar.inc(1);
                    }
                }
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    results
        .into_iter()
        .zip(items)
        .map(|(slot, item)| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| crashed(item))
        })
        .collect()
}

/// The final table: repository, state, files changed, conflicts, and what stands out.
pub(crate) fn table(reports: &[RepoReport]) -> String {
    let header = ["REPO", "STATE", "CHANGED", "CONFLICTS", "DETAIL"];
    let rows: Vec<[String; 5]> = reports
        .iter()
        .map(|r| {
            [
                r.repo.clone(),
                r.state.as_str().to_string(),
                r.files_changed.to_string(),
                r.conflicts.to_string(),
                r.detail(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == cells.len() - 1 {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out
}

/// `50 repositories: 45 updated, 4 conflicts, 1 error`.
pub(crate) fn summary(reports: &[RepoReport]) -> String {
    let order = [
        State::UpToDate,
        State::Updated,
        State::UpdateAvailable,
        State::Drift,
        State::Conflicts,
        State::Error,
    ];
    let counts: Vec<String> = order
        .iter()
        .filter_map(|state| {
            let n = reports.iter().filter(|r| r.state == *state).count();
            (n > 0).then(|| format!("{n} {}", state.as_str()))
        })
        .collect();
    let noun = if reports.len() == 1 {
        "repository"
    } else {
        "repositories"
    };
    format!("{} {noun}: {}", reports.len(), counts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_relative_to_their_file_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("list"), "# repos\na\n\na\nmissing\n").unwrap();
        let repos = expand(&[dir.path().join("list"), dir.path().join("a")]).unwrap();
        let dirs: Vec<PathBuf> = repos.into_iter().map(|r| r.dir).collect();
        assert_eq!(dirs, vec![dir.path().join("a"), dir.path().join("missing")]);
    }

    #[test]
    fn a_panicking_repository_is_one_error_row() {
        let repos: Vec<Repo> = (0..5)
            .map(|i| Repo {
                dir: PathBuf::from(format!("r{i}")),
                shown: format!("r{i}"),
            })
            .collect();
        let reports = run(&repos, false, |dir, shown| {
            assert!(dir != Path::new("r2"), "boom");
            RepoReport::new(shown)
        });
        let states: Vec<State> = reports.iter().map(|r| r.state).collect();
        assert_eq!(states[2], State::Error);
        assert_eq!(states.iter().filter(|s| **s == State::UpToDate).count(), 4);
        assert_eq!(reports[4].repo, "r4");
    }

    #[test]
    fn table_aligns_columns() {
        let mut failed = RepoReport::failed("long/repo/name", Problem::error("broken"));
        failed.files_changed = 0;
        let text = table(&[RepoReport::new("a"), failed]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find("STATE"), lines[1].find("up-to-date"));
        assert!(lines[2].ends_with("broken"));
        assert_eq!(
            summary(&[RepoReport::new("a")]),
            "1 repository: 1 up-to-date"
        );
    }
}
