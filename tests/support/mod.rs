//! Test helpers shared by every integration test.
pub mod gitlab;
