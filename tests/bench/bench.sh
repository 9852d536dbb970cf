#!/bin/sh
# Scan-to-JPEG benchmark: scankiosk-scan against its peers on identical settings,
# in one run. A figure, not a test: nothing here passes or fails on time.
#
#   tests/bench/bench.sh [BUILD_DIR]      (default: build; run tests/run.sh first)
#
# Settings for every tool: the real libsane `test` backend (private config in
# tests/data/sane), A4 at 300 dpi, "Color pattern", quality 75, output to fresh
# files. Cases: colour and grey, one flatbed page and a 10-page feeder batch.
# Peers: `scanimage --format=jpeg` and `scanimage --format=pnm | cjpeg`.
# scankiosk-scan runs in its kiosk mode (--mode auto: it also decides colour or
# grey per page) and hashes, thumbnails and checks every page for blankness.
# Each figure is the median of RUNS runs (default 5); RSS is the largest seen.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
build=${1:-build}
tool="$top/$build/kiosk/tools/scankiosk-scan"
runs=${RUNS:-5}
[ -x "$tool" ] || { echo "bench: build first (tests/run.sh or meson compile -C $build)"; exit 1; }
for p in scanimage cjpeg /usr/bin/time python3; do
    command -v "$p" >/dev/null || { echo "bench: $p missing (packaging/deps.sh)"; exit 1; }
done
export SANE_CONFIG_DIR="$top/tests/data/sane"
# Fresh files in the build tree: page data never goes to /tmp.
out="$top/$build/bench"
rm -rf "$out"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

# measure NAME PAGES COMMAND...: runs the command RUNS times in a fresh folder
# $d; appends "NAME ms_per_page max_rss_kb" to the results.
measure() {
    name=$1
    pages=$2
    shift 2
    i=0
    while [ $i -lt "$runs" ]; do
        d="$out/run"
        rm -rf "$d"
        mkdir -p "$d"
        export d
        /usr/bin/time -f "%e %M" -o "$out/time" sh -c "$*" >/dev/null 2>"$out/err" || {
            echo "bench: $name failed:"; cat "$out/err"; exit 1; }
        n=$(find "$d" -name '*.jpg' | wc -l)
        [ "$n" -eq "$pages" ] || { echo "bench: $name wrote $n pages, want $pages"; exit 1; }
        echo "$name $(cat "$out/time") $pages" >>"$out/results"
        i=$((i + 1))
    done
}

A4="-x 210 -y 297 --resolution 300"
for mode in Color Gray; do
    m=$(echo $mode | tr 'A-Z' 'a-z')
    ours_mode=$([ $mode = Color ] && echo auto || echo gray)
    pic="--test-picture 'Color pattern'"
    # one flatbed page
    measure "$m-1-scankiosk" 1 \
        "$tool --device test:0 --source flatbed --mode $ours_mode --dpi 300 --size a4 --quality 75 --pages 1 --option test-picture=\"Color pattern\" --out \$d"
    measure "$m-1-scanimage" 1 \
        "scanimage -d test:0 --source Flatbed --mode $mode $A4 $pic --format=jpeg -o \$d/p.jpg"
    measure "$m-1-scanimage|cjpeg" 1 \
        "scanimage -d test:0 --source Flatbed --mode $mode $A4 $pic --format=pnm | cjpeg -quality 75 >\$d/p.jpg"
    # a 10-page feeder batch
    measure "$m-10-scankiosk" 10 \
        "$tool --device test:0 --source adf --mode $ours_mode --dpi 300 --size a4 --quality 75 --pages 0 --option test-picture=\"Color pattern\" --out \$d"
    measure "$m-10-scanimage" 10 \
        "scanimage -d test:0 --source 'Automatic Document Feeder' --mode $mode $A4 $pic --format=jpeg --batch=\$d/p%d.jpg"
    # scanimage's batch writes each page whole before cjpeg reads it: one pipe
    # per page is not possible, the feeder state lives in one sane_open.
    measure "$m-10-scanimage|cjpeg" 10 \
        "scanimage -d test:0 --source 'Automatic Document Feeder' --mode $mode $A4 $pic --format=pnm --batch=\$d/p%d.pnm && for f in \$d/p*.pnm; do cjpeg -quality 75 \$f >\${f%.pnm}.jpg && rm \$f; done"
done

# Latency from a page's last scanned line to its finished JPEG (with thumbnail,
# hash and colour decision), with the backend slowed to a real scanner's pace.
d="$out/latency"
mkdir -p "$d"
"$tool" --device test:0 --source adf --mode auto --dpi 300 --size a4 --pages 3 \
    --option test-picture="Color pattern" --option read-delay=yes \
    --option read-delay-duration=2000 --timings --out "$d" >"$out/latency.txt"

python3 - "$out/results" "$out/latency.txt" "$runs" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, rss, pages = line.split()
    r = rows.setdefault(name, {"ms": [], "rss": 0})
    r["ms"].append(float(secs) * 1000 / int(pages))
    r["rss"] = max(r["rss"], int(rss))
print(f"scan to JPEG, SANE test backend, A4 300 dpi, quality 75, median of {sys.argv[3]} runs")
print(f"{'case':<10} {'tool':<18} {'ms/page':>9} {'peak RSS':>10} {'time vs scanimage':>18}")
for case in ("color-1", "color-10", "gray-1", "gray-10"):
    base = statistics.median(rows[f"{case}-scanimage"]["ms"])
    for tool in ("scankiosk", "scanimage", "scanimage|cjpeg"):
        r = rows[f"{case}-{tool}"]
        ms = statistics.median(r["ms"])
        print(f"{case:<10} {tool:<18} {ms:9.1f} {r['rss'] / 1024:8.1f} MB {ms / base:17.2f}x")
lat = [float(l.split()[3]) for l in open(sys.argv[2]) if l.startswith("page")]
print(f"last line -> JPEG ready (slowed backend, {len(lat)} pages): "
      + ", ".join(f"{x:.1f} ms" for x in lat))
EOF
