#!/usr/bin/env bash
# Sets up .venv with exactly the packages of requirements.lock (hash-checked) and evidoc itself,
# and, with --test, the Debian packages the tests drive (Chromium for the site, poppler-utils
# for reading PDFs back, git and ssh-keygen for real repositories and signed commits).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--test" ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v pdftotext >/dev/null || missing+=(poppler-utils)
  command -v git >/dev/null || missing+=(git)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  rm -rf .venv
  python3 -m venv .venv
  # The lock holds every package, its dependencies included, so nothing else is resolved.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --require-hashes \
    -r requirements.lock
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
    -e .
  touch "$stamp"
fi
