#!/bin/sh
# Puts Margin in the applications menu, for the folder this script is in.
#   ./install-desktop-entry.sh [FILE]
# FILE defaults to ~/.local/share/applications/app.margin.Margin.desktop.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
target=${1:-${XDG_DATA_HOME:-$HOME/.local/share}/applications/app.margin.Margin.desktop}
mkdir -p "$(dirname "$target")"
# The folder's path goes into the entry as it is (Exec quotes it); sed's own
# special characters in it are escaped first.
escaped=$(printf '%s' "$dir" | sed 's/[&|\\]/\\&/g')
sed "s|@DIR@|$escaped|g" "$dir/margin.desktop.in" > "$target"
chmod +x "$target"
echo "Margin's menu entry: $target"
