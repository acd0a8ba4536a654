#!/usr/bin/env bash
# Builds the double-clickable Margin (build.spec) for this platform.
#   scripts/package.sh [OUT_DIR [WORK_DIR]]      (defaults: dist, build)
# On Linux, OUT_DIR then holds:
#   Margin/                                the app: double-click Margin in it
#   Margin.desktop                         a menu entry for that folder, where it is now
#   Margin-VERSION-linux-ARCH.tar.gz       the folder, for people to unpack anywhere;
#                                          Margin/install-desktop-entry.sh adds its menu entry
# The models are built first if they are missing (scripts/setup.sh, idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-dist}")
WORK=$(realpath -m "${2:-build}")
PY=.venv/bin/python

say() { printf '\033[1m[package]\033[0m %s\n' "$*"; }

if [[ ! -f webui/models/use/manifest.json || ! -f webui/vendor/tf.min.js || ! -x $PY ]]; then
  say "models or tf.js missing: running the set-up first"
  bash scripts/setup.sh
fi

say "building $OUT/Margin with PyInstaller (a few minutes)"
$PY -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$OUT" --workpath "$WORK" build.spec

if [[ $(uname -s) == Linux ]]; then
  app=$OUT/Margin
  cp packaging/margin.desktop.in packaging/install-desktop-entry.sh "$app/"
  "$app/install-desktop-entry.sh" "$OUT/Margin.desktop" >/dev/null
  version=$($PY -c "from desktop import about; print(about.version())")
  archive=$OUT/Margin-$version-linux-$(uname -m).tar.gz
  say "packing $archive"
  tar -C "$OUT" -czf "$archive" Margin
fi
say "done: $(du -sh "$OUT/Margin" | cut -f1) in $OUT/Margin"
