#!/usr/bin/env bash
# bench/system.sh — the watching and housekeeping commands of issue 13,
# berth vs podman (runc) on the same images:
#   a. `run --rm --network none busybox true`: berth with its events log
#      (the default), the same binary with `--events-backend none`, berth
#      before the events log (BERTH_BEFORE, optional) and podman: what
#      writing events costs on the run path
#   b. `stats --no-stream` over N_STATS (50) running containers
#   c. `system df` over N_CTRS (500) containers of N_IMAGES (50) images
# Alternating order; medians and p90 over the runs (+2 warm-up).
# Prints a table; with RESULTS_MD_APPEND set, appends it to $RESULTS_MD.
#
# Env: RUNS (a, default 30), RUNS_SLOW (b and c, default 10), N_STATS,
#      N_CTRS, N_IMAGES, BERTH (default <repo>/target/release/berth),
#      BERTH_BEFORE, BENCH_CACHE (default /var/tmp/berth-bench). As root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-30}
RUNS_SLOW=${RUNS_SLOW:-10}
N_STATS=${N_STATS:-50}
N_CTRS=${N_CTRS:-500}
N_IMAGES=${N_IMAGES:-50}
WARMUP=2
BERTH_BEFORE=${BERTH_BEFORE:-}

need_root
need_posint RUNS RUNS_SLOW N_STATS N_CTRS N_IMAGES
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need_exe /bin/busybox busybox-static
check_needs
need_berth
need_bash5
[[ -z $BERTH_BEFORE || -x $BERTH_BEFORE ]] || die "BERTH_BEFORE=$BERTH_BEFORE is not executable"

make_scratch system
init_tool_roots
BEFORE_CMD=("${BERTH_BEFORE:-false}" --root "$T/before/root" --runroot "$T/before/run")
BB() { "${BEFORE_CMD[@]}" "$@"; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -z $BERTH_BEFORE ]] || timeout 120 "${BEFORE_CMD[@]}" rm -f --all >/dev/null 2>&1 || true
  umount_under "$T/before"
  teardown_tools 300 || true
  stop_registry
  remove_scratch
  exit "$rc"
}
install_traps

configure_podman
log "building busybox OCI layout"
build_busybox_layout "$T/oci" >/dev/null
serve_layout "$T/oci" latest busybox
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp
probe_podman "${PODMAN_CMD[@]}"
pull_into_roots
TOOLS=(berth noevents podman)
if [[ -n $BERTH_BEFORE ]]; then
  BB pull -q "$REF" >/dev/null
  TOOLS=(before berth noevents podman)
fi
wait_inode_aging

tool_cmd() { # tool_cmd TOOL ARGS...
  local t=$1; shift
  case $t in
    berth) B "$@" ;;
    noevents) B --events-backend none "$@" ;;
    before) BB "$@" ;;
    podman) P "$@" ;;
  esac
}

# measure SECTION RUNS TOOLS-ARRAY-NAME ARGS...: timed runs of `TOOL ARGS`
# per tool, the tools' order rotating each round; results in $T/SECTION.TOOL
measure() {
  local sect=$1 runs=$2; local -n tools=$3; shift 3
  local i t ms n=${#tools[@]} k
  for t in "${tools[@]}"; do : >"$T/$sect.$t"; done
  for ((i = 1; i <= runs + WARMUP; i++)); do
    for ((k = 0; k < n; k++)); do
      t=${tools[$(((i + k) % n))]}
      if timed ms tool_cmd "$t" "$@"; then
        ((i > WARMUP)) && echo "$ms" >>"$T/$sect.$t"
      else
        note_fail "$sect" "$t" "$t $*"
      fi
    done
  done
}

LOAD_BEFORE=$(load)
log "(a) run --rm --network none busybox true: $RUNS runs per tool"
measure a "$RUNS" TOOLS run --rm --network none busybox true

BOTH=(berth podman)
log "(b) stats --no-stream over $N_STATS running containers"
for t in "${BOTH[@]}"; do
  for ((i = 0; i < N_STATS; i++)); do
    tool_cmd "$t" run -d --network none busybox sleep 100000 >/dev/null
  done
done
measure b "$RUNS_SLOW" BOTH stats --no-stream
for t in "${BOTH[@]}"; do
  tool_cmd "$t" stats --no-stream --format '{{.Name}}' >"$T/b.names.$t"
  [[ $(wc -l <"$T/b.names.$t") -eq $N_STATS ]] || FAILS+=("(b) $t: stats listed $(wc -l <"$T/b.names.$t") containers, not $N_STATS")
done
log "removing the running containers"
# -t 0: sleep as pid 1 ignores SIGTERM, and the stop timeout is not measured here.
B rm -f -t 0 --all >/dev/null
P rm -f -a -t 0 >/dev/null

log "(c) system df over $N_CTRS containers of $N_IMAGES images"
# N_IMAGES distinct images: busybox plus one small layer each (import of a
# tar holding one distinct file), the same tar for both tools.
for ((i = 0; i < N_IMAGES; i++)); do
  mkdir -p "$T/img/$i"
  head -c 4096 /dev/urandom >"$T/img/$i/data"
  tar -C "$T/img/$i" -cf "$T/img/$i.tar" data
  B import "$T/img/$i.tar" "localhost/dfimg$i:latest" >/dev/null
  P import -q "$T/img/$i.tar" "localhost/dfimg$i:latest" >/dev/null
done
for t in "${BOTH[@]}"; do
  for ((i = 0; i < N_CTRS; i++)); do
    tool_cmd "$t" create "localhost/dfimg$((i % N_IMAGES)):latest" /data >/dev/null
  done
done
measure c "$RUNS_SLOW" BOTH system df
LOAD_AFTER=$(load)

row() { # row LABEL SECTION [TOOL-A TOOL-B]: A vs B, A/B
  local a=${3:-berth} b=${4:-podman} am ap bm bp
  read -r am ap _ < <(ms_stats "$T/$2.$a")
  read -r bm bp _ < <(ms_stats "$T/$2.$b")
  printf '| %s | %s (%s) | %s (%s) | %s |\n' "$1" "$am" "$ap" "$bm" "$bp" "$(ratio "$am" "$bm")"
}
delta() { # delta LABEL SECTION TOOL-A TOOL-B: A − B in ms
  local am bm
  read -r am _ < <(ms_stats "$T/$2.$3")
  read -r bm _ < <(ms_stats "$T/$2.$4")
  local d=n/a
  isnum "$am" && isnum "$bm" && d=$(calc "$am - $bm" 2)
  printf '| %s | %s | %s | %s ms |\n' "$1" "$am" "$bm" "$d"
}

set_rev
TABLE=$(
  echo "| what | berth, median (p90) ms | podman, median (p90) ms | berth/podman |"
  echo "|---|---|---|---|"
  row '`run --rm --network none busybox true` (events on)' a
  row "\`stats --no-stream\`, $N_STATS running" b
  row "\`system df\`, $N_CTRS containers, $N_IMAGES images" c
)
EVENTS=$(
  echo "| what | with events, median ms | without, median ms | difference |"
  echo "|---|---|---|---|"
  delta '`run --rm --network none busybox true`, events file vs `--events-backend none` (same binary)' a berth noevents
  [[ -z $BERTH_BEFORE ]] || delta '`run --rm --network none busybox true`, now vs before the events log' a berth before
)
echo
echo "$TABLE"
echo
echo "$EVENTS"
echo
echo "load before $LOAD_BEFORE, after $LOAD_AFTER; runs: a $RUNS, b and c $RUNS_SLOW per tool"
((${#FAILS[@]} == 0)) || printf 'failure: %s\n' "${FAILS[@]}"
if [[ -n ${RESULTS_MD_APPEND:-} ]]; then
  ensure_results_md
  {
    section_title "System: events cost, stats, system df"
    build_info
    [[ -z $BERTH_BEFORE ]] || echo "; before: \`$BERTH_BEFORE\`"
    echo
    echo "$TABLE"
    echo
    echo "$EVENTS"
  } >>"$RESULTS_MD"
fi
((${#FAILS[@]} == 0))
