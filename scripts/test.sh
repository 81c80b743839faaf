#!/usr/bin/env bash
# Install everything the test suite needs (Python, Node and Debian packages), then run it.
# This is the README's test command; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# Debian packages: Node.js for the interop tests (present on most images; install if not).
need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ "${#need_apt[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
    else
        echo "missing: ${need_apt[*]} (install them with apt-get as root)" >&2
        exit 1
    fi
fi

# Node packages, pinned by the committed lockfiles: the real IC clients of the interop tests,
# and the Motoko compilers that build the test canisters.
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/canisters && npm ci --no-audit --no-fund --loglevel=error)

.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
