use super::*;

#[test]
fn same_code_ignores_comments_and_layout() {
    let template = "# GitLab state\nterraform {\n  backend \"http\" {}\n}\n";
    assert!(same_code(
        "terraform {\n  backend \"http\" {\n  }\n}\n",
        template
    ));
    assert!(!same_code(
        "terraform {\n  backend \"http\" {}\n  required_version = \"1\"\n}\n",
        template
    ));
}
