//! Template files: tfw's own set (embedded from `templates/`) or a team's, written into
//! repositories and kept in sync with a lock file and 3-way merges.
