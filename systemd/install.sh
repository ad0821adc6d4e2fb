#!/usr/bin/env bash
# Place the kiosk's systemd units, its system user and the venue broker config, then enable them.
#   systemd/install.sh [--root DIR] [--bin DIR] [--no-enable] [--with-broker]
#     --root DIR     install into a mounted image or staging tree instead of / (enables offline, no daemon-reload)
#     --bin DIR      where kiosk, kiosk-sync and kiosk-provision are (default /opt/kiosk/.venv/bin)
#     --no-enable    place the files only
#     --with-broker  also set up and enable the venue broker (one device per venue runs it)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=/
bin=/opt/kiosk/.venv/bin
enable=1
broker=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=${2:?--root needs a directory}; shift 2 ;;
        --bin) bin=${2:?--bin needs a directory}; shift 2 ;;
        --no-enable) enable=0; shift ;;
        --with-broker) broker=1; shift ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
bin=$(cd "$bin" 2>/dev/null && pwd) || { echo "install.sh: no directory $bin" >&2; exit 1; }
for exe in kiosk kiosk-sync kiosk-provision; do
    [ -x "$bin/$exe" ] || { echo "install.sh: $bin/$exe is missing (install the kiosk package first)" >&2; exit 1; }
done
case "$bin" in *[\ \|\&]*) echo "install.sh: $bin contains a space, | or &" >&2; exit 1 ;; esac

unit_dir="$root/etc/systemd/system"
install -d -m 0755 "$unit_dir" "$root/etc/sysusers.d"
install -d -m 0750 "$root/etc/kiosk"

# Each file is written to a temporary name beside its target and renamed: a half-written unit never exists.
place() {  # place SRC DEST MODE  (with @KIOSK_BIN@ substituted)
    local tmp
    tmp=$(mktemp "$(dirname "$2")/.install.XXXXXX")
    sed "s|@KIOSK_BIN@|$bin|g" "$1" >"$tmp"
    chmod "$3" "$tmp"
    mv -f "$tmp" "$2"
}

units=(kiosk-firstboot.service kiosk-sync.service kiosk-ui.service)
for unit in "${units[@]}"; do place "$here/$unit" "$unit_dir/$unit" 0644; done
place "$here/kiosk.sysusers" "$root/etc/sysusers.d/kiosk.conf" 0644

if [ "$broker" -eq 1 ]; then
    # The venue broker is Debian's mosquitto with the sync protocol's config (sync_agent/broker/, shipped in the
    # package) and our drop-in. Passwords, the venue ACL and the bridge are the venue's: never overwritten.
    conf_src=$("$bin/python" -c 'import pathlib, sync_agent.broker as b; print(pathlib.Path(b.__file__).parent)')
    [ -f "$conf_src/mosquitto.conf" ] || { echo "install.sh: $conf_src/mosquitto.conf is missing" >&2; exit 1; }
    install -d -m 0755 "$unit_dir/mosquitto.service.d" "$root/etc/mosquitto/conf.d" "$root/etc/mosquitto/kiosk" \
        "$root/etc/mosquitto/kiosk/bridge.d"
    place "$here/mosquitto-kiosk.conf" "$unit_dir/mosquitto.service.d/kiosk.conf" 0644
    place "$conf_src/mosquitto.conf" "$root/etc/mosquitto/conf.d/kiosk.conf" 0644
    place "$conf_src/bridge.conf" "$root/etc/mosquitto/kiosk/bridge.conf.example" 0644
    # mosquitto.conf loads the dynamic security plugin (accounts and ACLs that check subscriptions too) from one
    # fixed path; Debian installs it under the machine's multiarch folder (x86_64-linux-gnu, aarch64-linux-gnu…).
    plugin=$(cd "$root/" && compgen -G "usr/lib/*/mosquitto_dynamic_security.so" | head -n 1 || true)
    if [ -n "$plugin" ]; then
        install -d -m 0755 "$root/usr/local/lib/kiosk"
        ln -sfn "/$plugin" "$root/usr/local/lib/kiosk/mosquitto_dynamic_security.so"
    else
        echo "install.sh: mosquitto_dynamic_security.so is not in $root/usr/lib/*/ (apt-get install mosquitto)" >&2
    fi
    if [ -e "$unit_dir/mosquitto.service" ] || [ -e "$root/lib/systemd/system/mosquitto.service" ] ||
       [ -e "$root/usr/lib/systemd/system/mosquitto.service" ]; then
        units+=(mosquitto.service)
    else
        echo "install.sh: mosquitto is not installed in $root (apt-get install mosquitto); broker not enabled" >&2
    fi
    echo "install.sh: broker: write /etc/mosquitto/kiosk/security.json with python -m sync_agent.broker.accounts" \
         "(see docs/operations.md), and bridge.d/central.conf from bridge.conf.example"
fi

if [ "$root" = / ]; then
    systemd-sysusers /etc/sysusers.d/kiosk.conf
    chgrp kiosk /etc/kiosk
    systemctl daemon-reload
    if [ "$enable" -eq 1 ]; then systemctl enable "${units[@]}"; systemctl set-default graphical.target; fi
else
    if [ "$enable" -eq 1 ]; then
        systemctl --root="$root" enable "${units[@]}" 2>&1 | grep -v "non-existent unit" >&2 || true
        # A staging tree without systemd's own units has no graphical.target to make the default.
        if [ -e "$root/usr/lib/systemd/system/graphical.target" ] || [ -e "$root/lib/systemd/system/graphical.target" ]
        then systemctl --root="$root" set-default graphical.target
        else echo "install.sh: $root has no graphical.target; set the default target in the image" >&2; fi
    fi
fi
echo "install.sh: installed ${units[*]} into $unit_dir (binaries from $bin)"
