//! The project's states as tfw shows and manages them (`tfw use`, `tfw state ...`). GitLab's
//! REST API knows one state at a time and has no listing, no "who holds the lock" and no list
//! of versions; these modules combine REST with GraphQL to answer those questions, and keep
//! the guards (confirmations, backups, verification) next to the calls they protect.

pub(crate) mod complete;
pub(crate) mod delete;
pub(crate) mod diff;
pub(crate) mod document;
pub(crate) mod drift;
pub(crate) mod drift_issue;
pub(crate) mod history;
pub(crate) mod listing;
pub(crate) mod locks;
pub(crate) mod prompt;
pub(crate) mod protection;
pub(crate) mod prune;
pub(crate) mod remote;
pub(crate) mod restore;
pub(crate) mod revision;
pub(crate) mod snapshot;
pub(crate) mod switch;
pub(crate) mod target;
pub(crate) mod unlock;
pub(crate) mod versions;
