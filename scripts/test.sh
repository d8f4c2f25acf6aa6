#!/usr/bin/env bash
# Run berth's whole test suite: unit tests and end-to-end tests against a
# real registry (needs root: tests mount overlayfs and chown layer files).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo test --all-targets --no-fail-fast -- --test-threads="${BERTH_TEST_THREADS:-4}"
