#!/usr/bin/env bash
# bench/api.sh — the Docker Engine API service: `berth system service` vs
# `podman system service` (podman 4.3.1, runc), both driven by the same
# docker CLI 20.10 (Debian's docker.io, unpacked, never installed), each
# service on its own unix socket in the scratch dir, over its own fresh
# storage roots:
#   a. `docker run --rm REF true` (busybox, default network)
#   b. `docker ps -a` with N_PS (100) created containers (`docker create`
#      through each service first)
#   c. `docker pull REG/debian:bookworm`: pull.sh's debootstrap image (one
#      gzip layer), cold: `docker rmi` after each round, then PULL_SETTLE s
#      for ext4's recently-deleted inodes (lib.sh wait_inode_aging) before
#      the next round
#   d. the first request after socket activation: a fresh
#      `systemd-socket-activate -l SOCK -- TOOL system service --time 1`
#      each round, timed from the start of `curl --unix-socket SOCK
#      http://d/_ping` to its answer (the service starts on it); then one
#      more `_ping` to the running service, for reference
# Services started with `--time 0` for a-c, stopped before d. Tools
# alternate; medians and p90 over RUNS rounds after WARMUP (none for c,
# whose rounds are minutes apart; the registry's blob is read once first).
# Prints a table; with RESULTS_MD_APPEND set, appends a section to
# $RESULTS_MD and puts an "### API" table under "## Today's figures"
# (replacing an older one).
#
# Env: RUNS (default 5), WARMUP (default 1), N_PS (default 100),
#      PULL_SETTLE (s between pull rounds, default 65; 0: none), DOCKER
#      (default: /var/tmp/berth-tests/docker.io/usr/bin/docker, unpacked
#      there if missing, as tests/common/clients.rs does), BERTH,
#      BENCH_CACHE, MIRROR (debootstrap, see pull.sh), RESULTS_MD. As root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
N_PS=${N_PS:-100}
PULL_SETTLE=${PULL_SETTLE:-65}
DOCKER_DIR=/var/tmp/berth-tests/docker.io

need_root "overlay storage, podman's service, debootstrap"
need_posint RUNS N_PS
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer (got '$WARMUP')"
[[ $PULL_SETTLE =~ ^[0-9]+$ ]] || die "PULL_SETTLE must be a non-negative integer (got '$PULL_SETTLE')"
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need curl curl
need jq jq
need debootstrap debootstrap
need systemd-socket-activate systemd
need flock util-linux
need dpkg-deb dpkg
need_exe /bin/busybox busybox-static
check_needs
need_berth
need_bash5

# The docker CLI 20.10 from Debian's docker.io: `apt-get download` and
# `dpkg-deb -x` (never installed: that could start dockerd), under the lock
# the test suite takes for the same directory.
docker_works() { [[ $("$1" --version 2>/dev/null) == *"Docker version 20.10"* ]]; }
if [[ -n ${DOCKER:-} ]]; then
  docker_works "$DOCKER" || die "DOCKER=$DOCKER is not the docker CLI 20.10"
else
  DOCKER=$DOCKER_DIR/usr/bin/docker
  mkdir -p /var/tmp/berth-tests
  (
    flock 9
    if ! docker_works "$DOCKER"; then
      log "unpacking Debian's docker.io into $DOCKER_DIR (apt-get download + dpkg-deb -x)"
      rm -rf "$DOCKER_DIR"
      mkdir -p "$DOCKER_DIR/download"
      chmod 777 "$DOCKER_DIR/download"   # apt's _apt user writes there
      (cd "$DOCKER_DIR/download" && { apt-get download -qq docker.io || { apt-get update -qq && apt-get download -qq docker.io; }; }) ||
        die "apt-get download docker.io failed"
      debs=("$DOCKER_DIR"/download/*.deb)
      dpkg-deb -x "${debs[0]}" "$DOCKER_DIR" || die "dpkg-deb -x docker.io failed"
      rm -rf "$DOCKER_DIR/download"
      docker_works "$DOCKER" || die "$DOCKER does not run"
    fi
  ) 9>/var/tmp/berth-tests/docker.io.lock
fi

make_scratch api
init_tool_roots
declare -A SOCK=([berth]=$T/berth.sock [podman]=$T/podman.sock)
declare -A SVC_PID=()
ACT_PID=""

# stop_pid PID: TERM, up to 10 s, then KILL (only our own children)
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "warning: pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) ignored TERM for 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
stop_services() {
  local t
  for t in "${!SVC_PID[@]}"; do stop_pid "${SVC_PID[$t]}"; done
  SVC_PID=()
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$ACT_PID"
  stop_services
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
build_rootfs
build_layout
read -r LAYER_DIGEST LAYER_SIZE LAYER_USIZE <"$CACHE/oci/layer.info"
PULL_REF=$REG/debian:bookworm
log "pushing the Debian layout to $PULL_REF"
skopeo copy -q --dest-tls-verify=false "oci:$CACHE/oci:latest" "docker://$PULL_REF" >"$T/err" 2>&1 ||
  { cat "$T/err" >&2; die "skopeo copy of the Debian layout failed"; }
# The very blob we packed, read once (page cache) so round 1 is not penalised.
curl -fs "http://$REG/v2/debian/blobs/$LAYER_DIGEST" >/dev/null ||
  die "layer $LAYER_DIGEST not found in the registry after push"
mkdir -p "$T/tmp" "$T/docker-config"
export TMPDIR=$T/tmp
export DOCKER_CONFIG=$T/docker-config
probe_podman "${PODMAN_CMD[@]}"
pull_into_roots
# One default-network run: sets up berth's host-wide default network now
# (if new), so that podman_subnet_apart sees which subnet it has.
B run --rm "$REF" true >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; die "berth run --rm $REF true failed"; }
podman_subnet_apart

# ---------------------------------------------------------------- the services
# start_service TOOL: `TOOL system service --time 0 unix://$T/TOOL.sock` in
# the background (its pid in SVC_PID), up once `_ping` answers.
start_service() {
  local t=$1 i
  case $t in
    berth) "${BERTH_CMD[@]}" system service --time 0 "unix://${SOCK[$t]}" >"$T/svc.$t.log" 2>&1 & ;;
    podman) "${PODMAN_CMD[@]}" "${PODMAN_OPTS[@]}" system service --time 0 "unix://${SOCK[$t]}" >"$T/svc.$t.log" 2>&1 & ;;
  esac
  SVC_PID[$t]=$!
  for ((i = 0; i < 200; i++)); do
    [[ $(curl -s --unix-socket "${SOCK[$t]}" http://d/_ping 2>/dev/null) == OK ]] && return 0
    kill -0 "${SVC_PID[$t]}" 2>/dev/null || die "$t system service exited:$(printf '\n')$(cat "$T/svc.$t.log")"
    sleep 0.05
  done
  die "$t system service did not answer _ping within 10 s:$(printf '\n')$(cat "$T/svc.$t.log")"
}
dk() { # dk TOOL ARGS...: the docker CLI against TOOL's service
  local t=$1; shift
  DOCKER_HOST=unix://${SOCK[$t]} "$DOCKER" "$@"
}

# measure SECTION RUNS WARMUP ARGS...: timed `docker ARGS` against each
# service, the order rotating each round; results in $T/SECTION.TOOL
TOOLS=(berth podman)
measure() {
  local sect=$1 runs=$2 warm=$3; shift 3
  local i t ms k
  for t in "${TOOLS[@]}"; do : >"$T/$sect.$t"; done
  for ((i = 1; i <= runs + warm; i++)); do
    for ((k = 0; k < 2; k++)); do
      t=${TOOLS[$(((i + k) % 2))]}
      if timed ms dk "$t" "$@"; then
        ((i > warm)) && echo "$ms" >>"$T/$sect.$t"
      else
        note_fail "$sect" "$t" "docker $*"
      fi
    done
  done
}
count_ctrs() { # count_ctrs TOOL: containers the service lists with ps -a
  dk "$1" ps -a -q 2>/dev/null | grep -c . || true
}

wait_inode_aging
START=$(date +%s)
LOAD_START=$(load)
declare -A LOADS=()
for t in "${TOOLS[@]}"; do start_service "$t"; done
API_VER=$(for t in "${TOOLS[@]}"; do printf '%s %s; ' "$t" "$(dk "$t" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>&1 | tr '\n' ' ')"; done)

LOADS[a]=$(load)
log "(a) docker run --rm busybox true: $RUNS runs (+$WARMUP warm-up) per service"
measure a "$RUNS" "$WARMUP" run --rm "$REF" true
for t in "${TOOLS[@]}"; do
  n=$(count_ctrs "$t")
  ((n == 0)) || FAILS+=("(a) $t: $n containers left after the run --rm rounds")
done

LOADS[b]=$(load)
log "(b) docker ps -a with $N_PS created: docker create x $N_PS per service"
declare -A CREATE_S=()
for t in "${TOOLS[@]}"; do
  s=$EPOCHREALTIME
  for ((i = 0; i < N_PS; i++)); do
    dk "$t" create "$REF" true >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail "b create" "$t" "docker create $REF true"; }
  done
  CREATE_S[$t]=$(awk -v s="$s" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.2f", e - s }')
done
measure b "$RUNS" "$WARMUP" ps -a
declare -A PS_LINES=()
for t in "${TOOLS[@]}"; do
  PS_LINES[$t]=$(count_ctrs "$t")
  ((PS_LINES[$t] == N_PS)) || FAILS+=("(b) $t: ps -a listed ${PS_LINES[$t]} containers, not $N_PS")
done

LOADS[c]=$(load)
log "(c) cold docker pull $PULL_REF: $RUNS rounds, docker rmi after each, then ${PULL_SETTLE}s"
declare -A DU_BEFORE=() DU_AFTER=()
root_mb() { case $1 in berth) du -smx "$B_ROOT" | cut -f1 ;; podman) du -smx "$P_ROOT" | cut -f1 ;; esac; }
for t in "${TOOLS[@]}"; do : >"$T/c.$t"; DU_BEFORE[$t]=$(root_mb "$t"); done
for ((i = 1; i <= RUNS; i++)); do
  echo "  -- round $i/$RUNS" >&2
  for ((k = 0; k < 2; k++)); do
    t=${TOOLS[$(((i + k) % 2))]}
    if timed ms dk "$t" pull -q "$PULL_REF"; then
      echo "$ms" >>"$T/c.$t"
    else
      note_fail c "$t" "docker pull -q $PULL_REF"
    fi
  done
  for t in "${TOOLS[@]}"; do
    dk "$t" rmi "$PULL_REF" >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail "c rmi" "$t" "docker rmi $PULL_REF"; }
    ! dk "$t" image inspect "$PULL_REF" >/dev/null 2>&1 || FAILS+=("(c) $t: $PULL_REF still there after docker rmi")
  done
  if ((i < RUNS && PULL_SETTLE > 0)); then
    sleep "$PULL_SETTLE"
  fi
done
for t in "${TOOLS[@]}"; do DU_AFTER[$t]=$(root_mb "$t"); done
SVC_ERRS=$(for t in "${TOOLS[@]}"; do grep -i 'error\|warn\|panic' "$T/svc.$t.log" | sort | uniq -c | sort -rn | head -5 | sed "s/^/$t: /"; done || true)
stop_services

LOADS[d]=$(load)
log "(d) first _ping after socket activation: $RUNS rounds (+$WARMUP warm-up) per tool"
ACT_ENV=(-E CONTAINERS_REGISTRIES_CONF -E TMPDIR)
[[ -z ${CONTAINERS_CONF:-} ]] || ACT_ENV+=(-E CONTAINERS_CONF)
PODMAN_BIN=$(command -v podman)
act_argv() { # act_argv TOOL: the activated service's argv, in ACT
  case $1 in
    berth) ACT=("$BERTH" --root "$B_ROOT" --runroot "$B_RUN" system service --time 1) ;;
    podman) ACT=("$PODMAN_BIN" "${PODMAN_CMD[@]:1}" "${PODMAN_OPTS[@]}" system service --time 1) ;;
  esac
}
# activate TOOL ROUND: a fresh activator on $T/act.TOOL.sock; the first
# _ping (timed, d) starts the service, the second (d2) reaches it running.
activate() {
  local t=$1 i=$2 sock=$T/act.$1.sock ms j
  rm -f "$sock"
  act_argv "$t"
  systemd-socket-activate -l "$sock" "${ACT_ENV[@]}" -- "${ACT[@]}" >"$T/act.$t.log" 2>&1 &
  ACT_PID=$!
  for ((j = 0; j < 500; j++)); do
    grep -q 'Listening on' "$T/act.$t.log" && break
    kill -0 "$ACT_PID" 2>/dev/null || break
    sleep 0.01
  done
  if ! grep -q 'Listening on' "$T/act.$t.log"; then
    cp "$T/act.$t.log" "$T/err"
    # shellcheck disable=SC2034 # (read by note_fail)
    LAST_RC=1
    note_fail d "$t" "systemd-socket-activate -l SOCK -- $t system service --time 1 (not listening)"
    stop_pid "$ACT_PID"; ACT_PID=""
    return 0
  fi
  if timed ms curl -fsS --unix-socket "$sock" http://d/_ping && [[ $(cat "$T/out") == OK ]]; then
    ((i > WARMUP)) && echo "$ms" >>"$T/d.$t"
  else
    cat "$T/act.$t.log" >>"$T/err"
    note_fail d "$t" "curl --unix-socket SOCK http://d/_ping (first, activating)"
  fi
  if timed ms curl -fsS --unix-socket "$sock" http://d/_ping && [[ $(cat "$T/out") == OK ]]; then
    ((i > WARMUP)) && echo "$ms" >>"$T/d2.$t"
  else
    note_fail d2 "$t" "curl --unix-socket SOCK http://d/_ping (second)"
  fi
  stop_pid "$ACT_PID"; ACT_PID=""
  cat "$T/act.$t.log" >>"$T/act.$t.all"
}
for t in "${TOOLS[@]}"; do : >"$T/d.$t"; : >"$T/d2.$t"; : >"$T/act.$t.all"; done
for ((i = 1; i <= RUNS + WARMUP; i++)); do
  for ((k = 0; k < 2; k++)); do
    activate "${TOOLS[$(((i + k) % 2))]}" "$i"
  done
done
ACT_ERRS=$(for t in "${TOOLS[@]}"; do grep -iv 'listening on\|communication attempt\|execing' "$T/act.$t.all" | sort | uniq -c | sort -rn | head -5 | sed "s/^/$t: /"; done || true)
LOAD_END=$(load)
TOTAL_S=$(($(date +%s) - START))

# ---------------------------------------------------------------- report
med() { read -r m p n < <(ms_stats "$1"); echo "$m $p $n"; }
row() { # row LABEL SECTION [TARGET-RATIO]
  local bm bp pm pp r res=– tgt=–
  read -r bm bp _ < <(med "$T/$2.berth")
  read -r pm pp _ < <(med "$T/$2.podman")
  r=$(ratio "$bm" "$pm")
  [[ -z ${3:-} ]] || { tgt="≤ $3"; res=$(passfail "$r" "$3"); }
  printf '| %s | %s (%s) | %s (%s) | %s | %s | %s |\n' "$1" "$bm" "$bp" "$pm" "$pp" "$r" "$tgt" "$res"
}
short() { # short LABEL SECTION: for Today's figures
  local bm pm
  read -r bm _ < <(med "$T/$2.berth")
  read -r pm _ < <(med "$T/$2.podman")
  printf '| %s | %s | %s | %s |\n' "$1" "$bm" "$pm" "$(ratio "$bm" "$pm")"
}
raw() { printf '(%s) %s ms: %s\n' "$1" "$2" "$(sort -n "$T/$1.$2" | tr '\n' ' ')"; }

C_MB=$(calc "$LAYER_SIZE / 1048576")
U_MB=$(calc "$LAYER_USIZE / 1048576")
set_rev
TABLE=$(
  echo "| what | berth, median (p90) ms | podman, median (p90) ms | berth/podman | target | result |"
  echo "|---|---|---|---|---|---|"
  row '`docker run --rm busybox true` (default network)' a 0.3
  row "\`docker ps -a\`, $N_PS created containers" b 0.3
  row "\`docker pull\` Debian bookworm minbase (one gzip layer, $C_MB MiB), cold" c 0.3
  row 'first `_ping` after socket activation (`systemd-socket-activate`, service `--time 1`)' d 0.3
  row 'second `_ping`, service running (reference)' d2
)
TODAY=$(
  echo "| what | berth | podman | berth/podman |"
  echo "|---|---|---|---|"
  short '`docker run --rm busybox true` through the service, median ms' a
  short "\`docker ps -a\` with $N_PS created, median ms" b
  short "\`docker pull\` Debian bookworm minbase ($C_MB MiB gzip layer), cold, median ms" c
  short 'first `_ping` after socket activation (service start + answer), median ms' d
)
RAW=$(for s in a b c d d2; do for t in "${TOOLS[@]}"; do raw "$s" "$t"; done; done)
CHECKS="docker create x $N_PS: berth ${CREATE_S[berth]} s, podman ${CREATE_S[podman]} s; ps -a listed: berth ${PS_LINES[berth]}, podman ${PS_LINES[podman]}; root size before the pulls / after the last rmi: berth ${DU_BEFORE[berth]} / ${DU_AFTER[berth]} MB, podman ${DU_BEFORE[podman]} / ${DU_AFTER[podman]} MB"

echo
echo "$TABLE"
echo
echo "$TODAY"
echo
echo "$RAW"
echo
echo "servers: $API_VER"
echo "$CHECKS"
[[ -z $SVC_ERRS ]] || { echo "service logs (count × line):"; echo "$SVC_ERRS"; }
[[ -z $ACT_ERRS ]] || { echo "socket-activated services said (count × line):"; echo "$ACT_ERRS"; }
echo "load: start $LOAD_START; a ${LOADS[a]}; b ${LOADS[b]}; c ${LOADS[c]}; d ${LOADS[d]}; end $LOAD_END; $RUNS rounds per tool (+$WARMUP warm-up, none for c); total ${TOTAL_S}s"
((${#FAILS[@]} == 0)) || printf 'failure: %s\n' "${FAILS[@]}"

if [[ -n ${RESULTS_MD_APPEND:-} ]]; then
  ensure_results_md
  {
    printf '\n### API service: `berth system service` vs `podman system service` (`bench/api.sh`) — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "$(build_info); $(podman --version) with runc ($(runc --version | head -1)), ${PODMAN_OPTS[*]:+podman flags \`${PODMAN_OPTS[*]}\`, }podman's default network $P_SUBNET; client: docker CLI $("$DOCKER" --version | sed 's/^Docker version //') ($DOCKER); $(nproc) CPUs, kernel $(uname -r)."
    echo "Servers as the CLI saw them: $API_VER"
    echo "Load (1/5/15 min): start $LOAD_START; before b ${LOADS[b]}; before c ${LOADS[c]}; before d ${LOADS[d]}; end $LOAD_END. $RUNS rounds per tool after $WARMUP warm-up (none for the pulls), services alternating; whole script ${TOTAL_S}s."
    echo
    echo "$TABLE"
    echo
    echo '```'
    echo "$RAW"
    echo '```'
    echo
    echo "Checks: $CHECKS."
    echo
    if [[ -n $SVC_ERRS || -n $ACT_ERRS ]]; then
      echo "The services' stderr (count × line; a-c: the \`--time 0\` services, d: the socket-activated ones):"
      echo
      echo '```'
      [[ -z $SVC_ERRS ]] || echo "$SVC_ERRS"
      [[ -z $ACT_ERRS ]] || echo "$ACT_ERRS"
      echo '```'
      echo
    fi
    ((${#FAILS[@]} == 0)) || { printf -- '- failure: %s\n' "${FAILS[@]}"; echo; }
    echo "Commands (B='berth --root \$T/berth/root --runroot \$T/berth/run', P='podman --root \$T/podman/root --runroot \$T/podman/run --storage-driver overlay${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}'; REF=127.0.0.1:PORT/busybox:latest, a busybox-static image, pulled into both roots by the CLIs first; DOCKER_CONFIG=\$T/docker-config):"
    echo
    echo '```'
    echo "\$B system service --time 0 unix://\$T/berth.sock &     # a-c"
    echo "\$P system service --time 0 unix://\$T/podman.sock &    # a-c"
    echo "DOCKER_HOST=unix://\$T/TOOL.sock docker run --rm \$REF true                    # a"
    echo "DOCKER_HOST=unix://\$T/TOOL.sock docker create \$REF true   # x $N_PS, then:"
    echo "DOCKER_HOST=unix://\$T/TOOL.sock docker ps -a                                  # b"
    echo "DOCKER_HOST=unix://\$T/TOOL.sock docker pull -q 127.0.0.1:PORT/debian:bookworm  # c, then docker rmi; ${PULL_SETTLE}s"
    echo "systemd-socket-activate -l \$T/act.TOOL.sock ${ACT_ENV[*]} -- \$B system service --time 1 &   # d, or \$P"
    echo "curl -fsS --unix-socket \$T/act.TOOL.sock http://d/_ping   # d timed (starts the service), then d2; activator killed"
    echo '```'
    echo
    cat <<NOTES
Notes:

- Full references (\`127.0.0.1:PORT/busybox:latest\`) for both: podman's compat API resolves short names to docker.io (\`compat_api_enforce_docker_hub\`), as docker does. The registry is plain HTTP on loopback, marked insecure in a private registries.conf (CONTAINERS_REGISTRIES_CONF) both services read.
- (c) The image is pull.sh's (debootstrap \`--variant=minbase\` bookworm, $LAYER_SIZE bytes compressed ($C_MB MiB), $LAYER_USIZE uncompressed ($U_MB MiB), cached in \$BENCH_CACHE). Each round pulls through both services, then \`docker rmi\` in both and ${PULL_SETTLE} s of waiting: on this VM's ext4 (no journal) inode allocation skips inodes freed in the last 60 s, which slows the next extraction several times (see pull.sh). The root sizes above show the rmi left nothing behind.
- (d) \`systemd-socket-activate\` binds and listens, then on the first connection execs the service with the socket as fd 3 (LISTEN_FDS=1); the timed curl covers the service's start and its answer. Both services take the socket from LISTEN_FDS (podman's with no URI argument).
NOTES
    echo
    echo "Reproduce: \`RUNS=$RUNS RESULTS_MD_APPEND=1 bench/api.sh\` (as root)."
  } >>"$RESULTS_MD"
  # "### API" under "## Today's figures": replace it, or add it before "## Details".
  awk -v tbl="$TODAY" -v day="$(date -u +%Y-%m-%d)" '
    function emit() { print "### API"; print ""; print tbl; print ""
      print "Measured " day " (`bench/api.sh`, details below): the docker CLI 20.10 against `berth system service` and `podman system service`, each on its own unix socket and storage; cold pulls with `docker rmi` between rounds; the last row is a fresh `systemd-socket-activate` per round, timed from the start of `curl .../_ping` to its answer."; print "" }
    /^### API$/ && !done { skip = 1; emit(); done = 1; next }
    skip && /^##/ { skip = 0 }
    skip { next }
    /^## Details/ && !done { emit(); done = 1 }
    { print }
  ' "$RESULTS_MD" >"$RESULTS_MD.tmp" && mv "$RESULTS_MD.tmp" "$RESULTS_MD"
  log "wrote results to $RESULTS_MD"
fi
((${#FAILS[@]} == 0))
