#!/usr/bin/env bash
# Installs what YuCredit needs, and nothing that is already there:
#   system packages through apt (when running as root), then Python packages into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  redis-server            # the embedded default starts its own Redis when none answers
  redis-sentinel          # the Sentinel fail-over test runs three sentinels of its own
  fonts-noto-cjk          # serif CJK font for the report PDF and the PNG card
  fonts-wqy-zenhei
  libpango-1.0-0          # WeasyPrint's text layout (the selectable engine, the bench baseline)
  libpangoft2-1.0-0
  libharfbuzz-subset0     # without it WeasyPrint takes ~8 s a report instead of ~0.3 s
  wkhtmltopdf             # the selectable pdfkit engine
  poppler-utils           # pdftotext / pdftoppm, to check the PDFs we make
  chromium                # the browser tests' headless browser (Playwright; verify and web pages)
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo ">> apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo ">> missing system packages (run as root to install): ${missing[*]}" >&2
  fi
fi

# Test-only JavaScript (axe-core): exactly package-lock.json (`npm ci`), stamped with its hash.
npm_stamp=node_modules/.yucredit-lock-sha256
npm_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_sha" ]; then
  if ! command -v npm >/dev/null && [ "$(id -u)" -eq 0 ]; then
    echo ">> apt: installing nodejs npm (for npm ci)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm \
      >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
  fi
  if command -v npm >/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null && echo "$npm_sha" > "$npm_stamp"
  else
    echo ">> npm missing: the browser tests' accessibility check cannot run" >&2
  fi
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

# Python packages: exactly requirements.lock, hashes required, nothing resolved at install time.
# The venv is current when it was built from this lock (the stamp holds the lock's SHA-256) and
# `pip freeze` still matches it; anything else is rebuilt from scratch.
stamp=.venv/.yucredit-lock-sha256
lock_sha=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$lock_sha" ] \
   && .venv/bin/python scripts/lock.py freeze-diff >/dev/null; then
  exit 0
fi
if [ -d .venv ]; then
  echo ">> .venv differs from requirements.lock: rebuilding it"
  rm -rf .venv
fi
echo ">> creating .venv with $($PYTHON --version) from requirements.lock"
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --require-hashes --no-deps --only-binary :all: -r requirements.lock
if ! diff=$(.venv/bin/python scripts/lock.py freeze-diff); then
  echo ">> .venv still differs from requirements.lock after installing it:" >&2
  echo "$diff" >&2
  exit 1
fi
echo "$lock_sha" > "$stamp"
