#!/usr/bin/env bash
# Installs what YuCredit needs, and nothing that is already there:
#   system packages through apt (when running as root), then Python packages into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  redis-server            # the embedded default starts its own Redis when none answers
  fonts-noto-cjk          # serif CJK font for the report PDF and the PNG card
  fonts-wqy-zenhei
  libpango-1.0-0          # WeasyPrint's text layout
  libpangoft2-1.0-0
  libharfbuzz-subset0     # without it WeasyPrint takes ~8 s a report instead of ~0.3 s
  wkhtmltopdf             # the selectable pdfkit engine
  poppler-utils           # pdftotext / pdftoppm, to check the PDFs we make
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

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo ">> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.yucredit-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo ">> pip: installing the project's dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  # The dependencies only: YuCredit runs from its checkout, it is not installed as a package.
  .venv/bin/python - > .venv/requirements.txt <<'PY'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]))
PY
  .venv/bin/python -m pip install -q -r .venv/requirements.txt
  touch "$stamp"
fi
