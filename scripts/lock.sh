#!/usr/bin/env bash
# Refreshes requirements.lock: the newest versions pyproject.toml allows, pinned with their
# hashes, for every platform and Python >= 3.11, plus the setuptools that builds evidoc itself.
# The test and oscal extras are included: the tests read the OSCAL exports with trestle.
# Run it (make lock), run make test, and commit the lock with the change that needed it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_requires=$(.venv/bin/python -c '
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))')
printf '%s\n' "$build_requires" | .venv/bin/uv pip compile pyproject.toml - \
  --extra test --extra oscal --generate-hashes --universal --python-version 3.11 \
  --no-header --output-file requirements.lock --quiet
echo "requirements.lock: $(grep -c '^[a-z0-9].*==' requirements.lock) packages pinned"
