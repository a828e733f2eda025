//! The project's states as tfw shows and manages them (`tfw use`, `tfw state ...`). GitLab's
//! REST API knows one state at a time and has no listing, no "who holds the lock" and no list
//! of versions; these modules combine REST with GraphQL to answer those questions, and keep
//! the guards (confirmations, backups, verification) next to the calls they protect.

pub(crate) mod complete;
pub mod delete;
pub mod diff;
pub mod document;
pub mod drift;
pub mod drift_issue;
pub mod history;
pub mod listing;
pub mod locks;
pub mod prompt;
pub mod protection;
pub mod prune;
pub mod remote;
pub mod restore;
pub mod revision;
pub mod snapshot;
pub mod switch;
pub mod target;
pub mod unlock;
pub mod versions;
