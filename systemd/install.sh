#!/usr/bin/env bash
# Place the kiosk's systemd units, its system user and the venue broker config, then enable them.
#   systemd/install.sh [--root DIR] [--bin DIR] [--no-enable] [--with-broker]
#     --root DIR     install into a mounted image or staging tree instead of / (enables offline, no daemon-reload)
#     --bin DIR      where kiosk, kiosk-sync and kiosk-provision are (default /opt/kiosk/.venv/bin)
#     --no-enable    place the files only
#     --with-broker  also install and enable the venue broker (one device per venue runs it)
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
    install -d -m 0755 "$root/etc/kiosk/broker" "$root/etc/kiosk/broker/conf.d"
    place "$here/kiosk-broker.service" "$unit_dir/kiosk-broker.service" 0644
    place "$here/kiosk-broker.conf" "$root/etc/kiosk/broker/mosquitto.conf" 0644
    # The ACL and the password file are the venue's: never overwrite them.
    [ -e "$root/etc/kiosk/broker/acl" ] || place "$here/kiosk-broker.acl" "$root/etc/kiosk/broker/acl" 0644
    [ -e "$root/etc/kiosk/broker/passwd" ] || install -m 0640 /dev/null "$root/etc/kiosk/broker/passwd"
    if getent group mosquitto >/dev/null && [ "$root" = / ]; then chgrp mosquitto /etc/kiosk/broker/passwd; fi
    units+=(kiosk-broker.service)
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
