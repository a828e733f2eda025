#!/bin/bash
terraform fmt *.tf
