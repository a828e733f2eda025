use super::*;

#[test]
fn reads_plan_lines() {
    let s =
        Summary::from_plan_output("\u{1b}[1mPlan:\u{1b}[0m 1 to add, 2 to change, 3 to destroy.\n")
            .unwrap();
    assert_eq!((s.add, s.change, s.destroy), (1, 2, 3));
    assert_eq!(
        s.gitlab_report(),
        serde_json::json!({"create":1,"update":2,"delete":3})
    );
    let s = Summary::from_plan_output("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.")
        .unwrap();
    assert_eq!(s.import, 1);
    assert!(
        Summary::from_plan_output("No changes. Your infrastructure matches the configuration.")
            .unwrap()
            .is_empty()
    );
    assert!(Summary::from_plan_output("nothing").is_none());
}

/// `terraform show -json` of a Terraform 1.0 plan (trimmed to the fields that matter, in
/// terraform's own layout) with every kind of action, and the text line terraform printed
/// for the same plan: both readings must agree, and match GitLab's count.
const SHOW_JSON: &str = r#"{
  "format_version": "0.2",
  "terraform_version": "1.0.3",
  "resource_changes": [
    {"address": "random_pet.name", "mode": "managed", "type": "random_pet", "name": "name",
     "provider_name": "registry.terraform.io/hashicorp/random",
     "change": {"actions": ["create"], "before": null, "after": {"length": 2},
                "after_unknown": {"id": true}, "before_sensitive": false, "after_sensitive": {}}},
    {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "change": {"actions": ["update"], "before": {"tags": {}}, "after": {"tags": {"team": "infra"}},
                "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}}},
    {"address": "aws_instance.old", "mode": "managed", "type": "aws_instance", "name": "old",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "change": {"actions": ["delete"], "before": {"ami": "ami-1"}, "after": null,
                "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false}},
    {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance", "name": "web",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "change": {"actions": ["delete", "create"], "before": {"ami": "ami-1"}, "after": {"ami": "ami-2"},
                "after_unknown": {"id": true}, "before_sensitive": {}, "after_sensitive": {},
                "replace_paths": [["ami"]]},
     "action_reason": "replace_because_cannot_update"},
    {"address": "aws_security_group.web", "mode": "managed", "type": "aws_security_group", "name": "web",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "change": {"actions": ["create", "delete"], "before": {"name": "a"}, "after": {"name": "b"},
                "after_unknown": {"id": true}, "before_sensitive": {}, "after_sensitive": {}}},
    {"address": "module.db.aws_db_instance.main[0]", "module_address": "module.db", "mode": "managed",
     "type": "aws_db_instance", "name": "main", "index": 0,
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "change": {"actions": ["create"], "before": null, "after": {"engine": "postgres"},
                "after_unknown": {"id": true}, "before_sensitive": false, "after_sensitive": {}}},
    {"address": "data.aws_ami.ubuntu", "mode": "data", "type": "aws_ami", "name": "ubuntu",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "change": {"actions": ["read"], "before": null, "after": {"most_recent": true},
                "after_unknown": {"id": true}, "before_sensitive": false, "after_sensitive": {}}},
    {"address": "aws_vpc.main", "mode": "managed", "type": "aws_vpc", "name": "main",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "change": {"actions": ["no-op"], "before": {"cidr_block": "10.0.0.0/16"},
                "after": {"cidr_block": "10.0.0.0/16"}, "after_unknown": {},
                "before_sensitive": {}, "after_sensitive": {}}}
  ],
  "output_changes": {
    "bucket": {"actions": ["create"], "before": null, "after": "logs", "after_unknown": false,
               "before_sensitive": false, "after_sensitive": false}
  }
}"#;

#[test]
fn reads_the_json_change_summary_event() {
    let out = "{\"@level\":\"info\",\"type\":\"version\"}\n{\"@level\":\"info\",\"@message\":\"Plan: 2 to add, 1 to change, 1 to destroy.\",\"type\":\"change_summary\",\"changes\":{\"add\":2,\"change\":1,\"remove\":1,\"operation\":\"plan\"}}\n";
    let s = Summary::from_plan_output(out).unwrap();
    assert_eq!((s.add, s.change, s.destroy), (2, 1, 1));
}

#[test]
fn counts_show_json_as_gitlab_does() {
    let plan: serde_json::Value = serde_json::from_str(SHOW_JSON).unwrap();
    let summary = Summary::from_show_json(&plan);
    assert_eq!(
        summary.gitlab_report(),
        serde_json::json!({"create": 4, "update": 1, "delete": 3})
    );
    let text = Summary::from_plan_output("Plan: 4 to add, 1 to change, 3 to destroy.").unwrap();
    assert_eq!(summary, text);
}

#[test]
fn counts_nothing_without_resource_changes() {
    // An outputs-only plan (or `-destroy` of an empty state) has no resource_changes.
    let plan = serde_json::json!({"format_version": "0.2", "output_changes": {}});
    assert!(Summary::from_show_json(&plan).is_empty());
    assert!(Summary::from_show_json(&serde_json::json!({"resource_changes": []})).is_empty());
}
