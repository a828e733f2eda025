# A minimal configuration for trying tfw: no provider, nothing to download.
terraform {
  backend "http" {}
}

variable "greeting" {
  default = "hello from tfw"
}

output "greeting" {
  value = var.greeting
}
