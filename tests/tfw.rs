//! The one integration test binary: every test drives the real `tfw` binary, the real
//! Terraform (installed by `scripts/install-test-terraform`) and the GitLab test server.
mod support;

mod gitlab_server;
mod workflow;
mod validation;
mod safety;
mod faults;
mod ci;
mod ux;
mod states;
mod templates;
mod engine_faults;
mod dotenv_fuzz;
mod hot_path;
