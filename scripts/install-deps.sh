#!/bin/sh
# Installs the Debian/Ubuntu packages Glia builds and tests with; the one list of them (the README's
# quick start and .ci/run both call this script). Only missing packages are installed.
#
# sudo is used only when not running as root: containers usually run as root and often have no
# sudo at all, while a workstation user needs it. So the same command works in both.
#
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --dry-run  print the commands for every package, as if none were installed
set -eu

packages="libncursesw5-dev libtiff-dev libopenblas-dev libnifti2-dev pkg-config tmux ncurses-term python3-nibabel"

dry_run=false
case "${1:-}" in
  "") ;;
  --dry-run) dry_run=true ;;
  *) echo "install-deps.sh: unknown option '$1' (only --dry-run)" >&2; exit 2 ;;
esac

if $dry_run; then
  missing=$packages
else
  missing=$(for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  [ -n "$missing" ] || exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "install-deps.sh: not root and no sudo; as root run: apt-get install -y" $missing >&2
  exit 1
fi

run() {
  if $dry_run; then echo "$*"; else "$@"; fi
}
# $sudo and $missing unquoted on purpose: an empty $sudo vanishes, and $missing is a word list.
run $sudo apt-get update -qq
run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
