#!/bin/bash
if [ ! -f .env ]; then
  echo "Fichier .env manquant."
  exit 1
fi
source .env
echo "Utilisateur : ${TF_HTTP_USERNAME}"
if [ ! -f backend.hcl ]; then
  echo "Fichier backend.hcl manquant."
  exit 1
fi
terraform init -reconfigure -backend-config=backend.hcl "$@"
