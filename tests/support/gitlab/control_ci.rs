//! What the `tfw locks` tests set up beyond `control.rs`: a CI job that wrote a version and
//! holds the lock (what a cancelled apply leaves), the end of a job (cancelled, with GitLab's
//! `finishedAt`), and a project whose GraphQL `terraformStates` fails.

use std::time::SystemTime;

use serde_json::Map;

use super::GitLab;
use super::model::{LockRec, VersionRec};
use super::state_api::serial_of;

impl GitLab {
    /// As a job-token apply does before it is cancelled: the job's pipeline user takes the
    /// lock at `locked_at`, then writes `bytes` as a version GitLab records with the job.
    pub fn lock_and_write_as_job(
        &self,
        project: &str,
        name: &str,
        token: &str,
        locked_at: SystemTime,
        bytes: &[u8],
    ) {
        let mut world = self.shared.world();
        let job = world
            .jobs
            .iter()
            .find(|j| j.token == token)
            .unwrap_or_else(|| panic!("no CI job has token {token:?}"));
        let (id, name_of_job, pipeline, username) = (
            job.id,
            job.name.clone(),
            job.pipeline_id,
            job.username.clone(),
        );
        let state = world.project_mut(project).state_entry(name);
        let serial = serde_json::from_slice(bytes)
            .ok()
            .as_ref()
            .and_then(serial_of)
            .expect("a state document with a serial");
        state.lock = Some(LockRec {
            id: format!("lock-of-job-{id}"),
            username: username.clone(),
            locked_at,
            info: Map::new(),
        });
        state.versions.insert(
            serial,
            VersionRec {
                bytes: bytes.to_vec(),
                created_at: SystemTime::now(),
                created_by: Some(username),
                job: Some((id, name_of_job, pipeline)),
            },
        );
    }

    /// Ends the job as cancelled (its pipeline too: one job a pipeline here), now.
    pub fn cancel_job(&self, token: &str) {
        let mut world = self.shared.world();
        let Some(job) = world.jobs.iter_mut().find(|j| j.token == token) else {
            panic!("no CI job has token {token:?}");
        };
        job.status = "canceled".into();
        let id = job.id;
        world.job_finished_at.insert(id, SystemTime::now());
    }

    /// GraphQL's `terraformStates` of `project` (full path) fails with `message`; the other
    /// projects of the same answer are unaffected.
    pub fn break_graphql_states(&self, project: &str, message: &str) {
        self.shared
            .world()
            .graphql_broken
            .insert(project.to_string(), message.to_string());
    }
}
