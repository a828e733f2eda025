use super::*;

#[test]
fn defaults_protect_prod_and_staging() {
    let project = Project::default();
    assert!(project.is_protected("prod"));
    assert!(project.is_protected("staging"));
    assert!(!project.is_protected("dev-alice"));
    for name in [
        "Production",
        "PROD",
        "prod-eu",
        "staging_2",
        "prod.us",
        "Staging-EU",
    ] {
        assert!(project.is_protected(name), "{name}");
    }
    for name in ["product", "prodigy", "staginglab", "preprod", "dev-prod"] {
        assert!(!project.is_protected(name), "{name}");
    }
    assert_eq!(project.personal_state("alice"), "dev-alice");
}

#[test]
fn globs() {
    let file: ProjectFile = toml::from_str("protected = [\"prod\", \"staging*\"]").unwrap();
    let project = Project {
        file,
        ..Default::default()
    };
    assert!(project.is_protected("staging-eu"));
    assert!(project.is_protected("STAGING-eu"));
    assert!(!project.is_protected("production"));
}

#[test]
fn unknown_key_points_at_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(FILE_NAME),
        "binary = \"tofu\"\nprotect = []\n",
    )
    .unwrap();
    let err = Project::load(dir.path()).unwrap_err();
    assert_eq!(err.location.unwrap().line, Some(2));
}
