//! Which projects of a group a fleet command visits: `--only`/`--exclude` globs on project
//! paths, then `--shard INDEX/TOTAL`, the share of one of TOTAL parallel CI jobs. Shards
//! split by project id (`id % TOTAL`), not by position, so a project added to the group does
//! not move every other project to another job between two runs.

use crate::cli::Shard;
use crate::problem::Problem;

impl Shard {
    /// Whether the project with this id is in the shard (`id % TOTAL == INDEX - 1`).
    pub(crate) fn takes(&self, id: u64) -> bool {
        id % self.total == self.index - 1
    }
}

/// `--only`/`--exclude` globs (`*` does not cross `/`, `**` does).
pub(crate) struct Filter {
    only: Vec<glob::Pattern>,
    exclude: Vec<glob::Pattern>,
}

impl Filter {
    pub(crate) fn new(only: &[String], exclude: &[String]) -> Result<Filter, Problem> {
        let compile = |flag: &str, patterns: &[String]| {
            patterns
                .iter()
                .map(|p| {
                    glob::Pattern::new(p).map_err(|err| {
                        Problem::error(format!("`{flag} {p}` is not a valid glob: {err}"))
                            .hint("globs match project paths: `--only 'team/*'`, `--exclude '**/sandbox-*'`")
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Filter {
            only: compile("--only", only)?,
            exclude: compile("--exclude", exclude)?,
        })
    }

    pub(crate) fn takes(&self, path: &str) -> bool {
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..glob::MatchOptions::new()
        };
        (self.only.is_empty() || self.only.iter().any(|p| p.matches_with(path, options)))
            && !self.exclude.iter().any(|p| p.matches_with(path, options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_by_id_and_cover_everything_once() {
        let shards: Vec<Shard> = (1..=3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for id in 0..30u64 {
            assert_eq!(shards.iter().filter(|s| s.takes(id)).count(), 1, "{id}");
        }
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn globs_match_project_paths() {
        let f = Filter::new(
            &["team/*".into(), "ops/**".into()],
            &["**/sandbox-*".into()],
        )
        .unwrap();
        assert!(f.takes("team/app"));
        assert!(!f.takes("team/sub/app"), "* stays in one level");
        assert!(f.takes("ops/a/b"));
        assert!(!f.takes("ops/x/sandbox-1"));
        assert!(!f.takes("other/app"));
        assert!(Filter::new(&[], &[]).unwrap().takes("any/thing"));
        assert!(Filter::new(&["[".into()], &[]).is_err());
    }
}
