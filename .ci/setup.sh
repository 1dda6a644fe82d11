#!/usr/bin/env bash
# Set-up for a fresh Debian/Ubuntu machine or Colab: Debian tools (when root or sudo), .venv, pinned packages.
# Usage: .ci/setup.sh [VENV]   |   .ci/setup.sh --tools-only
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
fi
apt_install() {  # apt_install PKG... ; returns 1 when apt cannot be used here
  [ "$SUDO" != none ] && command -v apt-get >/dev/null || return 1
  if [ ! -f /tmp/.symmusic-apt-updated ]; then $SUDO apt-get update -qq >/dev/null && touch /tmp/.symmusic-apt-updated || return 1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

install_tools() {
  local missing=()
  command -v midi2abc >/dev/null && command -v abc2midi >/dev/null || missing+=(abcmidi)
  command -v abcm2ps >/dev/null || missing+=(abcm2ps)
  command -v timidity >/dev/null || missing+=(timidity)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  if ! apt_install "${missing[@]}"; then
    echo "setup: WARNING could not install ${missing[*]} (needs root or sudo and apt-get). What degrades:"
    for p in "${missing[@]}"; do case $p in
      abcmidi) echo "  - abcmidi: strict ABC validity (abc2midi) is reported as 'not measured'; MIDI->ABC uses the midi2abc bundled in the symusic wheel";;
      abcm2ps) echo "  - abcm2ps: the report's gallery shows no sheet music";;
      timidity) echo "  - timidity: the report's gallery has no audio";;
    esac; done
  fi
}

if [ "${1:-}" = "--tools-only" ]; then install_tools; exit 0; fi

VENV=${1:-.venv}
install_tools
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$VENV"; } || {
    echo "setup: ERROR python3 -m venv failed; install python3-venv (apt-get install python3-venv)"; exit 1; }
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first and explicitly: a bare 'torch' requirement would pull a multi-GB CUDA build
"$VENV/bin/python" -m pip install -q torch==2.13.0
"$VENV/bin/python" -m pip install -q -r .ci/requirements.txt
"$VENV/bin/python" -m pip install -q --no-deps -e . > "$VENV/.install-symmusic.log" 2>&1 || { cat "$VENV/.install-symmusic.log"; exit 1; }
"$VENV/bin/python" -m ipykernel install --user --name python3 >/dev/null 2>&1 || true
touch "$VENV/.symmusic-installed"
echo "setup: ready ($("$VENV/bin/python" -c 'import torch,music21;print("torch",torch.__version__,"music21",music21.__version__)'))"
