#!/usr/bin/env bash
# bench/kube.sh — issue 16: `berth kube play/down/generate` vs podman 4.3.1's
# `podman kube play/down/generate` (runc), the same YAML for both:
#   Deployment kbench, replicas 3: one container `web` (busybox httpd on
#   container port 8088, sh trapping TERM), pods kbench-pod-0..2
#   Service kbench selecting app=kbench, port SVCPORT (a free host port)
#   -> targetPort 8088
# a. Per tool and round: `kube play FILE` cold (no pods; image present),
#    then `kube down FILE`. After play each tool's `pod ps` must show the 3
#    pods kbench-pod-0..2 Running and the host 3 httpd processes (pgrep);
#    berth must also answer HTTP on 127.0.0.1:SVCPORT (berth publishes the
#    Service's port on the host for the pods it selects; podman 4.3.1 does
#    not apply the Service kind, so nothing listens there for podman: the
#    answer is recorded, not judged). After down: no pods, no httpd.
# b. `kube generate kgen1 ... kgen20`: 20 containers made (not started)
#    in each tool before these rounds, each `create --name kgenN -p
#    (20000+N):80 -e A=N -v kgenvolN:/data $REF httpd -f -p 80`; the
#    output must have 20 `image:` lines. If `podman kube generate` fails,
#    `podman generate kube` is timed instead (and the output says so).
#    The containers and volumes are removed at the end.
# Tools alternate per round (round i starts with the other tool than round
# i-1), one tool's pods up at a time. Medians (p90) over RUNS rounds after
# WARMUP. Checks poll the state for up to SETTLE_S s after each command
# (untimed): httpd is forked by the pod's shell just after the start.
#
# Prints a table and the raw per-round numbers; with RESULTS_MD_APPEND set,
# appends a section to $RESULTS_MD and puts a "### Kube" table under
# "## Today's figures" (replacing an older one).
#
# Env: RUNS (default 5), WARMUP (default 1), SETTLE_S (default 5), BERTH
#      (default <repo>/target/release/berth), BENCH_CACHE, RESULTS_MD. As root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
SETTLE_S=${SETTLE_S:-5}
NGEN=20   # containers given to `kube generate`

need_root
need_posint RUNS SETTLE_S
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer (got '$WARMUP')"
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need catatonit catatonit   # podman builds its pod pause image from it
need python3 python3
need curl curl
need pgrep procps
need findmnt util-linux
need_exe /bin/busybox busybox-static
check_needs
need_berth
need_bash5

HTTPD_PAT='^busybox httpd -f -p 8088'   # the pods' httpd processes (pgrep -f)
n=$(pgrep -fc "$HTTPD_PAT" || true)
((n == 0)) || die "$n processes matching '$HTTPD_PAT' already run; the checks would count them"

make_scratch kube
init_tool_roots
# berth runs on its own runtime: the CONTAINERS_CONF made for podman below
# (runtime = "runc") is podman's, not berth's.
BERTH_CMD=(env -u CONTAINERS_CONF "${BERTH_CMD[@]}")
KF=""          # the YAML, once written
KGEN_MADE=0    # 1 while the kgen containers may exist
KGEN=()
for ((i = 1; i <= NGEN; i++)); do KGEN+=("kgen$i"); done
KGENVOL=("${KGEN[@]/#kgen/kgenvol}")
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $KF && -f $KF ]]; then
    if [[ -d $B_ROOT ]]; then timeout 120 "${BERTH_CMD[@]}" kube down "$KF" >/dev/null 2>&1 || true; fi
    if [[ -d $P_ROOT ]]; then timeout 120 "${PODMAN_CMD[@]}" "${PODMAN_OPTS[@]}" kube down "$KF" >/dev/null 2>&1 || true; fi
  fi
  if ((KGEN_MADE)); then
    if [[ -d $B_ROOT ]]; then
      timeout 120 "${BERTH_CMD[@]}" rm -f "${KGEN[@]}" >/dev/null 2>&1 || true
      timeout 120 "${BERTH_CMD[@]}" volume rm -f "${KGENVOL[@]}" >/dev/null 2>&1 || true
    fi
    if [[ -d $P_ROOT ]]; then
      timeout 120 "${PODMAN_CMD[@]}" "${PODMAN_OPTS[@]}" rm -f -i "${KGEN[@]}" >/dev/null 2>&1 || true
      timeout 120 "${PODMAN_CMD[@]}" "${PODMAN_OPTS[@]}" volume rm -f "${KGENVOL[@]}" >/dev/null 2>&1 || true
    fi
  fi
  # pods a failed `kube down` left (podman will not remove an infra
  # container with `rm -f -a`, only its pod)
  if [[ -d $B_ROOT ]]; then timeout 120 "${BERTH_CMD[@]}" pod rm -f -a -t 0 >/dev/null 2>&1 || true; fi
  if [[ -d $P_ROOT ]]; then timeout 120 "${PODMAN_CMD[@]}" "${PODMAN_OPTS[@]}" pod rm -f -a -t 0 >/dev/null 2>&1 || true; fi
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
# The pods use each tool's default network. One default-network run sets up
# berth's host-wide default network now (if new), so that
# podman_subnet_apart sees which subnet it has (as api.sh does); then this
# run's podman gets its own network config dir (as compose.sh does), so its
# default network comes from default_subnet and stays out of the host's.
B run --rm "$REF" true >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; die "berth run --rm $REF true failed"; }
podman_subnet_apart
podman_network_dir "${CONTAINERS_CONF:-/etc/containers/containers.conf}"
export CONTAINERS_CONF=$T/containers.conf
P_NET="$(P network inspect podman --format '{{.NetworkInterface}} {{range .Subnets}}{{.Subnet}}{{end}}' 2>&1 || true) ($(P info --format '{{.Host.NetworkBackend}}' 2>&1 || true))"

# ---------------------------------------------------------------- the YAML
# The Service's host port: free now, and none of the kgen containers' ports.
SVCPORT=$(free_port)
while ((SVCPORT > 20000 && SVCPORT <= 20000 + NGEN)); do SVCPORT=$(free_port); done
# Long-running commands trap TERM (a shell as pid 1 ignores it otherwise,
# and both tools' `kube down` would sit out the stop timeout). No
# `ports: containerPort` in the template: podman 4.3.1 publishes a declared
# containerPort on the host as it is, which three replicas cannot share.
mkdir -p "$T/kube"
cat >"$T/kube/kbench.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: kbench}
spec:
  replicas: 3
  selector: {matchLabels: {app: kbench}}
  template:
    metadata: {labels: {app: kbench}}
    spec:
      containers:
      - name: web
        image: $REF
        command: ["sh", "-c", "trap 'exit 0' TERM; busybox httpd -f -p 8088 -h /tmp & wait"]
---
apiVersion: v1
kind: Service
metadata: {name: kbench}
spec:
  selector: {app: kbench}
  ports: [{port: $SVCPORT, targetPort: 8088}]
EOF
KF=$T/kube/kbench.yaml

# kube_cmd TOOL ARGS...
kube_cmd() {
  local t=$1; shift
  case $t in
    berth) B kube "$@" ;;
    podman) P kube "$@" ;;
  esac
}
# svc_code: HTTP status from 127.0.0.1:SVCPORT, 000 when nothing answers
svc_code() {
  curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$SVCPORT/" 2>/dev/null || true
}
# state TOOL: "pods=NAME:STATUS,... httpd=N svc=CODE" (all the tool's pods:
# its root is this run's)
state() {
  local t=$1 lines
  case $t in
    berth) lines=$(B pod ps --format '{{.Name}}:{{.Status}}' 2>&1) || true ;;
    podman) lines=$(P pod ps --format '{{.Name}}:{{.Status}}' 2>&1) || true ;;
  esac
  printf 'pods=%s httpd=%s svc=%s' "$( { grep . <<<"$lines" || true; } | sort | paste -sd, -)" \
    "$(pgrep -fc "$HTTPD_PAT" || true)" "$(svc_code)"
}
UP_PODS="pods=kbench-pod-0:Running,kbench-pod-1:Running,kbench-pod-2:Running httpd=3"
declare -A WANT=(
  [play.berth]="$UP_PODS svc=[1-9][0-9][0-9]"   # any HTTP answer through the Service port
  [play.podman]="$UP_PODS svc=*"                # podman does not publish the Service: recorded only
  [down.berth]="pods= httpd=0 svc=000"
  [down.podman]="pods= httpd=0 svc=000"
)
now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
# settle TOOL WANT: the tool's state, polled until it matches the glob WANT
# or SETTLE_S seconds passed
settle() {
  local s end
  end=$(($(now_us) + SETTLE_S * 1000000))
  while :; do
    s=$(state "$1")
    # shellcheck disable=SC2053 # (WANT is a glob)
    [[ $s == $2 ]] && break
    (($(now_us) < end)) || break
    sleep 0.1
  done
  echo "$s"
}
declare -A CHECKS=()   # "step.tool" -> states seen (";"-separated)
declare -A SEEN=()     # "step.tool|state" of failed checks already in FAILS
fail_once() { # fail_once KEY MESSAGE: one FAILS entry per distinct key
  [[ -n ${SEEN[$1]:-} ]] && return 0
  SEEN[$1]=1
  FAILS+=("$2")
}
check() { # check TOOL STEP
  local s want=${WANT[$2.$1]}
  s=$(settle "$1" "$want")
  # shellcheck disable=SC2053 # (want is a glob)
  [[ $s == $want ]] || fail_once "$2.$1|$s" "($2) $1: $s, expected $want"
  CHECKS[$2.$1]+="$s;"
}

# cycle TOOL ROUND: play, check, down, check (timed unless warm-up)
cycle() {
  local t=$1 i=$2 ms
  if timed ms kube_cmd "$t" play "$KF"; then
    ((i > WARMUP)) && echo "$ms" >>"$T/play.$t"
  else
    note_fail "kube play" "$t" "$t kube play kbench.yaml"
  fi
  cp "$T/err" "$T/play.$t.lasterr"
  check "$t" play
  if timed ms kube_cmd "$t" down "$KF"; then
    ((i > WARMUP)) && echo "$ms" >>"$T/down.$t"
  else
    note_fail "kube down" "$t" "$t kube down kbench.yaml"
  fi
  check "$t" down
}

wait_inode_aging
START=$(date +%s)
LOAD_START=$(load)
declare -A LOADS=()
TOOLS=(berth podman)
for s in play down generate; do for t in "${TOOLS[@]}"; do : >"$T/$s.$t"; done; done

# ---------------------------------------------------------------- a. play/down
LOADS[play]=$(load)
log "(play/down) $RUNS rounds (+$WARMUP warm-up): kube play, kube down; per tool"
for ((i = 1; i <= RUNS + WARMUP; i++)); do
  for ((k = 0; k < 2; k++)); do
    cycle "${TOOLS[$(((i + k) % 2))]}" "$i"
  done
done

# ---------------------------------------------------------------- b. generate
log "creating $NGEN containers (not started) in each tool"
KGEN_MADE=1
for t in "${TOOLS[@]}"; do
  for ((i = 1; i <= NGEN; i++)); do
    case $t in
      berth) B create --name "kgen$i" -p "$((20000 + i)):80" -e "A=$i" -v "kgenvol$i:/data" "$REF" httpd -f -p 80 ;;
      podman) P create --name "kgen$i" -p "$((20000 + i)):80" -e "A=$i" -v "kgenvol$i:/data" "$REF" httpd -f -p 80 ;;
    esac >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; die "$t create --name kgen$i failed"; }
  done
done
# image_lines FILE: the containers' `image:` lines of a generated YAML
image_lines() { grep -cE '^[[:space:]]*(- )?image:' "$1" || true; }
# One untimed generate per tool first: podman 4.3.1 should have `kube
# generate`; if it fails there, time `generate kube` (its older spelling).
P_GEN=(kube generate)
GEN_NOTE=""
B kube generate "${KGEN[@]}" >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail "kube generate" berth "berth kube generate kgen1..kgen$NGEN"; }
if ! P kube generate "${KGEN[@]}" >"$T/out" 2>"$T/err"; then
  GEN_ERR=$(head -c 300 "$T/err" | tr '\n' ' ')
  if P generate kube "${KGEN[@]}" >"$T/out" 2>"$T/err"; then
    P_GEN=(generate kube)
    GEN_NOTE="\`podman kube generate\` failed (${GEN_ERR:-no stderr}); \`podman generate kube\` timed instead"
    log "$GEN_NOTE"
  else
    GEN_NOTE="both \`podman kube generate\` (${GEN_ERR:-no stderr}) and \`podman generate kube\` failed"
    log "$GEN_NOTE"
  fi
fi
gen_cmd() { # gen_cmd TOOL
  case $1 in
    berth) B kube generate "${KGEN[@]}" ;;
    podman) P "${P_GEN[@]}" "${KGEN[@]}" ;;
  esac
}
wait_inode_aging
LOADS[generate]=$(load)
log "(generate) $RUNS rounds (+$WARMUP warm-up): kube generate of $NGEN containers; per tool"
for ((i = 1; i <= RUNS + WARMUP; i++)); do
  for ((k = 0; k < 2; k++)); do
    t=${TOOLS[$(((i + k) % 2))]}
    if timed ms gen_cmd "$t"; then
      ((i > WARMUP)) && echo "$ms" >>"$T/generate.$t"
    else
      note_fail "kube generate" "$t" "$t ${P_GEN[*]} kgen1..kgen$NGEN"
    fi
    s="images=$(image_lines "$T/out")"
    [[ $s == "images=$NGEN" ]] || fail_once "generate.$t|$s" "(generate) $t: $s in the output, expected images=$NGEN"
    CHECKS[generate.$t]+="$s;"
  done
done
cp "$T/out" "$T/generate.last.yaml"
LOAD_END=$(load)
TOTAL_S=$(($(date +%s) - START))

log "removing the $NGEN containers and their volumes"
B rm -f "${KGEN[@]}" >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail cleanup berth "berth rm -f kgen1..kgen$NGEN"; }
B volume rm -f "${KGENVOL[@]}" >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail cleanup berth "berth volume rm -f kgenvol1..kgenvol$NGEN"; }
P rm -f "${KGEN[@]}" >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail cleanup podman "podman rm -f kgen1..kgen$NGEN"; }
P volume rm -f "${KGENVOL[@]}" >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail cleanup podman "podman volume rm -f kgenvol1..kgenvol$NGEN"; }
KGEN_MADE=0

# ---------------------------------------------------------------- report
med() { read -r m p n < <(ms_stats "$1"); echo "$m $p $n"; }
row() { # row LABEL STEP TARGET (ratio:X, or - for none)
  local bm bp bn pm pp pn r res=– tgt=–
  read -r bm bp bn < <(med "$T/$2.berth")
  read -r pm pp pn < <(med "$T/$2.podman")
  r=$(ratio "$bm" "$pm")
  case $3 in ratio:*) tgt="≤ ${3#ratio:}"; res=$(passfail "$r" "${3#ratio:}") ;; esac
  printf '| %s | %s (%s) | %s (%s) | %s | %s | %s |\n' "$1" "$bm" "$bp" "$pm" "$pp" "$r" "$tgt" "$res"
}
short() { # short LABEL STEP: for Today's figures
  local bm pm
  read -r bm _ < <(med "$T/$2.berth")
  read -r pm _ < <(med "$T/$2.podman")
  printf '| %s | %s | %s | %s |\n' "$1" "$bm" "$pm" "$(ratio "$bm" "$pm")"
}
raw() { # raw STEP TOOL: in round order
  printf '%s %s ms: %s\n' "$1" "$2" "$(tr '\n' ' ' <"$T/$1.$2")"
}

set_rev
TABLE=$(
  echo "| what | berth, median (p90) ms | podman, median (p90) ms | berth/podman | target | result |"
  echo "|---|---|---|---|---|---|"
  row '`kube play` (cold): 3-replica Deployment + Service, no pods, image present' play ratio:0.2
  row '`kube down` of it' down -
  row "\`kube generate\` of $NGEN created containers" generate ratio:0.2
)
TODAY=$(
  echo "| what | berth | podman | berth/podman |"
  echo "|---|---|---|---|"
  short '`kube play` 3-replica Deployment + Service (cold, image present), median ms' play
  short '`kube down` of it, median ms' down
  short "\`kube generate\` of $NGEN containers, median ms" generate
)
RAW=$(for s in play down generate; do for t in "${TOOLS[@]}"; do raw "$s" "$t"; done; done)
STATES=$(for k in $(printf '%s\n' "${!CHECKS[@]}" | sort); do
  printf '%s: %s\n' "$k" "$(tr ';' '\n' <<<"${CHECKS[$k]}" | grep . | sort | uniq -c | awk '{ c = $1; $1 = ""; printf "%s×%s; ", c, substr($0, 2) }')"
done)
# what each tool said on stderr in its last `kube play` (warnings, e.g.
# about the Service)
PLAYERR=$(for t in "${TOOLS[@]}"; do
  [[ -s $T/play.$t.lasterr ]] || continue
  sed "s/^/$t: /" "$T/play.$t.lasterr" | sort -u | head -5
done)

echo
echo "$TABLE"
echo
echo "$TODAY"
echo
echo "$RAW"
echo
echo "states after each step (pods:status of the tool, host httpd processes, HTTP status from 127.0.0.1:$SVCPORT), count × state:"
echo "$STATES"
echo "generate: $NGEN \`image:\` lines wanted from each tool; podman ran \`podman ${P_GEN[*]}\`${GEN_NOTE:+ ($GEN_NOTE)}"
[[ -z $PLAYERR ]] || { echo "stderr of the last kube play:"; echo "$PLAYERR"; }
echo "note: podman 4.3.1 does not apply the Service kind; berth additionally publishes the Service port $SVCPORT on the host for the 3 pods, podman does not."
echo "podman's default network: $P_NET"
echo "load: start $LOAD_START, play/down rounds ${LOADS[play]}, generate rounds ${LOADS[generate]}, end $LOAD_END; $RUNS rounds (+$WARMUP warm-up) per tool and step; total ${TOTAL_S}s"
((${#FAILS[@]} == 0)) || printf 'failure: %s\n' "${FAILS[@]}"

if [[ -n ${RESULTS_MD_APPEND:-} ]]; then
  ensure_results_md
  {
    printf '\n### Kube: `berth kube` vs podman 4.3.1 `kube` (issue 16, `bench/kube.sh`) — %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "$(build_info); $(podman --version) with runc ($(runc --version | head -1)), ${PODMAN_OPTS[*]:+podman flags \`${PODMAN_OPTS[*]}\`, }podman's default network $P_NET, from default_subnet $P_SUBNET and network_config_dir \$T/podman/networks; $(nproc) CPUs, kernel $(uname -r)."
    echo "Load (1/5/15 min): start $LOAD_START; before the play/down rounds ${LOADS[play]}; before the generate rounds ${LOADS[generate]}; end $LOAD_END. $RUNS rounds per tool and step after $WARMUP warm-up, tools alternating, one tool's pods up at a time; rounds ${TOTAL_S}s in all (the $NGEN+$NGEN containers' creation included, setup and their removal not)."
    echo
    echo "$TABLE"
    echo
    echo '```'
    echo "$RAW"
    echo '```'
    echo
    echo "The YAML (one file for both tools; \`\$REF\` = busybox-static image from a loopback docker-registry, pulled into both fresh roots first; $SVCPORT a port free at the start):"
    echo
    echo '```yaml'
    sed "s|$REF|\$REF|" "$KF"
    echo '```'
    echo
    echo "Checked after every step (polled for up to ${SETTLE_S}s, untimed) with each tool's \`pod ps\` (pod:status), the host's \`pgrep -fc '$HTTPD_PAT'\` and \`curl\` of http://127.0.0.1:$SVCPORT/ (HTTP status, 000: no answer); for \`kube generate\` the count of \`image:\` lines in its output; count × state:"
    echo
    echo '```'
    echo "$STATES"
    echo '```'
    echo
    echo "Commands (B='berth --root \$T/berth/root --runroot \$T/berth/run', P='podman --root \$T/podman/root --runroot \$T/podman/run --storage-driver overlay${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}'):"
    echo
    echo '```'
    echo "\$B kube play kbench.yaml; \$B kube down kbench.yaml"
    echo "\$P kube play kbench.yaml; \$P kube down kbench.yaml"
    echo "for i in \$(seq $NGEN); do \$B create --name kgen\$i -p \$((20000+i)):80 -e A=\$i -v kgenvol\$i:/data \$REF httpd -f -p 80; done   # and \$P; untimed"
    echo "\$B kube generate kgen1 ... kgen$NGEN"
    echo "\$P ${P_GEN[*]} kgen1 ... kgen$NGEN"
    echo '```'
    echo
    [[ -z $GEN_NOTE ]] || { echo "podman generate: $GEN_NOTE."; echo; }
    [[ -z $PLAYERR ]] || { echo "stderr of each tool's last \`kube play\`:"; echo; echo '```'; echo "$PLAYERR"; echo '```'; echo; }
    ((${#FAILS[@]} == 0)) || { printf -- '- failure: %s\n' "${FAILS[@]}"; echo; }
    cat <<'NOTES'
Notes:

- podman 4.3.1 does not apply the Service kind: it makes the same 3 pods (kbench-pod-0..2, each with an infra container) and publishes nothing. berth additionally publishes the Service's port on the host for the 3 pods it selects (SO_REUSEPORT listeners, one per pod, relaying to the pod's port 8088), checked with `curl` after each of its plays; so berth's `kube play` does more here than podman's.
- The pods' containers trap TERM: a shell as pid 1 ignores it otherwise, and both tools' `kube down` would sit out the stop timeout.
- `kube generate`: the 20 containers are created once before those rounds (not started, one published port, one env var and one named volume each) and removed at the end; both tools write one Pod holding the 20 containers (berth as podman 4 does).
NOTES
    echo
    echo "Reproduce: \`RUNS=$RUNS RESULTS_MD_APPEND=1 bench/kube.sh\` (as root)."
  } >>"$RESULTS_MD"
  # "### Kube" under "## Today's figures": replace it, or add it before "## Details".
  awk -v tbl="$TODAY" -v day="$(date -u +%Y-%m-%d)" '
    function emit() { print "### Kube"; print ""; print tbl; print ""
      print "Measured " day " (`bench/kube.sh`, details below). podman 4.3.1 does not apply the Service kind; berth also publishes the Service port on the host for the 3 pods, podman does not."; print "" }
    /^### Kube$/ && !done { skip = 1; emit(); done = 1; next }
    skip && /^##/ { skip = 0 }
    skip { next }
    /^## Details/ && !done { emit(); done = 1 }
    { print }
  ' "$RESULTS_MD" >"$RESULTS_MD.tmp" && mv "$RESULTS_MD.tmp" "$RESULTS_MD"
  log "wrote results to $RESULTS_MD"
fi
((${#FAILS[@]} == 0))
