#!/usr/bin/env bash
# Installs everything the test suite needs and runs it: the README's test command and CI's.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements.txt -r requirements-dev.txt -e .
# Browser tests drive Debian's Chromium with Playwright (Playwright's own browser download is not used).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "warning: could not install chromium; browser tests will be skipped" >&2
fi
# Lint first (rules in pyproject.toml): a failing check stops the run.
python3 -m ruff check .
exec python3 -m pytest "$@"
