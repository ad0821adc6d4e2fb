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
# without a screen), systemd (systemd-analyze verify of our units) with procps and man-db (verify runs /bin/kill
# and man for the units' ExecStop/Documentation checks), gettext (msgfmt for translators), cage + xwayland (the
# UI session), postgresql (server binaries: the tests initdb their own cluster, see tests/fixtures/postgres.py),
# fonts-dejavu-core/-extra (the label preview draws accents with DejaVu, kiosk/adapters/preview_font.py).
apt_packages=(libzbar0 mosquitto xvfb xauth libgl1 libgl1-mesa-dri libegl1 libmtdev1 libgles2 systemd procps man-db
              gettext python3-venv cage xwayland postgresql fonts-dejavu-core fonts-dejavu-extra)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup: need root (or sudo) to run: $*" >&2; exit 1; fi
}

# Debian's postgresql package creates and starts a "main" cluster on port 5432. The tests never use it (they start
# their own server on a free port), so on a machine without PostgreSQL none is created: no server runs that nobody
# asked for. An existing installation is left as it is; `pg_createcluster 15 main --start` makes one later.
skip_main_cluster() {
    if dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q "install ok installed"; then return; fi
    as_root mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false  # scripts/setup.sh: the kiosk tests start their own server" |
        as_root tee /etc/postgresql-common/createcluster.d/kiosk-no-main-cluster.conf >/dev/null
}

install_system_packages() {
    local missing=()
    for p in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        skip_main_cluster
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
