#!/bin/sh
# Build the scankiosk kiosk image: a bootable GPT disk image (UEFI,
# systemd-boot) of Debian 12 with the scankiosk packages, from the mkosi 14
# recipe beside this script. Not part of CI; see README.md beside it.
#
#   packaging/image/build-image.sh [--debs DIR] [--output DIR] [--summary]
#
#   --debs DIR    take the scankiosk .debs from DIR (default: build them with
#                 packaging/build-deb.sh into a temporary folder)
#   --output DIR  where the image goes (default: build/image/ in the tree)
#   --summary     print mkosi's view of the recipe and stop (no build, no
#                 root needed)
#
# Needs root, mkosi 14 (apt-get install mkosi), loop devices, network access
# to deb.debian.org, about 10 GB free and 15-30 minutes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
debs=
out=$top/build/image
summary=0

usage() {
	sed -n '6,13s/^# \{0,1\}//p' "$0"
	exit "$1"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--debs) debs=${2:?--debs needs a folder}; shift 2 ;;
	--output) out=${2:?--output needs a folder}; shift 2 ;;
	--summary) summary=1; shift ;;
	-h | --help) usage 0 ;;
	*) echo "build-image.sh: unknown argument: $1" >&2; usage 2 >&2 ;;
	esac
done

missing=
need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}

# --- prerequisites ------------------------------------------------------
need mkosi mkosi
if [ "$summary" = 1 ]; then
	[ -z "$missing" ] || { echo "build-image.sh: missing:$missing (apt-get install$missing)" >&2; exit 1; }
	cd "$here" && exec mkosi summary
fi

problems=
[ "$(id -u)" = 0 ] || problems="$problems
  - run as root (mkosi needs loop devices, mounts and systemd-nspawn)"
for tool in debootstrap:debootstrap systemd-nspawn:systemd-container \
	sfdisk:fdisk mkfs.ext4:e2fsprogs mkfs.fat:dosfstools losetup:mount \
	sha256sum:coreutils; do
	need "${tool%%:*}" "${tool#*:}"
done
[ -z "$missing" ] || problems="$problems
  - install the missing tools: apt-get install$missing"
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || problems="$problems
  - install the Debian archive keyring: apt-get install debian-archive-keyring"
if command -v mkosi >/dev/null 2>&1; then
	version=$(mkosi --version 2>/dev/null | awk '{print $2}')
	case "$version" in
	14 | 14.*) ;;
	*) problems="$problems
  - mkosi $version found; this recipe is written for mkosi 14 (Debian 12's
    package): later versions read mkosi.conf with other keys" ;;
	esac
fi
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null 2>&1 &&
	! losetup --find >/dev/null 2>&1; then
	problems="$problems
  - no free loop device (losetup --find failed; in a container, give it
    /dev/loop-control and the loop devices)"
fi
if [ "$(id -u)" = 0 ] && ! grep -qw vfat /proc/filesystems &&
	! modprobe vfat >/dev/null 2>&1; then
	problems="$problems
  - this kernel cannot mount vfat (the image's EFI system partition)"
fi
free_kb() { df -Pk "$1" | awk 'NR == 2 {print $4}'; }
if ! mkdir -p "$out" 2>/dev/null; then
	problems="$problems
  - cannot create $out"
elif [ "$(free_kb "$out")" -lt 6000000 ]; then
	problems="$problems
  - less than 6 GB free in $out"
fi
if [ "$(free_kb "${TMPDIR:-/var/tmp}")" -lt 6000000 ]; then
	problems="$problems
  - less than 6 GB free in ${TMPDIR:-/var/tmp} (mkosi's workspace)"
fi
if [ -n "$problems" ]; then
	echo "build-image.sh: cannot build the image yet:$problems" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/scankiosk-image.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# --- the .debs ----------------------------------------------------------
if [ -z "$debs" ]; then
	if [ ! -x "$top/packaging/build-deb.sh" ]; then
		echo "build-image.sh: packaging/build-deb.sh is missing; build the .debs first and pass --debs DIR" >&2
		exit 1
	fi
	debs=$work/debs
	mkdir -p "$debs"
	echo "build-image.sh: building the .debs (packaging/build-deb.sh $debs)"
	"$top/packaging/build-deb.sh" "$debs"
fi
debs=$(cd "$debs" && pwd)
for pkg in scankiosk scankiosk-uploader scankiosk-common scankiosk-data; do
	ls "$debs/${pkg}"_*.deb >/dev/null 2>&1 || {
		echo "build-image.sh: no ${pkg}_*.deb in $debs" >&2
		exit 1
	}
done

# An extra tree that puts the .debs where mkosi.postinst installs them from
# (it deletes them afterwards).
tree=$work/debs-tree
mkdir -p "$tree/var/cache/scankiosk-image/debs"
cp "$debs"/*.deb "$tree/var/cache/scankiosk-image/debs/"

# --- mkosi --------------------------------------------------------------
image=$out/scankiosk.raw
mkdir -p "$out/cache"
rm -f "$out/SHA256SUMS" "$out/scankiosk.raw.bmap"
# Without systemd as PID 1 (a build container), systemd-nspawn cannot create
# a scope unit for mkosi's container steps; it runs in the caller's instead.
keep_unit=
[ -d /run/systemd/system ] || keep_unit=--nspawn-keep-unit
cd "$here"
# shellcheck disable=SC2086 # $keep_unit is one word or nothing
mkosi --force $keep_unit \
	--cache="$out/cache" \
	--extra-tree="$tree" \
	--output="$image" \
	build

# --- checksums ----------------------------------------------------------
# mkosi leaves its outputs world-writable (0666).
chmod 0644 "$out"/scankiosk.*
(cd "$out" && sha256sum scankiosk.raw >SHA256SUMS)
if command -v bmaptool >/dev/null 2>&1; then
	bmaptool create -o "$out/scankiosk.raw.bmap" "$image"
fi

echo
echo "build-image.sh: done: $image ($(du -h --apparent-size "$image" | cut -f1), $(du -h "$image" | cut -f1) used)"
echo "  write it to a tablet's disk as README.md says (bmaptool copy or dd),"
echo "  then provision the device (README.md, \"Per device\")."
