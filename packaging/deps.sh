#!/bin/sh
# Installs every package scankiosk needs to build, test and benchmark, from
# Debian 12's archive (prometheus for promtool and prometheus-node-exporter:
# the fleet monitoring tests run both as their own processes, never as
# services; groff-base and man-db lint the man pages). Idempotent: when all
# are present it does nothing (no network, no root needed). Usable as root in
# CI; otherwise it uses sudo.
set -eu

PACKAGES="
build-essential
clang
libclang-rt-14-dev
meson
ninja-build
pkg-config
clang-format
libsane-dev
libsane1
sane-utils
libjpeg62-turbo-dev
libturbojpeg0-dev
libjpeg-turbo-progs
libpng-dev
libssl-dev
libcjson-dev
libcmocka-dev
libsodium-dev
libinih-dev
libcurl4-openssl-dev
libsystemd-dev
libudev-dev
fiu-utils
libfiu-dev
nginx-light
openssl
curl
python3
time
libsdl2-dev
libsdl2-ttf-dev
libfribidi-dev
libqrencode-dev
fonts-noto-core
gettext
xvfb
xauth
cage
xwayland
groff-base
man-db
debhelper
lintian
debootstrap
systemd
udev
prometheus
prometheus-node-exporter
"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "deps.sh: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
