# GitLab-managed Terraform state. The address, the lock and the credentials come from .env
# (or CI's job token) through tfw, so nothing here is personal. Managed by `tfw sync`.
terraform {
  backend "http" {}
}
