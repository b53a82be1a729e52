#!/usr/bin/env bash
# Installs the repository's git hooks (hooks/pre-commit, hooks/pre-push) for this clone. Safe to rerun.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
git config core.hooksPath hooks
echo "git hooks installed: core.hooksPath=hooks (pre-commit: black, flake8, secret scan; pre-push: ./run_tests.sh --fast)"
