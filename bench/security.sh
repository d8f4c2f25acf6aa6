#!/usr/bin/env bash
# bench/security.sh — what the process hygiene of issue 11 costs on the run
# path: berth before the change (BERTH_BEFORE, a binary built from the
# commit before it), berth now, and podman (runc), side by side:
#   a. `run --rm --network none busybox true` wall time
#   b. `exec CTR true` into a running container
# Alternating order, medians and p90 over RUNS timed runs (+2 warm-up).
# Prints a table; with RESULTS_MD set, appends it there as a section.
#
# Env: RUNS (default 30), BERTH (default <repo>/target/release/berth),
#      BERTH_BEFORE (optional; without it the "before" column is n/a),
#      BENCH_CACHE (default /var/tmp/berth-bench). Must run as root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-30}
WARMUP=2
BERTH_BEFORE=${BERTH_BEFORE:-}

need_root
need_posint RUNS
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need_exe /bin/busybox busybox-static
check_needs
need_berth
need_bash5
[[ -z $BERTH_BEFORE || -x $BERTH_BEFORE ]] || die "BERTH_BEFORE=$BERTH_BEFORE is not executable"

make_scratch security
init_tool_roots
BEFORE_CMD=("${BERTH_BEFORE:-false}" --root "$T/before/root" --runroot "$T/before/run")
BB() { "${BEFORE_CMD[@]}" "$@"; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -z $BERTH_BEFORE ]] || timeout 120 "${BEFORE_CMD[@]}" rm -f --all >/dev/null 2>&1 || true
  umount_under "$T/before"
  teardown_tools 120 || true
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
TOOLS=(berth podman)
if [[ -n $BERTH_BEFORE ]]; then
  BB pull -q busybox >/dev/null
  TOOLS=(before berth podman)
fi
wait_inode_aging

tool_cmd() { # tool_cmd TOOL ARGS...
  local t=$1; shift
  case $t in
    berth) B "$@" ;;
    before) BB "$@" ;;
    podman) P "$@" ;;
  esac
}

# measure SECTION ARGS...: RUNS timed runs of `TOOL ARGS` per tool, the
# tools' order rotating each round; results in $T/SECTION.TOOL
measure() {
  local sect=$1; shift
  local i t ms n=${#TOOLS[@]} k
  for t in "${TOOLS[@]}"; do : >"$T/$sect.$t"; done
  for ((i = 1; i <= RUNS + WARMUP; i++)); do
    for ((k = 0; k < n; k++)); do
      t=${TOOLS[$(((i + k) % n))]}
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
measure a run --rm --network none busybox true
log "(b) exec CTR true: $RUNS runs per tool"
for t in "${TOOLS[@]}"; do
  tool_cmd "$t" run -d --name sec-exec --network none busybox sleep 1000 >/dev/null
done
measure b exec sec-exec true
for t in "${TOOLS[@]}"; do tool_cmd "$t" rm -f sec-exec >/dev/null 2>&1 || true; done
LOAD_AFTER=$(load)

row() { # row LABEL SECTION
  local bm bp pm pp fm fp
  read -r bm bp _ < <(ms_stats "$T/$2.berth")
  read -r pm pp _ < <(ms_stats "$T/$2.podman")
  if [[ -n $BERTH_BEFORE ]]; then read -r fm fp _ < <(ms_stats "$T/$2.before"); else fm=n/a fp=n/a; fi
  local delta=n/a
  isnum "$fm" && isnum "$bm" && delta=$(calc "$bm - $fm" 1)
  printf '| %s | %s (%s) | %s (%s) | %s | %s (%s) | %s |\n' \
    "$1" "$fm" "$fp" "$bm" "$bp" "$delta" "$pm" "$pp" "$(ratio "$bm" "$pm")"
}

set_rev
TABLE=$(
  echo "| what | berth before, median (p90) ms | berth now, median (p90) ms | now − before ms | podman, median (p90) ms | berth/podman |"
  echo "|---|---|---|---|---|---|"
  row '`run --rm --network none busybox true`' a
  row '`exec CTR true`' b
)
echo
echo "$TABLE"
echo
echo "load before $LOAD_BEFORE, after $LOAD_AFTER; runs per tool: $RUNS"
((${#FAILS[@]} == 0)) || printf 'failure: %s\n' "${FAILS[@]}"
if [[ -n ${RESULTS_MD_APPEND:-} ]]; then
  ensure_results_md
  {
    section_title "Security: run and exec latency before/after process hygiene"
    build_info
    [[ -z $BERTH_BEFORE ]] || echo "; before: \`$BERTH_BEFORE\`"
    echo
    echo "$TABLE"
  } >>"$RESULTS_MD"
fi
