#!/bin/sh
# Builds scankiosk's Debian packages from this tree:
#
#   packaging/build-deb.sh [OUTDIR]        (default: build/deb)
#
# Copies the tree's files (tracked and new, not the build folders) into
# OUTDIR/src/scankiosk-VERSION, puts packaging/debian at its top, and runs
# `dpkg-buildpackage -us -uc -b` there (debhelper on meson). The .debs, the
# .buildinfo and the .changes end up in OUTDIR. Installs the build
# dependencies first when missing (packaging/deps.sh). Unsigned: sign the
# .changes, or the repository they go into, where the images are made.
set -eu
here=$(pwd)
cd "$(dirname "$0")/.."
top=$(pwd)
out=${1:-build/deb}
case $out in /*) ;; *) out=$here/$out ;; esac

packaging/deps.sh

version=$(sed -n '1s/^scankiosk (\([^)]*\)).*/\1/p' packaging/debian/changelog)
meson_version=$(sed -n "s/^  version: '\([^']*\)',/\1/p" meson.build)
if [ "$version" != "$meson_version" ]; then
    echo "build-deb.sh: packaging/debian/changelog says $version, meson.build $meson_version" >&2
    exit 1
fi

rm -rf "$out"
src=$out/src/scankiosk-$version
mkdir -p "$src"
# The tree as git sees it (tracked files and new ones not ignored); without
# git, everything but the build folders.
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$top" ls-files -z --cached --others --exclude-standard |
        (cd "$top" && xargs -0 tar --create --file=- --no-recursion --) |
        tar --extract --file=- --directory="$src"
else
    tar --create --file=- --exclude='./build*' --exclude='./.git' . |
        tar --extract --file=- --directory="$src"
fi
rm -rf "$src/debian"
cp -R packaging/debian "$src/debian"

echo "build-deb.sh: building scankiosk $version in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
    tail -n 60 "$out/build.log"
    echo "build-deb.sh: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
    exit 1
}
mv "$out/src/"*.deb "$out/src/"*.buildinfo "$out/src/"*.changes "$out/"
ls "$out"/*.deb
