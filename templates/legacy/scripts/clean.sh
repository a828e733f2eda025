#!/bin/bash
rm -rf .terraform *.tfplan graph.svg
