//! The one integration test binary: every test drives the real `tfw` binary, the real
//! Terraform (installed by `scripts/install-test-terraform`) and the GitLab test server.
mod support;

mod ci;
mod concurrency;
mod dotenv_fuzz;
mod drift;
mod engine_faults;
mod faults;
mod file_modes;
mod file_safety;
mod gate;
mod gitlab_answers;
mod gitlab_rules;
mod gitlab_server;
mod guards;
mod hot_path;
mod interrupts;
mod locks;
mod masking;
mod prompt;
mod protection;
mod roots;
mod safety;
mod secrets;
mod state_diff;
mod state_source;
mod state_target;
mod states;
mod template_adopt;
mod template_check;
mod template_safety;
mod template_sync;
mod templates;
mod ux;
mod validation;
mod workflow;
