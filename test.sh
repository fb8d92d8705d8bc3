#!/usr/bin/env bash
# Install what the tests need (idempotent), then run them.
set -euo pipefail
cd "$(dirname "$0")"
./install.sh
exec .venv/bin/python -m pytest -q "$@"
