#!/bin/bash
source .env
terraform graph | dot -Tsvg > graph.svg
