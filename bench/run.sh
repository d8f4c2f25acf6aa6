#!/usr/bin/env bash
# bench/run.sh — container lifecycle benchmark: berth vs podman (runc).
#
# Builds a tiny busybox image (one gzip layer: busybox-static + a few
# symlinks), serves it from a local docker-registry, pulls it into fresh
# berth and podman roots, then measures:
#   a. `run --rm --network none busybox true` wall time (median, p90)
#   b. `ps -a` with 500 created containers (median of 10)
#   c. 100 x `run -d busybox sleep 1000`: loop wall time, and the summed
#      memory of berth's per-container monitors vs podman's conmons
#   d. where berth's own `run --rm true` time goes (strace timestamps)
#   e. rootless: (a) again as the unprivileged user berth-bench (created if
#      missing, with a /etc/subuid + /etc/subgid range), both tools with
#      private HOME/XDG dirs in a temp dir owned by that user
# Prints a table and appends a dated section to BENCHMARKS.md.
#
# Env: RUNS (default 20), TRACE_RUNS (default 5), NCREATE (default 500),
#      NDETACH (default 100), PS_RUNS (default 10),
#      BENCH_CACHE (default /var/tmp/berth-bench, shared with pull.sh),
#      BERTH (default <repo>/target/release/berth),
#      ROOTLESS (default 1; 0 skips section e),
#      RESULTS_MD (default <repo>/BENCHMARKS.md).
# Must run as root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-20}
TRACE_RUNS=${TRACE_RUNS:-5}
NCREATE=${NCREATE:-500}
NDETACH=${NDETACH:-100}
PS_RUNS=${PS_RUNS:-10}
ROOTLESS=${ROOTLESS:-1}
WARMUP=2

# ---------------------------------------------------------------- preflight
need_root
need_posint RUNS TRACE_RUNS NCREATE NDETACH PS_RUNS
[[ $ROOTLESS == 0 || $ROOTLESS == 1 ]] || die "ROOTLESS must be 0 or 1 (got '$ROOTLESS')"
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need strace strace
need python3 python3
need curl curl
need findmnt util-linux
if ((ROOTLESS)); then
  need setpriv util-linux
  need useradd passwd
  need newuidmap uidmap
  need newgidmap uidmap
  need pgrep procps
fi
need_exe /bin/busybox busybox-static
check_needs
need_berth
need_bash5
/bin/busybox --list 2>/dev/null | grep -qx sleep || die "/bin/busybox is not a full (static) busybox"

# ---------------------------------------------------------------- cleanup
make_scratch run
init_tool_roots
DETACH_IDS_B=() DETACH_IDS_P=()
# Process ids of our own detached containers' monitors/conmons and payloads,
# so the final check (and nothing broader) can find leaks.
OUR_PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  teardown_tools 120 || true
  teardown_rootless || true
  [[ -z $RL_TD_LEFT ]] || echo "warning: rootless cleanup: $RL_TD_LEFT" >&2
  stop_registry
  remove_scratch
  local alive
  alive=$( ((${#OUR_PIDS[@]})) && alive_list "${OUR_PIDS[@]}" | tr '\n' ' ' || true)
  [[ -z $alive ]] || echo "warning: container/monitor processes still running: $alive" >&2
  exit "$rc"
}
install_traps

# ---------------------------------------------------------------- helpers

# ================================================================= setup
START=$(date +%s)
LOAD_BEFORE=$(load)
configure_podman
log "building busybox OCI layout"
read -r LAYER_DIGEST LAYER_SIZE LAYER_USIZE < <(build_busybox_layout "$T/oci")

serve_layout "$T/oci" latest busybox
# podman stages blobs in $TMPDIR; keep that inside $T.
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp

probe_podman "${PODMAN_CMD[@]}"
pull_into_roots

# Sanity: both must run the image under its short name.
IMG=busybox
B run --rm --network none "$IMG" true >"$T/out" 2>"$T/err" ||
  { LAST_RC=$?; note_fail setup berth "${BERTH_CMD[*]} run --rm --network none $IMG true"; }
P run --rm --network none "$IMG" true >"$T/out" 2>"$T/err" ||
  { LAST_RC=$?; note_fail setup podman "podman run --rm --network none $IMG true"; }

# bench/pull.sh frees ~10^4 inodes on exit; on this no-journal ext4 every
# file created in the next 60 s pays for skipping them. Wait that out.
wait_inode_aging

# ================================================================= a. run --rm true
log "(a) run --rm --network none $IMG true: $RUNS timed runs per tool (+$WARMUP warm-up), alternating"
LOAD_A=$(load)
: >"$T/a.berth"; : >"$T/a.podman"
run_a() { # run_a TOOL RECORD(0|1)
  local ms
  if [[ $1 == berth ]]; then
    timed ms B run --rm --network none "$IMG" true || { note_fail a berth "berth run --rm --network none $IMG true"; return 0; }
  else
    timed ms P run --rm --network none "$IMG" true || { note_fail a podman "podman run --rm --network none $IMG true"; return 0; }
  fi
  (($2)) && echo "$ms" >>"$T/a.$1"
  return 0
}
for ((i = 1; i <= RUNS + WARMUP; i++)); do
  rec=$((i > WARMUP))
  if ((i % 2)); then run_a berth $rec; run_a podman $rec; else run_a podman $rec; run_a berth $rec; fi
done
read -r A_B_MED A_B_P90 A_B_N < <(ms_stats "$T/a.berth")
read -r A_P_MED A_P_P90 A_P_N < <(ms_stats "$T/a.podman")
A_RATIO=$(ratio "$A_B_MED" "$A_P_MED"); A_RESULT=$(passfail "$A_RATIO" 0.2)
log "    berth median $A_B_MED ms p90 $A_B_P90 | podman median $A_P_MED ms p90 $A_P_P90 | ratio $A_RATIO ($A_RESULT)"

# ================================================================= d. breakdown
# strace (seccomp-bpf: only the listed syscalls stop the tracee) with
# timestamps; phases are cut at marker syscalls, medians over TRACE_RUNS.
log "(d) strace breakdown of berth run --rm true: $TRACE_RUNS traced runs"
cat >"$T/phases.py" <<'EOF'
import re, statistics, sys
PH = [
    ("CLI start: exec, ld.so, arg parsing, storage lock (exec -> open berth.db)", 0, 1),
    ("DB + create: image lookup, dirs, hosts/resolv.conf, config.json, DB insert (-> fork monitor)", 1, 2),
    ("monitor setup: reopen DB, read spec, log file, cgroup mkdirs (-> clone)", 2, 3),
    ("clone(CLONE_NEWNS, NEWPID, ...) + cgroup.procs attach (-> child's first mount)", 3, 4),
    ("rootfs: overlay + /proc,/dev,/sys mounts, pivot_root, masks, caps, seccomp (-> execve)", 4, 5),
    ("exec + run `true` (-> container exit)", 5, 6),
    ("reap + cleanup: umount, rm dirs, DB update (-> CLI exit)", 6, 7),
]
line_re = re.compile(r'^(\d+)\s+(\d+\.\d+)\s+(.*)$')
dur_re = re.compile(r'<(\d+\.\d+)>\s*$')
runs = []
for path in sys.argv[1:]:
    ev = []
    for ln in open(path):
        m = line_re.match(ln.rstrip('\n'))
        if m:
            ev.append((int(m.group(1)), float(m.group(2)), m.group(3)))
    if not ev:
        continue
    root = ev[0][0]
    t = [None] * 9
    mon = ctr = None
    for pid, ts, rest in ev:
        if 'pivot_root(' in rest and ctr is None:
            ctr = pid
        if rest.startswith('clone') and 'CLONE_NEWNS' in rest and mon is None:
            mon = pid
    cg_write = 0.0
    for pid, ts, rest in ev:
        if pid == root:
            if t[0] is None and rest.startswith('execve('): t[0] = ts
            elif t[1] is None and rest.startswith('openat(') and 'berth.db"' in rest: t[1] = ts
            elif t[2] is None and rest.startswith(('clone(', 'clone3(')) and 'CLONE_THREAD' not in rest: t[2] = ts
            elif rest.startswith('exit_group('): t[7] = ts
        elif pid == mon:
            if t[3] is None and rest.startswith('clone') and 'CLONE_NEWNS' in rest: t[3] = ts
            elif rest.startswith(('exit_group(', '+++ exited')) and t[8] is None: t[8] = ts
            if t[3] is not None and t[4] is None and (rest.startswith('write(') or rest.startswith('<... write resumed>')):
                d = dur_re.search(rest)
                if d: cg_write += float(d.group(1))
        elif pid == ctr:
            if t[4] is None and rest.startswith('mount('): t[4] = ts
            elif t[5] is None and rest.startswith('execve('): t[5] = ts
            elif t[6] is None and rest.startswith(('exit_group(', '+++ exited')): t[6] = ts
    if any(x is None for x in t[:8]):
        print("warning: %s: could not find all markers %r" % (path, t), file=sys.stderr)
        continue
    runs.append(([(t[b] - t[a]) * 1000 for _, a, b in PH], (t[7] - t[0]) * 1000,
                 ((t[8] - t[7]) * 1000) if t[8] else float('nan'), cg_write * 1000))
if not runs:
    sys.exit(1)
med = lambda xs: statistics.median(xs)
tot = med([r[1] for r in runs])
for i, (name, _, _) in enumerate(PH):
    v = med([r[0][i] for r in runs])
    print("%s|%.1f|%.0f" % (name, v, 100 * v / tot if tot else 0))
print("TOTAL (traced, exec -> CLI exit)|%.1f|100" % tot)
print("  of which: monitor's cgroup.procs write(s) (inside the clone phase)|%.1f|%.0f" % (med([r[3] for r in runs]), 100 * med([r[3] for r in runs]) / tot))
print("  after CLI exit: monitor still finishing (not in wall time)|%.1f|-" % med([r[2] for r in runs]))
print("RUNS|%d|" % len(runs))
EOF
STRACE_SET=execve,clone,clone3,mount,umount2,pivot_root,wait4,exit_group,openat,mkdir,write
: >"$T/d.untraced"
D_FILES=()
for ((i = 1; i <= TRACE_RUNS; i++)); do
  f=$T/strace.$i
  if timed ms strace -o "$f" --seccomp-bpf -f -ttt -T -e trace=$STRACE_SET "${BERTH_CMD[@]}" run --rm --network none "$IMG" true; then
    D_FILES+=("$f")
  else
    note_fail d berth "strace -f ... berth run --rm --network none $IMG true"
  fi
  # an untraced run right after each, for scale
  timed ms B run --rm --network none "$IMG" true && echo "$ms" >>"$T/d.untraced" || note_fail d berth "berth run --rm (untraced)"
done
D_TABLE="(no successful traced runs)"
D_TRACED="n/a"
if ((${#D_FILES[@]})) && python3 "$T/phases.py" "${D_FILES[@]}" >"$T/phases.out" 2>"$T/err"; then
  D_TRACED=$(awk -F'|' '/^TOTAL/ { print $2 }' "$T/phases.out")
  D_NRUNS=$(awk -F'|' '/^RUNS/ { print $2 }' "$T/phases.out")
  D_TABLE=$(printf '| phase (berth run --rm --network none busybox true) | median ms | %% |\n|---|---|---|\n'
            grep -v '^RUNS' "$T/phases.out" | awk -F'|' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }')
else
  cat "$T/err" >&2
  FAILS+=("(d) could not parse strace output: $(head -c 300 "$T/err" | tr '\n' ' ')")
fi
read -r D_UNTRACED _ _ < <(ms_stats "$T/d.untraced")
# keep one raw trace for reference
[[ -n ${D_FILES[0]:-} ]] && cp "${D_FILES[0]}" "$CACHE/run-bench-last.strace" 2>/dev/null || true

# ================================================================= e. rootless
# (a) again as an unprivileged user: berth with its defaults for rootless
# ($XDG_DATA_HOME/berth, $XDG_RUNTIME_DIR/berth, per-user pause process),
# podman rootless (runc, cgroupfs, file events, native overlay in its user
# namespace). Both through the same setpriv + env wrapper, whose own cost
# is measured alongside.
E_B_MED=n/a E_B_P90=n/a E_B_N=0 E_P_MED=n/a E_P_P90=n/a E_P_N=0 E_W_MED=n/a
E_RATIO=n/a E_RESULT=n/a E_NOTES=() E_SUBID="" E_P_INFO="" LOAD_E=""
if ((ROOTLESS)); then
  log "(e) rootless ($RL_USER): run --rm --network none $IMG true: $RUNS timed runs per tool (+$WARMUP warm-up), alternating"
  LOAD_E=$(load)
  setup_rootless   # (lib.sh) bench user, $RU, RL_WRAP, RB/RP/RW
  E_SUBID="subuid $(grep "^$RL_USER:" /etc/subuid | head -n1 | cut -d: -f2-), subgid $(grep "^$RL_USER:" /etc/subgid | head -n1 | cut -d: -f2-)"

  E_B_OK=1 E_P_OK=1
  RW >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail e-setup wrapper "setpriv ... env ... true"; E_B_OK=0 E_P_OK=0; }
  if ((E_B_OK)); then
    RB pull -q "$IMG" >"$T/out" 2>"$T/err" ||
      { LAST_RC=$?; note_fail e-setup berth "berth pull -q $IMG (rootless)"; E_B_OK=0; }
  fi
  if ((E_B_OK)); then
    RB run --rm --network none "$IMG" true >"$T/out" 2>"$T/err" ||
      { LAST_RC=$?; note_fail e-setup berth "berth run --rm --network none $IMG true (rootless)"; E_B_OK=0; }
  fi
  if ((E_P_OK)); then
    RP info >"$T/out" 2>"$T/err" ||
      { LAST_RC=$?; note_fail e-setup podman "podman ${RL_PODMAN[*]:1} info (rootless)"; E_P_OK=0; }
  fi
  if ((E_P_OK)); then
    E_P_INFO=$(RP info --format 'storage driver {{.Store.GraphDriverName}} (native overlay diff: {{index .Store.GraphStatus "Native Overlay Diff"}}), runtime {{.Host.OCIRuntime.Name}}, cgroup manager {{.Host.CgroupManager}}, events {{.Host.EventLogger}}, rootless {{.Host.Security.Rootless}}' 2>/dev/null || echo '?')
    RP pull -q --tls-verify=false "$REF" >"$T/out" 2>"$T/err" ||
      { LAST_RC=$?; note_fail e-setup podman "podman pull -q --tls-verify=false $REF (rootless)"; E_P_OK=0; }
  fi
  if ((E_P_OK)); then
    RP run --rm --network none "$IMG" true >"$T/out" 2>"$T/err" ||
      { LAST_RC=$?; note_fail e-setup podman "podman run --rm --network none $IMG true (rootless)"; E_P_OK=0; }
  fi
  ((E_B_OK)) || E_NOTES+=("berth rootless did not work, not measured (see failures)")
  ((E_P_OK)) || E_NOTES+=("podman rootless did not work, not measured (see failures)")

  : >"$T/e.berth"; : >"$T/e.podman"; : >"$T/e.wrap"
  run_e() { # run_e TOOL RECORD(0|1)
    local ms
    case $1 in
      berth) ((E_B_OK)) || return 0
        timed ms RB run --rm --network none "$IMG" true || { note_fail e berth "berth run --rm --network none $IMG true (rootless)"; return 0; } ;;
      podman) ((E_P_OK)) || return 0
        timed ms RP run --rm --network none "$IMG" true || { note_fail e podman "podman run --rm --network none $IMG true (rootless)"; return 0; } ;;
      wrap) timed ms RW || { note_fail e wrapper "setpriv ... env ... true"; return 0; } ;;
    esac
    (($2)) && echo "$ms" >>"$T/e.$1"
    return 0
  }
  if ((E_B_OK || E_P_OK)); then
    for ((i = 1; i <= RUNS + WARMUP; i++)); do
      rec=$((i > WARMUP))
      if ((i % 2)); then run_e berth $rec; run_e podman $rec; else run_e podman $rec; run_e berth $rec; fi
      run_e wrap $rec
    done
  fi
  read -r E_B_MED E_B_P90 E_B_N < <(ms_stats "$T/e.berth")
  read -r E_P_MED E_P_P90 E_P_N < <(ms_stats "$T/e.podman")
  read -r E_W_MED _ _ < <(ms_stats "$T/e.wrap")
  E_RATIO=$(ratio "$E_B_MED" "$E_P_MED"); E_RESULT=$(passfail "$E_RATIO" 0.2)
  log "    berth median $E_B_MED ms p90 $E_B_P90 | podman median $E_P_MED ms p90 $E_P_P90 | ratio $E_RATIO ($E_RESULT) | wrapper alone $E_W_MED ms"
  # what the tools left behind: pause processes, other processes, mounts
  # (rootless overlay mounts live in the tools' own mount namespaces)
  E_HOSTMNT=$(findmnt -rn -o TARGET | grep -cF "$RU" || true)
  teardown_rootless
  E_NOTES+=("$RL_TD_NOTE" "host mounts under the temp dir before teardown: $E_HOSTMNT")
  [[ -z $RL_TD_LEFT ]] || FAILS+=("(e) rootless cleanup: $RL_TD_LEFT")
  log "    cleanup: $RL_TD_NOTE${RL_TD_LEFT:+; PROBLEMS: $RL_TD_LEFT}"
fi

# ================================================================= c. 100 x run -d
log "(c) $NDETACH x run -d $IMG sleep 1000 per tool, alternating"
LOAD_C=$(load)
C_B_MS=0 C_P_MS=0
for ((i = 1; i <= NDETACH; i++)); do
  for tool in $( ((i % 2)) && echo berth podman || echo podman berth); do
    if [[ $tool == berth ]]; then
      if timed ms B run -d "$IMG" sleep 1000; then
        DETACH_IDS_B+=("$(tail -n1 "$T/out")"); C_B_MS=$(calc "$C_B_MS + $ms" 3)
      else note_fail c berth "berth run -d $IMG sleep 1000"; fi
    else
      if timed ms P run -d "$IMG" sleep 1000; then
        DETACH_IDS_P+=("$(tail -n1 "$T/out")"); C_P_MS=$(calc "$C_P_MS + $ms" 3)
      else note_fail c podman "podman run -d $IMG sleep 1000"; fi
    fi
  done
done
C_B_N=${#DETACH_IDS_B[@]} C_P_N=${#DETACH_IDS_P[@]}
sleep 1   # let the last monitors settle
# mem_sum PIDFILE -> "n vmrss_kb pss_kb rssanon_kb"
mem_sum() {
  local pid n=0 rss=0 pss=0 anon=0 v
  while read -r _ pid; do
    [[ $pid =~ ^[1-9][0-9]*$ && -r /proc/$pid/status ]] || continue
    v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"); rss=$((rss + ${v:-0}))
    v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status"); anon=$((anon + ${v:-0}))
    v=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null); pss=$((pss + ${v:-0}))
    n=$((n + 1))
  done <"$1"
  echo "$n $rss $pss $anon"
}
: >"$T/c.berth.pids"; : >"$T/c.podman.pids"
if ((C_B_N)); then
  B inspect --format '{{.State.Pid}} {{.State.ConmonPid}}' "${DETACH_IDS_B[@]}" >"$T/c.berth.pids" 2>"$T/err" ||
    { LAST_RC=$?; note_fail c berth "berth inspect --format '{{.State.Pid}} {{.State.ConmonPid}}' <ids>"; }
fi
if ((C_P_N)); then
  P inspect --format '{{.State.Pid}} {{.State.ConmonPid}}' "${DETACH_IDS_P[@]}" >"$T/c.podman.pids" 2>"$T/err" ||
    { LAST_RC=$?; note_fail c podman "podman inspect --format ... <ids>"; }
fi
# payload and monitor pids (for the leak checks after rm and at exit)
C_PIDS_B=() C_PIDS_P=()
while read -r p m; do
  [[ $p =~ ^[1-9][0-9]*$ ]] && C_PIDS_B+=("$p")
  [[ ${m:-} =~ ^[1-9][0-9]*$ ]] && C_PIDS_B+=("$m")
done <"$T/c.berth.pids"
while read -r p m; do
  [[ $p =~ ^[1-9][0-9]*$ ]] && C_PIDS_P+=("$p")
  [[ ${m:-} =~ ^[1-9][0-9]*$ ]] && C_PIDS_P+=("$m")
done <"$T/c.podman.pids"
OUR_PIDS+=("${C_PIDS_B[@]}" "${C_PIDS_P[@]}")
count_alive() { # count_alive PIDFILE: payload pids (column 1) still present
  local p n=0
  while read -r p _; do
    [[ $p =~ ^[1-9][0-9]*$ && -d /proc/$p ]] && n=$((n + 1))
  done <"$1"
  echo "$n"
}
C_B_RUNNING=$(count_alive "$T/c.berth.pids")
C_P_RUNNING=$(count_alive "$T/c.podman.pids")
read -r C_B_MN C_B_RSS C_B_PSS C_B_ANON < <(mem_sum "$T/c.berth.pids")
read -r C_P_MN C_P_RSS C_P_PSS C_P_ANON < <(mem_sum "$T/c.podman.pids")
C_B_CMD=$(tr '\0' ' ' 2>/dev/null <"/proc/$(awk 'NR==1 { print $2 }' "$T/c.berth.pids")/cmdline" || echo '?')
mb() { calc "$1 / 1024" 1; }
log "    berth: $C_B_N started (${C_B_MS} ms), $C_B_RUNNING running, monitors VmRSS $(mb "$C_B_RSS") MB PSS $(mb "$C_B_PSS") MB"
log "    podman: $C_P_N started (${C_P_MS} ms), $C_P_RUNNING running, conmons VmRSS $(mb "$C_P_RSS") MB PSS $(mb "$C_P_PSS") MB"
# after_rm TOOL PIDS... : how many of the tool's monitor/payload pids are
# still alive right after its rm returned, and how long until none is
# (polled every 50 ms, up to 20 s). Sets AR_NOW and AR_GONE_MS.
after_rm() {
  local tool=$1 s left; shift
  s=$EPOCHREALTIME
  AR_NOW=$(alive_list "$@" | wc -l)
  AR_GONE_MS=0
  ((AR_NOW == 0)) && return 0
  while :; do
    left=$(alive_list "$@" | wc -l)
    ((left == 0)) && break
    if awk -v s="$s" -v e="$EPOCHREALTIME" 'BEGIN { exit !(e - s > 20) }'; then
      FAILS+=("(c) $tool: $left monitor/container processes still alive 20 s after rm: $(alive_list "$@" | tr '\n' ' ')")
      AR_GONE_MS=">20000"; return 0
    fi
    sleep 0.05
  done
  AR_GONE_MS=$(calc "($EPOCHREALTIME - $s) * 1000" 0)
}
C_B_RM=n/a C_P_RM=n/a
timed ms B rm -f --all && C_B_RM=$(calc "$ms" 1) || note_fail c berth "berth rm -f --all"
after_rm berth "${C_PIDS_B[@]}"; C_B_AR="$AR_NOW running$( ((AR_NOW)) && echo ", all exited after +${AR_GONE_MS} ms" || true)"
timed ms P rm -f -a -t 0 && C_P_RM=$(calc "$ms" 1) || note_fail c podman "podman rm -f -a -t 0"
after_rm podman "${C_PIDS_P[@]}"; C_P_AR="$AR_NOW running$( ((AR_NOW)) && echo ", all exited after +${AR_GONE_MS} ms" || true)"
C_LEFT_B=$(B ps -a -q 2>/dev/null | wc -l || echo '?')
C_LEFT_P=$(P ps -a -q 2>/dev/null | wc -l || echo '?')
[[ $C_LEFT_B == 0 && $C_LEFT_P == 0 ]] ||
  FAILS+=("(c) after rm: berth ps -a still lists $C_LEFT_B, podman ps -a $C_LEFT_P containers")
log "    rm -f --all: berth $C_B_RM ms ($C_B_AR), podman $C_P_RM ms ($C_P_AR)"

# ================================================================= b. ps -a with N created
log "(b) creating $NCREATE containers per tool, then $PS_RUNS x ps -a each"
LOAD_B=$(load)
B_CREATE_FAIL=0 P_CREATE_FAIL=0
s=$EPOCHREALTIME
for ((i = 1; i <= NCREATE; i++)); do
  B create --name "c$i" "$IMG" true >/dev/null 2>"$T/err" ||
    { LAST_RC=$?; B_CREATE_FAIL=$((B_CREATE_FAIL + 1)); note_fail b berth "berth create --name c$i $IMG true"; }
done
B_CREATE_S=$(calc "$EPOCHREALTIME - $s" 2)
s=$EPOCHREALTIME
for ((i = 1; i <= NCREATE; i++)); do
  P create --name "c$i" "$IMG" true >/dev/null 2>"$T/err" ||
    { LAST_RC=$?; P_CREATE_FAIL=$((P_CREATE_FAIL + 1)); note_fail b podman "podman create --name c$i $IMG true"; }
done
P_CREATE_S=$(calc "$EPOCHREALTIME - $s" 2)
B_PS_LINES=$(B ps -a 2>/dev/null | wc -l || echo '?')
P_PS_LINES=$(P ps -a 2>/dev/null | wc -l || echo '?')
: >"$T/b.berth"; : >"$T/b.podman"
for ((i = 1; i <= PS_RUNS + 1; i++)); do   # first round is a warm-up
  for tool in $( ((i % 2)) && echo berth podman || echo podman berth); do
    if [[ $tool == berth ]]; then
      timed ms B ps -a && { ((i > 1)) && echo "$ms" >>"$T/b.berth"; true; } || note_fail b berth "berth ps -a"
    else
      timed ms P ps -a && { ((i > 1)) && echo "$ms" >>"$T/b.podman"; true; } || note_fail b podman "podman ps -a"
    fi
  done
done
read -r B_B_MED B_B_P90 _ < <(ms_stats "$T/b.berth")
read -r B_P_MED B_P_P90 _ < <(ms_stats "$T/b.podman")
B_RATIO=$(ratio "$B_B_MED" "$B_P_MED"); B_RESULT=$(passfail "$B_RATIO" 0.2)
log "    berth ps -a median $B_B_MED ms ($B_PS_LINES lines) | podman $B_P_MED ms ($P_PS_LINES lines) | ratio $B_RATIO ($B_RESULT)"

# ================================================================= teardown
log "removing all containers and storage"
LOAD_END=$(load)
timed ms B rm -f --all && B_RMALL=$(calc "$ms" 1) || { note_fail b berth "berth rm -f --all ($NCREATE created)"; B_RMALL=n/a; }
timed ms P rm -f -a -t 0 && P_RMALL=$(calc "$ms" 1) || { note_fail b podman "podman rm -f -a -t 0"; P_RMALL=n/a; }
teardown_tools 120
LEAK=$(findmnt -rn -o TARGET | grep -F "$T" || true)
[[ -z $LEAK ]] || FAILS+=("mounts left under \$T after teardown: $(echo "$LEAK" | tr '\n' ' ')")
# cgroups of section (c)'s containers must be gone too (v1: one dir per controller)
CG_LEFT=0
for id in "${DETACH_IDS_B[@]}"; do
  for d in /sys/fs/cgroup/*/berth/"$id"; do [[ -d $d ]] && CG_LEFT=$((CG_LEFT + 1)); done
done
for id in "${DETACH_IDS_P[@]}"; do
  for d in /sys/fs/cgroup/*/libpod_parent/libpod-"$id" /sys/fs/cgroup/*/libpod_parent/libpod-conmon-"$id"; do
    [[ -d $d ]] && CG_LEFT=$((CG_LEFT + 1))
  done
done
((CG_LEFT == 0)) || FAILS+=("$CG_LEFT cgroup directories of section (c) containers left after teardown")
ELAPSED=$(($(date +%s) - START))

# ================================================================= report
CREAT_RATIO=$(ratio "$B_CREATE_S" "$P_CREATE_S")
TABLE=$(cat <<EOF
| metric | berth | podman | berth/podman | target | result |
|---|---|---|---|---|---|
| a. \`run --rm --network none busybox true\` median ms ($A_B_N / $A_P_N runs) | $A_B_MED | $A_P_MED | $A_RATIO | ≤ 0.20 | $A_RESULT |
| a. same, p90 ms | $A_B_P90 | $A_P_P90 | $(ratio "$A_B_P90" "$A_P_P90") | – | – |
| b. \`ps -a\` with $NCREATE created, median of $PS_RUNS, ms | $B_B_MED | $B_P_MED | $B_RATIO | ≤ 0.20 | $B_RESULT |
| b. (info) $NCREATE × \`create\`, total s | $B_CREATE_S | $P_CREATE_S | $CREAT_RATIO | – | – |
| b. (info) \`rm -f --all\` of $NCREATE created, ms | $B_RMALL | $P_RMALL | $(ratio "$B_RMALL" "$P_RMALL") | – | – |
| c. $NDETACH × \`run -d busybox sleep 1000\`, summed wall s | $(calc "$C_B_MS / 1000" 2) | $(calc "$C_P_MS / 1000" 2) | $(ratio "$C_B_MS" "$C_P_MS") | report | – |
| c. started / running after loop | $C_B_N / $C_B_RUNNING | $C_P_N / $C_P_RUNNING | – | – | – |
| c. monitors (berth) vs conmons (podman): summed VmRSS, MB ($C_B_MN / $C_P_MN procs) | $(mb "$C_B_RSS") | $(mb "$C_P_RSS") | $(ratio "$C_B_RSS" "$C_P_RSS") | report | – |
| c. same, summed PSS (shared pages split), MB | $(mb "$C_B_PSS") | $(mb "$C_P_PSS") | $(ratio "$C_B_PSS" "$C_P_PSS") | report | – |
| c. same, summed RssAnon, MB | $(mb "$C_B_ANON") | $(mb "$C_P_ANON") | $(ratio "$C_B_ANON" "$C_P_ANON") | report | – |
| c. \`rm -f --all\` of $NDETACH running, ms | $C_B_RM | $C_P_RM | $(ratio "$C_B_RM" "$C_P_RM") | – | – |
| c. monitor+payload processes (non-zombie) right after rm returned | $C_B_AR | $C_P_AR | – | – | – |
EOF
)
E_TABLE=""
if ((ROOTLESS)); then
  E_TABLE=$(cat <<EOF
| metric (rootless, user $RL_USER) | berth | podman | berth/podman | target | result |
|---|---|---|---|---|---|
| e. \`run --rm --network none busybox true\` median ms ($E_B_N / $E_P_N runs) | $E_B_MED | $E_P_MED | $E_RATIO | ≤ 0.20 | $E_RESULT |
| e. same, p90 ms | $E_B_P90 | $E_P_P90 | $(ratio "$E_B_P90" "$E_P_P90") | – | – |
| e. (info) the setpriv + env wrapper alone (\`… true\`), median ms, included in both rows above | $E_W_MED | $E_W_MED | – | – | – |
EOF
)
fi
echo
echo "$TABLE"
if ((ROOTLESS)); then
  echo
  echo "$E_TABLE"
  printf '(e) %s\n' "${E_NOTES[@]}"
fi
echo
echo "$D_TABLE"
echo
echo "(d) traced total median $D_TRACED ms vs untraced median $D_UNTRACED ms (strace overhead inflates each phase)."
echo "total ${ELAPSED}s; load: start $LOAD_BEFORE, (a) $LOAD_A,${LOAD_E:+ (e) $LOAD_E,} (c) $LOAD_C, (b) $LOAD_B, end $LOAD_END"
if ((${#FAILS[@]})); then
  echo "FAILURES:"; printf '  - %s\n' "${FAILS[@]}"
fi

ensure_results_md
{
  section_title "Container lifecycle (run/ps/run -d)"
  echo "Load average (1/5/15 min): start $LOAD_BEFORE; before (a) $LOAD_A;${LOAD_E:+ before (e) $LOAD_E;} before (c) $LOAD_C; before (b) $LOAD_B; end $LOAD_END (other jobs on the box skew timings)."
  echo "$(build_info), $(podman --version) with runc ($(runc --version | head -n1)), $(nproc) CPUs, kernel $(uname -r)."
  echo "Image: busybox-static + 6 symlinks, one gzip layer ($LAYER_SIZE bytes / $LAYER_USIZE uncompressed), pushed to a local \`docker-registry\`, pulled into fresh roots"
  echo "(podman: \`--storage-driver overlay\`, cgroupfs, runc; containers.conf ulimits nofile/nproc 4096). Wall times from bash \`\$EPOCHREALTIME\` around each command;"
  echo "$WARMUP warm-up runs per tool not counted; tools alternated. Run order: a, d,$( ((ROOTLESS)) && echo ' e,') c, b. Whole script took ${ELAPSED}s."
  echo
  echo "$TABLE"
  echo
  echo "### Where berth's \`run --rm true\` time goes (d)"
  echo
  echo "\`strace --seccomp-bpf -f -ttt -T -e trace=$STRACE_SET\`, phases cut at marker syscalls, median of ${D_NRUNS:-0} traced runs."
  echo "Traced total $D_TRACED ms vs untraced $D_UNTRACED ms (median of $TRACE_RUNS untraced runs interleaved): strace stops on every listed syscall and fork, so phases are inflated; read the shares, not absolute numbers."
  echo
  echo "$D_TABLE"
  echo
  if ((${#FAILS[@]})); then
    echo "Failures:"
    echo
    printf -- '- %s\n' "${FAILS[@]}"
    echo
  fi
  echo "Monitor processes: berth forks one monitor per container (its /proc/PID/cmdline is the CLI's: \`$C_B_CMD\`); pids from \`inspect --format '{{.State.Pid}} {{.State.ConmonPid}}'\` for both tools."
  echo "VmRSS counts shared file pages (the berth binary, libc) in full for every process; PSS splits them."
  echo
  echo "Commands:"
  echo
  echo '```'
  echo "B='berth --root \$T/berth/root --runroot \$T/berth/run'"
  echo "P='podman --root \$T/podman/root --runroot \$T/podman/run --storage-driver overlay${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}'"
  echo "(a) \$B run --rm --network none busybox true      /  \$P run --rm --network none busybox true"
  echo "(b) \$B create --name cN busybox true  (x$NCREATE); \$B ps -a >/dev/null  /  same with \$P"
  echo "(c) \$B run -d busybox sleep 1000  (x$NDETACH); \$B rm -f --all  /  \$P run -d ...; \$P rm -f -a -t 0"
  echo "(d) strace -o F --seccomp-bpf -f -ttt -T -e trace=$STRACE_SET \$B run --rm --network none busybox true"
  echo '```'
  echo
  if ((ROOTLESS)); then
    echo "### Rootless (e)"
    echo
    echo "Same \`run --rm --network none busybox true\` as (a), $RUNS timed runs per tool after $WARMUP warm-ups, alternating, as the unprivileged user \`$RL_USER\` ($E_SUBID),"
    echo "started from root through \`setpriv --reuid --regid --init-groups\` + \`env -i\` (that wrapper's own cost is the last row). Private HOME/XDG dirs in a fresh 0700 temp dir owned by the user; same local registry."
    echo "berth: its rootless defaults (\`\$XDG_DATA_HOME/berth\`, \`\$XDG_RUNTIME_DIR/berth\`; commands join a per-user pause process holding a user namespace mapped from /etc/subuid+subgid)."
    echo "podman: ${E_P_INFO:-?}; \`~/.config/containers/containers.conf\` with runtime runc, cgroupfs, file events, ulimits nofile/nproc 4096. cgroup v1 host: rootless containers of neither tool get a cgroup."
    echo
    echo "$E_TABLE"
    echo
    printf -- '- %s\n' "${E_NOTES[@]}"
    echo
    echo '```'
    echo "# U: the bench user's fresh 0700 temp dir (removed afterwards); PORT: the local registry"
    echo "W='setpriv --reuid=$RL_USER --regid=$RL_USER --init-groups env -i -C / PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=\$U/home USER=$RL_USER LOGNAME=$RL_USER XDG_RUNTIME_DIR=\$U/run XDG_DATA_HOME=\$U/data XDG_CONFIG_HOME=\$U/home/.config CONTAINERS_REGISTRIES_CONF=\$U/registries.conf TMPDIR=\$U/tmp'"
    echo "\$W berth pull -q busybox"
    echo "\$W podman --root \$U/podman/root --runroot \$U/podman/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file pull -q --tls-verify=false 127.0.0.1:PORT/busybox:latest"
    echo "(e) \$W berth run --rm --network none busybox true   /   \$W podman --root \$U/podman/root --runroot \$U/podman/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file run --rm --network none busybox true"
    echo "(e) \$W true   (wrapper alone)"
    echo '```'
    echo
  fi
  echo "Reproduce: \`RUNS=$RUNS bench/run.sh\` (as root; \`ROOTLESS=0\` skips e)."
} >>"$RESULTS_MD"
log "appended results to $RESULTS_MD"
