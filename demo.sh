#!/usr/bin/env bash
# The main job on the embedded defaults: install, then process the bundled sample calls.
set -euo pipefail
cd "$(dirname "$0")"
./install.sh
exec .venv/bin/qa demo "$@"
