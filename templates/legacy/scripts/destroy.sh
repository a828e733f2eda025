#!/bin/bash
if [ ! -f .env ]; then
  echo "Fichier .env manquant."
  exit 1
fi
source .env
terraform destroy
