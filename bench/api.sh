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
#      gzip layer), cold: each round both services start over fresh, empty
#      roots (PULL_COLD=fresh, the default), `docker rmi` (timed) after
#      the last round; or (PULL_COLD=rmi) the same services throughout,
#      `docker rmi` after each round and PULL_SETTLE s before the next
#      (why fresh is the default: at section c below)
#   d. the first request after socket activation: a fresh
#      `systemd-socket-activate -l SOCK -- TOOL system service --time 1`
#      each round, timed from the start of `curl --unix-socket SOCK
#      http://d/_ping` to its answer (the service starts on it); then one
#      more `_ping` to the running service, for reference
# Services started with `--time 0` for a-c, stopped before d. Tools
# alternate; medians and p90 over RUNS rounds after WARMUP (none for c;
# the registry's blob is read once first). At the end, for scale: the
# clients alone (`docker --version`, curl on a socket nobody listens on).
# Prints a table; with RESULTS_MD_APPEND set, appends a section to
# $RESULTS_MD and puts an "### API" table under "## Today's figures"
# (replacing an older one).
#
# Env: RUNS (default 5), WARMUP (default 1), N_PS (default 100),
#      PULL_COLD (fresh or rmi, default fresh), PULL_SETTLE (rmi: s between
#      pull rounds, default 365; 0: none), DOCKER
#      (default: /var/tmp/berth-tests/docker.io/usr/bin/docker, unpacked
#      there if missing, as tests/common/clients.rs does), BERTH,
#      BENCH_CACHE, MIRROR (debootstrap, see pull.sh), RESULTS_MD. As root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
N_PS=${N_PS:-100}
PULL_COLD=${PULL_COLD:-fresh}
PULL_SETTLE=${PULL_SETTLE:-365}
DOCKER_DIR=/var/tmp/berth-tests/docker.io

need_root "overlay storage, podman's service, debootstrap"
need_posint RUNS N_PS
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer (got '$WARMUP')"
[[ $PULL_COLD == fresh || $PULL_COLD == rmi ]] || die "PULL_COLD must be fresh or rmi (got '$PULL_COLD')"
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

# Podman 4.3.1 here has no netavark: its bridge network is CNI's, a
# bridge cni-podman0, iptables chains CNI-FORWARD and CNI-ADMIN (and
# FORWARD's jump to them, in iptables-nft's tables ip filter and ip nat)
# and host-local IPAM state in /var/lib/cni, none of which it removes.
# Whatever of that this run made goes at exit.
CNI_HAD=" "
ip link show cni-podman0 >/dev/null 2>&1 && CNI_HAD+="link "
[[ -e /var/lib/cni ]] && CNI_HAD+="dir "
for tbl in filter nat; do nft list table ip "$tbl" >/dev/null 2>&1 && CNI_HAD+="$tbl "; done
iptables -S CNI-FORWARD >/dev/null 2>&1 && CNI_HAD+="chains "
undo_cni() {
  [[ $CNI_HAD == *" link "* ]] || ip link del cni-podman0 2>/dev/null || true
  [[ $CNI_HAD == *" dir "* ]] || rm -rf /var/lib/cni
  if [[ $CNI_HAD != *" chains "* ]] && iptables -S CNI-FORWARD >/dev/null 2>&1; then
    iptables -D FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD 2>/dev/null || true
    iptables -F CNI-FORWARD && iptables -X CNI-FORWARD || echo "warning: could not remove iptables chain CNI-FORWARD" >&2
    iptables -F CNI-ADMIN 2>/dev/null && iptables -X CNI-ADMIN 2>/dev/null || true
  fi
  local tbl
  for tbl in filter nat; do
    # (only if new and holding no rule: nothing but the chains' policies)
    [[ $CNI_HAD == *" $tbl "* ]] || ! nft list table ip "$tbl" >/dev/null 2>&1 ||
      [[ -n $(iptables -t "$tbl" -S | grep -v '^-P ') ]] || nft delete table ip "$tbl" || true
  done
}

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
  undo_cni
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
probe_podman "${PODMAN_CMD[@]}"
pull_into_roots
# One default-network run: sets up berth's host-wide default network now
# (if new), so that podman_subnet_apart sees which subnet it has.
B run --rm "$REF" true >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; die "berth run --rm $REF true failed"; }
podman_subnet_apart
# With CNI, podman reads its networks from /etc/cni/net.d whatever --root
# says, and Debian's 87-podman-bridge.conflist there fixes 10.88.0.0/16, the
# subnet berth0 may have, whatever default_subnet says. Give this run's
# podman its own (empty) network config dir, as compose.sh does: its
# default network is then made from default_subnet (podman_subnet_apart).
podman_network_dir "${CONTAINERS_CONF:-/etc/containers/containers.conf}"
export CONTAINERS_CONF=$T/containers.conf
P_NET="$(P network inspect podman --format '{{.NetworkInterface}} {{range .Subnets}}{{.Subnet}}{{end}}' 2>&1 || true) ($(P info --format '{{.Host.NetworkBackend}}' 2>&1 || true))"

# ---------------------------------------------------------------- the services
# start_service TOOL [ROOT RUNROOT]: `TOOL system service --time 0
# unix://$T/TOOL.sock` over the tool's roots (default: init_tool_roots'),
# in the background (its pid in SVC_PID), up once `_ping` answers. Its
# stderr goes to $T/svc.TOOL.log (appended).
start_service() {
  local t=$1 root=${2:-} run=${3:-} i
  rm -f "${SOCK[$t]}"
  case $t in
    berth) "$BERTH" --root "${root:-$B_ROOT}" --runroot "${run:-$B_RUN}" \
      system service --time 0 "unix://${SOCK[$t]}" >>"$T/svc.$t.log" 2>&1 & ;;
    podman) podman --root "${root:-$P_ROOT}" --runroot "${run:-$P_RUN}" --storage-driver overlay "${PODMAN_OPTS[@]}" \
      system service --time 0 "unix://${SOCK[$t]}" >>"$T/svc.$t.log" 2>&1 & ;;
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
  # (DOCKER_CONFIG only here: podman reads it too, for auth, and fails on
  # a directory without config.json)
  DOCKER_HOST=unix://${SOCK[$t]} DOCKER_CONFIG=$T/docker-config "$DOCKER" "$@"
}

# measure SECTION RUNS WARMUP ARGS...: timed `docker ARGS` against each
# service, the order rotating each round; results in $T/SECTION.TOOL
TOOLS=(berth podman)
declare -A ORDER=()   # SECTION -> the tools in the order they were timed
measure() {
  local sect=$1 runs=$2 warm=$3; shift 3
  local i t ms k
  for t in "${TOOLS[@]}"; do : >"$T/$sect.$t"; done
  for ((i = 1; i <= runs + warm; i++)); do
    for ((k = 0; k < 2; k++)); do
      t=${TOOLS[$(((i + k) % 2))]}
      ((i > warm)) && ORDER[$sect]+="$t "
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
API_VER=$(for t in "${TOOLS[@]}"; do printf '%s %s\n' "$t" "$(dk "$t" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>&1 | tr '\n' ' ' | sed 's/ *$//')"; done | paste -sd';' | sed 's/;/; /g')

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
# (bs) the servers' own share of b: the same listing asked with curl.
log "(bs) GET /containers/json?all=1 with curl: $RUNS runs (+$WARMUP warm-up) per service"
for t in "${TOOLS[@]}"; do : >"$T/bs.$t"; done
for ((i = 1; i <= RUNS + WARMUP; i++)); do
  for ((k = 0; k < 2; k++)); do
    t=${TOOLS[$(((i + k) % 2))]}
    if timed ms curl -fsS --unix-socket "${SOCK[$t]}" "http://d/v1.41/containers/json?all=1"; then
      ((i > WARMUP)) && echo "$ms" >>"$T/bs.$t"
    else
      note_fail bs "$t" "curl GET /containers/json?all=1"
    fi
  done
done
# (bf) the docker CLI's own floor for b: `docker ps -a` against a stub
# that answers at once with berth's listing (python3, one thread per
# connection): no server can make b faster than this.
curl -fsS --unix-socket "${SOCK[berth]}" "http://d/v1.41/containers/json?all=1" >"$T/list.json"
python3 - "$T/stub.sock" "$T/list.json" >"$T/stub.log" 2>&1 <<'PY' &
import os, socketserver, sys
sock, body = sys.argv[1], open(sys.argv[2], "rb").read()
class H(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            b = b"OK" if b"/_ping" in line else body
            head = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b)
            self.wfile.write(head + (b"" if line.startswith(b"HEAD") else b))
            self.wfile.flush()
socketserver.ThreadingUnixStreamServer(sock, H).serve_forever()
PY
STUB_PID=$!
for _ in $(seq 50); do [[ -S $T/stub.sock ]] && break; sleep 0.1; done
: >"$T/bf.stub"
for ((i = 1; i <= RUNS + WARMUP; i++)); do
  if timed ms env DOCKER_HOST="unix://$T/stub.sock" DOCKER_CONFIG="$T/docker-config" "$DOCKER" ps -a; then
    ((i > WARMUP)) && echo "$ms" >>"$T/bf.stub"
  else
    note_fail bf stub "docker ps -a against the stub"
  fi
done
kill "$STUB_PID" 2>/dev/null || true
wait "$STUB_PID" 2>/dev/null || true

LOADS[c]=$(load)
# Cold pulls. On this VM's ext4 without a journal, inode allocation skips
# inodes freed in the last 60 s, or 360 s while their inode table block is
# dirty, which the extraction itself makes it (fs/ext4/ialloc.c,
# recently_deleted()): after a `docker rmi` of ~7000 files, the next pulls
# slow down round after round (a 65 s wait is not enough). So by default
# (PULL_COLD=fresh) each round gets services over fresh, empty roots (the
# old ones are kept until exit, nothing deleted), and `docker rmi` runs
# once, after the last round's pulls. PULL_COLD=rmi: the same services and
# roots throughout, `docker rmi` after every round, then PULL_SETTLE s.
declare -A DU_BEFORE=() DU_AFTER=()
root_mb() { du -smx "$1" | cut -f1; }
# rmi_all: `docker rmi` in both services (timed: crmi), checked
rmi_all() {
  local t ms
  for t in "${TOOLS[@]}"; do
    if timed ms dk "$t" rmi "$PULL_REF"; then
      echo "$ms" >>"$T/crmi.$t"
    else
      note_fail "c rmi" "$t" "docker rmi $PULL_REF"
    fi
    ! dk "$t" image inspect "$PULL_REF" >/dev/null 2>&1 || FAILS+=("(c) $t: $PULL_REF still there after docker rmi")
  done
  sync
}
for t in "${TOOLS[@]}"; do : >"$T/c.$t"; : >"$T/crmi.$t"; done
# The same holds for a previous bench run's deletes (stamped by
# remove_scratch): wait until they are 365 s old (wait_inode_aging: 65).
if [[ -f $CACHE/last-delete ]]; then
  wait_s=$(($(cat "$CACHE/last-delete") + 365 - $(date +%s)))
  if ((wait_s > 0 && wait_s <= 365)); then
    log "waiting ${wait_s}s for a previous bench run's deleted inodes to age out (ext4 no-journal, 360 s when dirty)"
    sleep "$wait_s"
  fi
fi
declare -A PROOT=([berth]=$B_ROOT [podman]=$P_ROOT)
if [[ $PULL_COLD == fresh ]]; then
  log "(c) cold docker pull $PULL_REF: $RUNS rounds, fresh services over fresh roots each round; docker rmi after the last"
  stop_services
else
  log "(c) cold docker pull $PULL_REF: $RUNS rounds, docker rmi after each, then ${PULL_SETTLE}s"
  for t in "${TOOLS[@]}"; do DU_BEFORE[$t]=$(root_mb "${PROOT[$t]}"); done
fi
for ((i = 1; i <= RUNS; i++)); do
  echo "  -- round $i/$RUNS" >&2
  if [[ $PULL_COLD == fresh ]]; then
    for t in "${TOOLS[@]}"; do
      PROOT[$t]=$T/pull.$i/$t/root
      start_service "$t" "${PROOT[$t]}" "$T/pull.$i/$t/run"
    done
  fi
  for ((k = 0; k < 2; k++)); do
    t=${TOOLS[$(((i + k) % 2))]}
    if timed ms dk "$t" pull -q "$PULL_REF"; then
      echo "$ms" >>"$T/c.$t"
    else
      note_fail c "$t" "docker pull -q $PULL_REF"
    fi
    ORDER[c]+="$t "
    sync   # (untimed: the next pull does not wait on this one's writeback)
  done
  if [[ $PULL_COLD == fresh ]]; then
    if ((i == RUNS)); then
      for t in "${TOOLS[@]}"; do DU_BEFORE[$t]=$(root_mb "${PROOT[$t]}"); done
      rmi_all
      for t in "${TOOLS[@]}"; do DU_AFTER[$t]=$(root_mb "${PROOT[$t]}"); done
    fi
    stop_services
    umount_under "$T/pull.$i"   # (podman's overlay home bind mount)
  else
    rmi_all
    ((i == RUNS || PULL_SETTLE == 0)) || sleep "$PULL_SETTLE"
  fi
done
if [[ $PULL_COLD == rmi ]]; then
  for t in "${TOOLS[@]}"; do DU_AFTER[$t]=$(root_mb "${PROOT[$t]}"); done
  DU_WHAT="root size before the first pull / after the last rmi"
else
  DU_WHAT="last round's root size after its pull / after the rmi"
fi
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
  ((i > WARMUP)) && ORDER[d]+="$t "
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
# The clients alone, no server: what every row above includes.
for ((i = 1; i <= RUNS + WARMUP; i++)); do
  timed ms "$DOCKER" --version || true
  ((i <= WARMUP)) || echo "$ms" >>"$T/f.docker"
  timed ms curl -s --unix-socket "$T/nobody.sock" http://d/_ping || true
  ((i <= WARMUP)) || echo "$ms" >>"$T/f.curl"
done
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
raw() { printf '(%s) %s ms: %s\n' "$1" "$2" "$(tr '\n' ' ' <"$T/$1.$2")"; }

C_MB=$(calc "$LAYER_SIZE / 1048576")
U_MB=$(calc "$LAYER_USIZE / 1048576")
set_rev
TABLE=$(
  echo "| what | berth, median (p90) ms | podman, median (p90) ms | berth/podman | target | result |"
  echo "|---|---|---|---|---|---|"
  row '`docker run --rm busybox true` (default network)' a 0.3
  row "\`docker ps -a\`, $N_PS created containers" b 0.3
  row "the servers' share of it: \`GET /containers/json?all=1\` with curl" bs
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
RAW=$(for s in a b bs c crmi d d2; do for t in "${TOOLS[@]}"; do raw "$s" "$t"; done; done
  for s in a b c d; do printf '(%s) order: %s\n' "$s" "${ORDER[$s]}"; done)
BF_MS=$(ms_stats "$T/bf.stub" | cut -d' ' -f1)
read -r PSPM _ < <(med "$T/b.podman")
FLOOR="the clients alone, no server (medians of $RUNS): \`docker --version\` $(ms_stats "$T/f.docker" | cut -d' ' -f1) ms, \`curl\` on a socket nobody listens on $(ms_stats "$T/f.curl" | cut -d' ' -f1) ms; \`docker ps -a\` against a stub answering at once with the same listing $BF_MS ms, so row b's ratio cannot go below $(ratio "$BF_MS" "$PSPM") with this client, nor row d's below $(ratio "$(ms_stats "$T/f.curl" | cut -d' ' -f1)" "$(med "$T/d.podman" | cut -d' ' -f1)") with curl"
CHECKS="docker create x $N_PS (setup of b, one pass each, total): berth ${CREATE_S[berth]} s, podman ${CREATE_S[podman]} s; ps -a listed: berth ${PS_LINES[berth]}, podman ${PS_LINES[podman]}; $DU_WHAT: berth ${DU_BEFORE[berth]} / ${DU_AFTER[berth]} MB, podman ${DU_BEFORE[podman]} / ${DU_AFTER[podman]} MB"

echo
echo "$TABLE"
echo
echo "$TODAY"
echo
echo "$RAW"
echo
echo "servers: $API_VER; podman's default network: $P_NET"
echo "$FLOOR"
echo "$CHECKS"
[[ -z $SVC_ERRS ]] || { echo "service logs (count × line):"; echo "$SVC_ERRS"; }
[[ -z $ACT_ERRS ]] || { echo "socket-activated services said (count × line):"; echo "$ACT_ERRS"; }
echo "load: start $LOAD_START; a ${LOADS[a]}; b ${LOADS[b]}; c ${LOADS[c]}; d ${LOADS[d]}; end $LOAD_END; $RUNS rounds per tool (+$WARMUP warm-up, none for c); total ${TOTAL_S}s"
((${#FAILS[@]} == 0)) || printf 'failure: %s\n' "${FAILS[@]}"

if [[ -n ${RESULTS_MD_APPEND:-} ]]; then
  ensure_results_md
  {
    printf '\n### API service: `berth system service` vs `podman system service` (`bench/api.sh`) — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "$(build_info); $(podman --version) with runc ($(runc --version | head -1)), ${PODMAN_OPTS[*]:+podman flags \`${PODMAN_OPTS[*]}\`, }podman's default network $P_NET, from default_subnet $P_SUBNET and network_config_dir \$T/podman/networks; client: docker CLI $("$DOCKER" --version | sed 's/^Docker version //') ($DOCKER); $(nproc) CPUs, kernel $(uname -r)."
    echo "Servers as the CLI saw them: $API_VER"
    echo "Load (1/5/15 min): start $LOAD_START; before b ${LOADS[b]}; before c ${LOADS[c]}; before d ${LOADS[d]}; end $LOAD_END. $RUNS rounds per tool after $WARMUP warm-up (none for the pulls), services alternating; whole script ${TOTAL_S}s."
    echo
    echo "$TABLE"
    echo
    echo '```'
    echo "$RAW"
    echo '```'
    echo
    echo "For scale, $FLOOR. Checks: $CHECKS."
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
    echo "Commands (B='berth --root \$T/berth/root --runroot \$T/berth/run', P='podman --root \$T/podman/root --runroot \$T/podman/run --storage-driver overlay${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}' with a private CONTAINERS_CONF (default_subnet, network_config_dir under \$T); REF=127.0.0.1:PORT/busybox:latest, a busybox-static image, pulled into both roots by the CLIs first; DOCKER_CONFIG=\$T/docker-config):"
    echo
    echo '```'
    echo "\$B system service --time 0 unix://\$T/berth.sock &     # a-c"
    echo "\$P system service --time 0 unix://\$T/podman.sock &    # a-c"
    echo "DOCKER_HOST=unix://\$T/TOOL.sock docker run --rm \$REF true                    # a"
    echo "DOCKER_HOST=unix://\$T/TOOL.sock docker create \$REF true   # x $N_PS, then:"
    echo "DOCKER_HOST=unix://\$T/TOOL.sock docker ps -a                                  # b"
    if [[ $PULL_COLD == fresh ]]; then
      echo "DOCKER_HOST=unix://\$T/TOOL.sock docker pull -q 127.0.0.1:PORT/debian:bookworm  # c, services over fresh roots \$T/pull.N/TOOL each round"
      echo "DOCKER_HOST=unix://\$T/TOOL.sock docker rmi 127.0.0.1:PORT/debian:bookworm      # after the last round (crmi)"
    else
      echo "DOCKER_HOST=unix://\$T/TOOL.sock docker pull -q 127.0.0.1:PORT/debian:bookworm  # c, then docker rmi (crmi); ${PULL_SETTLE}s"
    fi
    echo "systemd-socket-activate -l \$T/act.TOOL.sock ${ACT_ENV[*]} -- \$B system service --time 1 &   # d, or \$P"
    echo "curl -fsS --unix-socket \$T/act.TOOL.sock http://d/_ping   # d timed (starts the service), then d2; activator killed"
    echo '```'
    echo
    cat <<NOTES
Notes:

- Full references (\`127.0.0.1:PORT/busybox:latest\`) for both: podman's compat API resolves short names to docker.io (\`compat_api_enforce_docker_hub\`), as docker does. The registry is plain HTTP on loopback, marked insecure in a private registries.conf (CONTAINERS_REGISTRIES_CONF) both services read.
- Raw figures are in the order taken; "order" lists which service went first each round (alternating).
- The docker CLI pings (HEAD /_ping) before each command's own requests (\`run --rm\`: create, attach (hijacked), wait?condition=removed, start). berth's service answers \`_ping\` and \`version\` itself and every other request in a worker process (\`berth system service --worker\`, exec'd ahead: two spares wait with the store open), podman's in-process; \`docker --version\` and the stub's \`docker ps -a\` above are the CLI's own share of every a-c figure.
- (a) berth's \`wait?condition=removed\` looks for the container's record every 50 ms (src/api/lifecycle.rs, wait_removed), so the CLI hears of the removal up to 50 ms after it: a run takes ~90 ms or ~140 ms depending on where the removal falls between two looks.
- (c) The image is pull.sh's (debootstrap \`--variant=minbase\` bookworm, $LAYER_SIZE bytes compressed ($C_MB MiB), $LAYER_USIZE uncompressed ($U_MB MiB), cached in \$BENCH_CACHE), \`sync\` (untimed) after each pull; the section starts once a previous bench run's deletes (its last-delete stamp) are 365 s old. $(if [[ $PULL_COLD == fresh ]]; then echo "Each round both services start over fresh, empty roots (\$T/pull.N, kept until the end: nothing is deleted between rounds), and \`docker rmi\` runs once in each, after the last round (crmi), checked with \`image inspect\` and the root's size. Why not \`docker rmi\` between rounds: on this VM's ext4 without a journal, inode allocation skips inodes freed in the last 60 s, and in the last 360 s while their inode table block is dirty, which the next extraction makes it (fs/ext4/ialloc.c, recently_deleted()); with an rmi of ~7000 files per tool per round and 65 s between rounds, both tools' pulls got slower round after round. \`PULL_COLD=rmi\` keeps that method, waiting PULL_SETTLE (default 365) s between rounds."; else echo "Each round pulls through both services, then \`docker rmi\` in both (crmi) and ${PULL_SETTLE} s of waiting: on this VM's ext4 without a journal, inode allocation skips inodes freed in the last 60 s, and in the last 360 s while their inode table block is dirty (fs/ext4/ialloc.c, recently_deleted()); with less than 360 s both tools' pulls slow down round after round."; fi)
- (d) \`systemd-socket-activate\` binds and listens, then on the first connection execs the service with the socket as fd 3 (LISTEN_FDS=1); the timed curl covers the service's start and its answer. Both services take the socket from LISTEN_FDS (podman's with no URI argument).
NOTES
    echo
    echo "Reproduce: \`RUNS=$RUNS RESULTS_MD_APPEND=1 bench/api.sh\` (as root)."
  } >>"$RESULTS_MD"
  # "### API" under "## Today's figures": replace it, or add it before "## Details".
  if [[ $PULL_COLD == fresh ]]; then COLD="services over fresh, empty roots each round"; else COLD="\`docker rmi\` and ${PULL_SETTLE} s between rounds"; fi
  awk -v tbl="$TODAY" -v day="$(date -u +%Y-%m-%d)" -v cold="$COLD" '
    function emit() { print "### API"; print ""; print tbl; print ""
      print "Measured " day " (`bench/api.sh`, details below): the docker CLI 20.10 against `berth system service` and `podman system service`, each on its own unix socket and storage; cold pulls (" cold "); the last row is a fresh `systemd-socket-activate` per round, timed from the start of `curl .../_ping` to its answer."; print "" }
    /^### API$/ && !done { skip = 1; emit(); done = 1; next }
    skip && /^##/ { skip = 0 }
    skip { next }
    /^## Details/ && !done { emit(); done = 1 }
    { print }
  ' "$RESULTS_MD" >"$RESULTS_MD.tmp" && mv "$RESULTS_MD.tmp" "$RESULTS_MD"
  log "wrote results to $RESULTS_MD"
fi
((${#FAILS[@]} == 0))
