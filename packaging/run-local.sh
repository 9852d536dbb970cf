#!/bin/sh
# Runs the whole kiosk on this machine, everything on loopback:
#   - installs missing packages (packaging/deps.sh) and builds (build/);
#   - starts the reference intake (tests/server: nginx with TLS and client
#     certificates in front of the python3 receiver);
#   - makes a spool and its key pair, and starts scankiosk-uploader;
#   - starts scankiosk in a window, scanning from the simulated scanner that
#     feeds the reference pages (../shared/pages, or $SCANKIOSK_PAGES_DIR);
# and stops them all when the kiosk window closes.
#
#   packaging/run-local.sh [scankiosk options, e.g. --script FILE]
#
# State lives in build/run-local/ (mode 0700): the spool, the keys, the config,
# the intake's store and the logs. Submissions the intake received are in
# build/run-local/intake/store/; `tests/server/harness.py submissions
# build/run-local/intake` lists them.
set -eu
here=$(pwd)
cd "$(dirname "$0")/.."
top=$(pwd)
build=${SCANKIOSK_BUILD:-build}
pages=${SCANKIOSK_PAGES_DIR:-$top/../shared/pages}

packaging/deps.sh

mkdir -p "$build"
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" >"$build/setup.log" 2>&1 || {
        cat "$build/setup.log"
        echo "run-local.sh: meson setup $build failed" >&2
        exit 1
    }
fi
meson compile -C "$build" >"$build/compile.log" 2>&1 || {
    tail -n 40 "$build/compile.log"
    echo "run-local.sh: the build failed (whole log: $build/compile.log)" >&2
    exit 1
}

case $build in
/*) run=$build/run-local ;;
*) run=$top/$build/run-local ;;
esac
mkdir -p "$run"
chmod 700 "$run"
harness="python3 $top/tests/server/harness.py"
uploader_pid=""

# shellcheck disable=SC2317 # called from the EXIT trap
stop_all() {
    if [ -n "$uploader_pid" ]; then
        kill -TERM "$uploader_pid" 2>/dev/null || true
        wait "$uploader_pid" 2>/dev/null || true
        uploader_pid=""
    fi
    $harness stop "$run/intake" >/dev/null 2>&1 || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM

if [ ! -d "$pages" ]; then
    echo "run-local.sh: no reference pages in $pages (set SCANKIOSK_PAGES_DIR)" >&2
    exit 1
fi

echo "run-local.sh: starting the intake (nginx + receiver) on loopback"
$harness start "$run/intake" >/dev/null
# shellcheck disable=SC1091
. "$run/intake/env"

# The maintenance menu (a finger held 5 s in the top left corner) with a PIN
# for this machine only: SCANKIOSK_DEMO_PIN, or 246810.
demo_pin=${SCANKIOSK_DEMO_PIN:-246810}
(umask 077 && printf '%s\n' "$demo_pin" | "$build/kiosk/tools/scankiosk-pin" hash >"$run/pin-hash")

conf=$run/scankiosk.conf
cat >"$conf" <<EOF
; Written by packaging/run-local.sh for a kiosk on this machine.
[spool]
dir = $run/spool
public_key = $run/keys/spool.pub
secret_key = $run/keys/spool.key

[intake]
url = $INTAKE_URL
ca_file = $CA_FILE
pin = $PIN
client_cert = $CLIENT_CERT
client_key = $CLIENT_KEY
retry_base = 5
retry_cap = 60

[scanner]
device = sim:pages=pages
source = adf
dpi = 150

settings = $run/scanner.conf

[maintenance]
$(cat "$run/pin-hash")
state = $run/pin-state

[metrics]
status = $run/uploader-status.json
textfile = $run/uploader.prom
kiosk_textfile = $run/kiosk.prom
EOF
chmod 600 "$conf"

# The pages through a link, named relative to the kiosk's working folder: a
# config line holds at most 198 characters.
ln -sfn "$pages" "$run/pages"

if [ ! -f "$run/keys/spool.key" ]; then
    mkdir -p "$run/keys"
    chmod 700 "$run/keys"
    "$build/kiosk/tools/scankiosk-spool" --config "$conf" keygen >/dev/null
fi

echo "run-local.sh: starting scankiosk-uploader (log: $run/uploader.log)"
"$build/kiosk/upload/scankiosk-uploader" --config "$conf" >"$run/uploader.log" 2>&1 &
uploader_pid=$!

echo "run-local.sh: starting scankiosk (close its window to stop everything;"
echo "  maintenance menu: hold the top left corner 5 s, PIN $demo_pin)"
status=0
# The catalogs as the build made them (an installed kiosk finds them under
# its prefix).
SCANKIOSK_LOCALEDIR=$top/$build/assets/po
SCANKIOSK_MAINT_LOCALEDIR=$top/$build/assets/po-maintenance
case $build in /*)
    SCANKIOSK_LOCALEDIR=$build/assets/po
    SCANKIOSK_MAINT_LOCALEDIR=$build/assets/po-maintenance
    ;;
esac
export SCANKIOSK_LOCALEDIR SCANKIOSK_MAINT_LOCALEDIR
kiosk=$top/$build/kiosk/ui/scankiosk
case $build in /*) kiosk=$build/kiosk/ui/scankiosk ;; esac
# A script named relative to where this command was started.
if [ "${1:-}" = "--script" ] && [ -n "${2:-}" ]; then
    case $2 in /*) ;; *) script=$here/$2 && shift 2 && set -- --script "$script" "$@" ;; esac
fi
(cd "$run" && exec "$kiosk" --config "$conf" --windowed "$@") || status=$?
exit $status
