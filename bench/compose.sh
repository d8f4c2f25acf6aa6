#!/usr/bin/env bash
# bench/compose.sh — issue 14: `berth compose` vs podman-compose 1.6.0
# driving podman 4.3.1 (runc), the same compose file for both:
#   web  busybox httpd, deploy.replicas 2 (mode: replicated: podman-compose
#        1.6.0 only reads replicas when the mode is spelled out)
#   db   busybox sleep with a healthcheck (CMD true, interval 1s)
#   api  depends_on db: service_healthy
#   job  one-shot `true`; web depends_on it: service_completed_successfully
# = 4 services, 5 containers. Per tool and round: `up -d` cold (no
# containers, no network; image present), `up -d` again with nothing
# changed, `down`; after each step `ps` checks what runs. Tools alternate,
# one project up at a time. Medians (p90) over RUNS rounds after WARMUP.
#
# The same rounds again with api depending on db with service_started
# ("started" variant): podman-compose 1.6.0 skips service_healthy with
# podman < 4.6 (it warns "Ignored db condition check"), while berth waits
# for the first health probe, which runs one interval (1 s) after start,
# as in docker. The variant is the like-for-like comparison.
# A third variant ("nojob") also drops web's dependency on job. `up -d`
# again starts the exited job again in both tools; with the dependency
# both then wait for it to complete before looking at web, without it
# nothing waits.
#
# Prints a table; with RESULTS_MD_APPEND set, appends a section to
# $RESULTS_MD and puts a "### Compose" table under "## Today's figures"
# (replacing an older one).
#
# Env: RUNS (default 5), WARMUP (default 1), BERTH (default
#      <repo>/target/release/berth), PODMAN_COMPOSE (default: the venv
#      /var/tmp/berth-tests/podman-compose-1.6.0, made if missing, as
#      tests/common/mod.rs does), BENCH_CACHE, RESULTS_MD. As root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
PC_VENV=/var/tmp/berth-tests/podman-compose-1.6.0

need_root
need_posint RUNS
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer (got '$WARMUP')"
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need python3 python3
need flock util-linux
need_exe /bin/busybox busybox-static
check_needs
need_berth
need_bash5

# podman-compose 1.6.0 from PyPI, in the venv the test suite uses (same lock).
pc_works() { [[ $("$1" --version 2>/dev/null) == *1.6.0* ]]; }
if [[ -n ${PODMAN_COMPOSE:-} ]]; then
  pc_works "$PODMAN_COMPOSE" || die "PODMAN_COMPOSE=$PODMAN_COMPOSE is not podman-compose 1.6.0"
else
  PODMAN_COMPOSE=$PC_VENV/bin/podman-compose
  mkdir -p /var/tmp/berth-tests
  (
    flock 9
    if ! pc_works "$PODMAN_COMPOSE"; then
      log "making $PC_VENV (python3 -m venv + pip install podman-compose==1.6.0)"
      rm -rf "$PC_VENV"
      python3 -m venv "$PC_VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
      "$PC_VENV/bin/pip" install -q --disable-pip-version-check podman-compose==1.6.0 ||
        die "pip install podman-compose==1.6.0 failed"
      pc_works "$PODMAN_COMPOSE" || die "podman-compose 1.6.0 does not run"
    fi
  ) 9>/var/tmp/berth-tests/podman-compose.lock
fi

make_scratch compose
init_tool_roots
# berth runs on its own runtime: the CONTAINERS_CONF made for podman below
# (runtime = "runc") is podman's, not berth's.
BERTH_CMD=(env -u CONTAINERS_CONF "${BERTH_CMD[@]}")
PROJ=bench$$   # project name, unique per run
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n ${APP_health:-} && -d $B_ROOT ]]; then
    timeout 120 "${BERTH_CMD[@]}" compose -f "$APP_health" -p "$PROJ" down >/dev/null 2>&1 || true
  fi
  if [[ -n ${APP_health:-} && -d $P_ROOT ]]; then
    timeout 120 "$PODMAN_COMPOSE" --podman-path podman --podman-args "${PODMAN_CMD[*]:1} ${PODMAN_OPTS[*]}" \
      -f "$APP_health" -p "$PROJ" down >/dev/null 2>&1 || true
  fi
  teardown_tools 120 || true
  stop_registry
  remove_scratch
  exit "$rc"
}
install_traps

configure_podman
# podman keeps network configs in /etc/containers/networks whatever --root
# says: give this run's podman its own (and so podman-compose's project
# network stays out of the host's list).
podman_network_dir /etc/containers/containers.conf
export CONTAINERS_CONF=$T/containers.conf
log "building busybox OCI layout"
build_busybox_layout "$T/oci" >/dev/null
serve_layout "$T/oci" latest busybox
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp
probe_podman "${PODMAN_CMD[@]}"
pull_into_roots

# ---------------------------------------------------------------- the app
# write_app FILE CONDITION [nojob]: the compose file; CONDITION is api's
# wait on db; nojob: web does not depend on job.
# Long-running commands trap TERM (pid 1 ignores it otherwise, and both
# tools' `down` would sit out the 10 s stop timeout).
write_app() {
  cat >"$1" <<EOF
services:
  web:
    image: $REF
    command: ["sh", "-c", "trap 'exit 0' TERM; busybox httpd -f -p 8087 -h /tmp & wait"]
    deploy:
      mode: replicated
      replicas: 2
$([[ ${3:-} == nojob ]] || printf '    depends_on:\n      job:\n        condition: service_completed_successfully\n')
  db:
    image: $REF
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 424242 & wait"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  api:
    image: $REF
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 424242 & wait"]
    depends_on:
      db:
        condition: $2
  job:
    image: $REF
    command: ["true"]
EOF
}
mkdir -p "$T/app-health" "$T/app-started" "$T/app-nojob"
APP_health=$T/app-health/compose.yaml
APP_started=$T/app-started/compose.yaml
APP_nojob=$T/app-nojob/compose.yaml
write_app "$APP_health" service_healthy
write_app "$APP_started" service_started
write_app "$APP_nojob" service_started nojob

PC_PODMAN_ARGS="${PODMAN_CMD[*]:1}${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}"
PC=("$PODMAN_COMPOSE" --podman-path podman --podman-args "$PC_PODMAN_ARGS")
# compose_cmd TOOL FILE ARGS...
compose_cmd() {
  local t=$1 f=$2; shift 2
  case $t in
    berth) B compose -f "$f" -p "$PROJ" "$@" ;;
    podman) "${PC[@]}" -f "$f" -p "$PROJ" "$@" ;;
  esac
}
# state TOOL: "running/total containers, host processes (httpd sleep)"
state() {
  local t=$1 lines run tot
  case $t in
    berth) lines=$(B ps -a --format '{{.Names}} {{.Status}}' 2>&1) || true ;;
    podman) lines=$(P ps -a --format '{{.Names}} {{.Status}}' 2>&1) || true ;;
  esac
  tot=$(grep -c "^$PROJ" <<<"$lines" || true)
  run=$(grep "^$PROJ" <<<"$lines" | grep -c '^[^ ]* Up' || true)
  printf '%s/%s httpd=%s sleep=%s' "$run" "$tot" \
    "$(pgrep -fc '^busybox httpd -f -p 8087' || true)" "$(pgrep -fc '^sleep 424242' || true)"
}
UP_WANT="4/5 httpd=2 sleep=2"   # web x2, db, api running; job exited
DOWN_WANT="0/0 httpd=0 sleep=0"
declare -A CHECKS=()   # "variant.tool.step" -> distinct states seen, with counts
check() { # check VARIANT TOOL STEP WANT ("A|B": either)
  local s
  s=$(state "$2")
  [[ "|$4|" == *"|$s|"* ]] || FAILS+=("($1) $2 after $3: $s, expected $4")
  CHECKS[$1.$2.$3]+="$s;"
}

# cycle VARIANT TOOL ROUND: up -d, up -d again, down (timed unless warm-up)
cycle() {
  local v=$1 t=$2 i=$3 f ms
  local -n app=APP_$v
  f=$app
  if timed ms compose_cmd "$t" "$f" up -d; then
    ((i > WARMUP)) && echo "$ms" >>"$T/$v.up.$t"
    cp "$T/err" "$T/$v.up.$t.lasterr"
  else
    note_fail "$v up" "$t" "$t compose up -d"
  fi
  check "$v" "$t" up "$UP_WANT"
  if timed ms compose_cmd "$t" "$f" up -d; then
    ((i > WARMUP)) && echo "$ms" >>"$T/$v.again.$t"
    cp "$T/err" "$T/$v.again.$t.lasterr"
  else
    note_fail "$v again" "$t" "$t compose up -d (again)"
  fi
  # without web waiting on it, the re-started job may still be running
  local want=$UP_WANT
  [[ $v != nojob ]] || want+="|5/5 httpd=2 sleep=2"
  check "$v" "$t" again "$want"
  if timed ms compose_cmd "$t" "$f" down; then
    ((i > WARMUP)) && echo "$ms" >>"$T/$v.down.$t"
  else
    note_fail "$v down" "$t" "$t compose down"
  fi
  check "$v" "$t" down "$DOWN_WANT"
}

wait_inode_aging
START=$(date +%s)
LOAD_START=$(load)
declare -A LOADS=()
TOOLS=(berth podman)
for v in health started nojob; do
  for s in up again down; do for t in "${TOOLS[@]}"; do : >"$T/$v.$s.$t"; done; done
  LOADS[$v]=$(load)
  log "($v) $RUNS rounds (+$WARMUP warm-up): up -d, up -d again, down; per tool"
  for ((i = 1; i <= RUNS + WARMUP; i++)); do
    for ((k = 0; k < 2; k++)); do
      cycle "$v" "${TOOLS[$(((i + k) % 2))]}" "$i"
    done
  done
done
LOAD_END=$(load)
TOTAL_S=$(($(date +%s) - START))

med() { read -r m p n < <(ms_stats "$1"); echo "$m $p $n"; }
row() { # row LABEL VARIANT STEP TARGET
  local bm bp bn pm pp pn r
  read -r bm bp bn < <(med "$T/$2.$3.berth")
  read -r pm pp pn < <(med "$T/$2.$3.podman")
  r=$(ratio "$bm" "$pm")
  local res=– tgt
  case $4 in ratio:*) tgt="≤ ${4#ratio:}" ;; ms:*) tgt="berth ≤ ${4#ms:} ms" ;; *) tgt=– ;; esac
  case $4 in
    ratio:*) res=$(passfail "$r" "${4#ratio:}") ;;
    ms:*) res=$(isnum "$bm" && awk -v a="$bm" -v l="${4#ms:}" 'BEGIN { print (a <= l) ? "PASS" : "FAIL" }' || echo n/a) ;;
  esac
  printf '| %s | %s (%s) | %s (%s) | %s | %s | %s |\n' "$1" "$bm" "$bp" "$pm" "$pp" "$r" "$tgt" "$res"
}
short() { # short LABEL VARIANT STEP: for Today's figures
  local bm pm
  read -r bm _ < <(med "$T/$2.$3.berth")
  read -r pm _ < <(med "$T/$2.$3.podman")
  printf '| %s | %s | %s | %s |\n' "$1" "$bm" "$pm" "$(ratio "$bm" "$pm")"
}
raw() { # raw VARIANT STEP TOOL
  printf '(%s) %s %s ms: %s\n' "$1" "$2" "$3" "$(sort -n "$T/$1.$2.$3" | tr '\n' ' ')"
}

set_rev
TABLE=$(
  echo "| what | berth, median (p90) ms | podman-compose + podman, median (p90) ms | berth/podman-compose | target | result |"
  echo "|---|---|---|---|---|---|"
  row '`up -d`, 5-container app (cold, image present); api waits for db `service_healthy`' health up ratio:0.2
  row '`up -d` again, nothing changed' health again ms:100
  row '`down`' health down ratio:0.2
  row 'same app, api waits for db `service_started`: `up -d` (cold)' started up ratio:0.2
  row '`up -d` again, nothing changed' started again ms:100
  row '`down`' started down ratio:0.2
  row 'same, and web not depending on job: `up -d` (cold)' nojob up ratio:0.2
  row '`up -d` again, nothing changed' nojob again ms:100
  row '`down`' nojob down ratio:0.2
)
TODAY=$(
  echo "| what | berth | podman-compose+podman | berth/podman-compose |"
  echo "|---|---|---|---|"
  short '`up -d` 5-container app (4 services, web ×2; cold, image present), median ms' health up
  short 'same, api waiting for db `service_started` instead of `service_healthy`, median ms' started up
  short '`up -d` again unchanged, median ms' health again
  short 'same, web not waiting on the one-shot job, median ms' nojob again
  short '`down`, median ms' health down
)
RAW=$(for v in health started nojob; do for s in up again down; do for t in "${TOOLS[@]}"; do raw "$v" "$s" "$t"; done; done; done)
STATES=$(for k in $(printf '%s\n' "${!CHECKS[@]}" | sort); do
  printf '%s: %s\n' "$k" "$(tr ';' '\n' <<<"${CHECKS[$k]}" | grep . | sort | uniq -c | awk '{ c = $1; $1 = ""; printf "%s×%s; ", c, substr($0, 2) }')"
done)
PCWARN=$(grep -h -i 'ignored\|warn' "$T"/*.podman.lasterr 2>/dev/null | sort -u | head -5 || true)

echo
echo "$TABLE"
echo
echo "$TODAY"
echo
echo "$RAW"
echo
echo "states after each step (running/total containers of the project, host processes):"
echo "$STATES"
[[ -z $PCWARN ]] || { echo "podman-compose warnings:"; echo "$PCWARN"; }
echo "load: start $LOAD_START, health rounds ${LOADS[health]}, started rounds ${LOADS[started]}, nojob rounds ${LOADS[nojob]}, end $LOAD_END; $RUNS rounds (+$WARMUP warm-up) per tool and variant; total ${TOTAL_S}s"
((${#FAILS[@]} == 0)) || printf 'failure: %s\n' "${FAILS[@]}"

if [[ -n ${RESULTS_MD_APPEND:-} ]]; then
  ensure_results_md
  {
    printf '\n### Compose: `berth compose` vs podman-compose 1.6.0 (issue 14, `bench/compose.sh`) — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "$(build_info); podman-compose $("$PODMAN_COMPOSE" --version 2>/dev/null | awk '/podman-compose/ { print $NF }') (venv $(dirname "$(dirname "$PODMAN_COMPOSE")")) driving $(podman --version) with runc ($(runc --version | head -1)), 2 CPUs, kernel $(uname -r)."
    echo "Load (1/5/15 min): start $LOAD_START; before the service_started rounds ${LOADS[started]}; before the nojob rounds ${LOADS[nojob]}; end $LOAD_END. $RUNS rounds per tool and variant after $WARMUP warm-up, tools alternating, one project up at a time; whole script ${TOTAL_S}s."
    echo
    echo "$TABLE"
    echo
    echo '```'
    echo "$RAW"
    echo '```'
    echo
    echo "The app (one file for both tools; \`\$REF\` = busybox-static image from a loopback docker-registry, pulled into both fresh roots first):"
    echo
    echo '```yaml'
    sed "s|$REF|\$REF|" "$APP_health"
    echo '```'
    echo
    echo "Checked after every step with each tool's \`ps -a\` (running/total containers of the project) and the host's \`pgrep\` (httpd and sleep processes), count × state:"
    echo
    echo '```'
    echo "$STATES"
    echo '```'
    echo
    echo "Commands (B='berth --root \$T/berth/root --runroot \$T/berth/run', P='podman --root \$T/podman/root --runroot \$T/podman/run --storage-driver overlay'; podman with a private CONTAINERS_CONF whose network_config_dir is under \$T):"
    echo
    echo '```'
    echo "\$B compose -f compose.yaml -p $PROJ up -d      # cold, then again"
    echo "\$B compose -f compose.yaml -p $PROJ down"
    echo "podman-compose --podman-path podman --podman-args \"${PC_PODMAN_ARGS//$T/\$T}\" -f compose.yaml -p $PROJ up -d   # and down"
    echo '```'
    echo
    [[ -z $PCWARN ]] || { echo "podman-compose said (stderr):"; echo; echo '```'; echo "$PCWARN"; echo '```'; echo; }
    ((${#FAILS[@]} == 0)) || { printf -- '- failure: %s\n' "${FAILS[@]}"; echo; }
    cat <<'NOTES'
Notes:

- Both tools create the same 5 containers (web ×2, db, api, job) and a project network (podman-compose 1.6.0 reads `deploy.replicas` only with `mode: replicated` spelled out, hence that line); podman-compose also makes a pod (`pod_PROJECT`, `--infra=false --share=`, its default) and drives podman one command at a time (`create` ×5, then `start` ×5, with `podman wait` for dependencies). berth does it in one process.
- `service_healthy`: podman-compose 1.6.0 skips it with podman < 4.6 (warning above), so api starts at once; berth waits for db's first health probe, which runs one `interval` (1 s) after start as in docker. The `service_started` rows are the like-for-like comparison; the `service_healthy` rows carry that second.
- `up -d` again: neither tool recreates anything (config unchanged), but both start the exited one-shot `job` again; with `web` depending on it (`service_completed_successfully`) both then wait for it to exit, berth polling its state every 100 ms, which is most of its time here. Without that dependency (last three rows) the job is still re-started and nothing waits.
- Long-running commands trap TERM: a shell or httpd as pid 1 ignores it otherwise, and both tools' `down` would sit out the 10 s stop timeout.
NOTES
    echo
    echo "Reproduce: \`RUNS=$RUNS RESULTS_MD_APPEND=1 bench/compose.sh\` (as root)."
  } >>"$RESULTS_MD"
  # "### Compose" under "## Today's figures": replace it, or add it before "## Details".
  awk -v tbl="$TODAY" -v day="$(date -u +%Y-%m-%d)" '
    function emit() { print "### Compose"; print ""; print tbl; print ""
      print "Measured " day " (`bench/compose.sh`, details below). podman-compose 1.6.0 skips `service_healthy` with podman < 4.6; berth waits for the first probe (1 s after start, as docker), hence the second row. `up -d` again starts the exited one-shot `job` again in both tools and, as `web` depends on it with `service_completed_successfully`, waits for it to finish (berth polls every 100 ms); the next row drops that dependency (job still re-started, nothing waits)."; print "" }
    /^### Compose$/ && !done { skip = 1; emit(); done = 1; next }
    skip && /^##/ { skip = 0 }
    skip { next }
    /^## Details/ && !done { emit(); done = 1 }
    { print }
  ' "$RESULTS_MD" >"$RESULTS_MD.tmp" && mv "$RESULTS_MD.tmp" "$RESULTS_MD"
  log "wrote results to $RESULTS_MD"
fi
((${#FAILS[@]} == 0))
