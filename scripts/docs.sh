#!/usr/bin/env bash
# Builds the documentation site into build/docs/html (warnings are errors),
# running the gallery (docs/gallery: the examples with quick settings) and
# every Python block of the README and the guide. Run scripts/setup.sh first:
# the pages document the installed dqp. The Sphinx packages go into their own
# virtual environment (build/docs-venv), which sees the installed packages.
#
#   bash scripts/docs.sh            # full gallery settings
#   DQP_DOCS_QUICK=1 bash scripts/docs.sh   # the smallest settings (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/docs-venv
if [ ! -x "$venv/bin/python" ]; then
  python -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install -q -r docs/requirements.txt
start=$SECONDS
rm -rf build/docs/html docs/auto_examples
"$venv/bin/python" -m sphinx -W --keep-going -q -b html docs build/docs/html
echo "docs: built build/docs/html in $((SECONDS - start)) s"
"$venv/bin/python" docs/run_snippets.py README.md docs/*.md docs/guide/*.md
