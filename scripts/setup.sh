#!/usr/bin/env bash
# One entry point for a fresh Debian machine: system packages, the virtualenv, then the demo or the test suite.
#   scripts/setup.sh demo   set up and run the kiosk on its embedded demo venue
#   scripts/setup.sh test   set up everything the tests need and run lint, types and the whole suite
#   scripts/setup.sh deps   only install (what the other two do first)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
venv="$here/.venv"
python=${PYTHON:-python3}

# Debian packages: libzbar0 (pyzbar), mosquitto (test broker, venue broker), Xvfb + Mesa (a real Kivy window
# without a screen), systemd (systemd-analyze verify of our units), gettext (msgfmt for translators).
apt_packages=(libzbar0 mosquitto xvfb xauth libgl1 libgl1-mesa-dri libegl1 libmtdev1 libgles2 systemd gettext
              python3-venv cage xwayland)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

install_system_packages() {
    local missing=()
    for p in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # The Debian mosquitto package starts a system broker; tests start their own on free ports and never need it.
}

install_python_env() {
    local stamp="$venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -x "$venv/bin/python" ]; then "$python" -m venv "$venv"; fi
    if [ ! -f "$stamp" ]; then
        "$venv/bin/python" -m pip install -q --upgrade pip
        "$venv/bin/python" -m pip install -q -e ".[ui,print,central,test]"
        rm -f "$venv"/.installed-*; touch "$stamp"
    fi
}

run_tests() {
    export PATH="$venv/bin:$PATH"
    echo "== ruff"; ruff check .
    echo "== mypy (strict outside kiosk/ui)"; mypy
    echo "== pytest"
    python -m pytest -q -p no:cacheprovider "$@"
}

run_demo() {
    export PATH="$venv/bin:$PATH"
    exec kiosk demo "$@"
}

mode=${1:-test}; shift || true
install_system_packages
install_python_env
case "$mode" in
    deps) ;;
    test) run_tests "$@" ;;
    demo) run_demo "$@" ;;
    *) echo "usage: scripts/setup.sh demo|test|deps" >&2; exit 2 ;;
esac
