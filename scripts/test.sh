#!/usr/bin/env bash
# The whole test suite: what the README's second command and CI run.
# Setup runs first (idempotent, about a second when nothing is missing), so a
# fresh machine gets the system packages and models the tests need.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh "$@"
cargo test --workspace --locked --no-fail-fast
