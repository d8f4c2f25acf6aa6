#!/usr/bin/env bash
# bench/network.sh — networking benchmark: berth vs podman (runc).
#
# Same busybox image, local registry and fresh roots as bench/run.sh, then:
#   a. rootful `run --rm busybox true` on each tool's DEFAULT network (berth:
#      bridge berth0 with nftables NAT; podman 4.3: netavark network podman)
#   b. the same rootless, as the unprivileged user berth-bench (see run.sh e):
#      berth default (pasta), berth --network slirp4netns, podman default
#      (slirp4netns), podman --network pasta (skipped if podman rejects it)
#   c. throughput host -> container through a PUBLISHED port: a receiver
#      container `-p HOSTPORT:5000` running `busybox nc -l -p 5000 -e busybox
#      dd bs=1M iflag=fullblock of=/dev/null`, a host sender (python: 1 MiB
#      sendall()s to 127.0.0.1:HOSTPORT, then SHUT_WR, timed until the
#      receiver closed), the byte count checked in `logs` (dd's "N+0 records
#      in"); rootful (berth DNAT vs netavark) and every rootless network of (b).
#      Not `nc -l | wc -c`: busybox nc copies via a small buffer (~170 MB/s cap),
#      and it half-closes at once on its /dev/null stdin, which Debian 12's
#      pasta (passt 2023-03-09) answers by dropping the last ~11 MB in flight
#      once the sender half-closes too (also with pasta alone, without berth).
# Rootful podman 4.3's default network is 10.88.0.0/16, which berth's
# default network also takes when no podman0 exists at the time it is first
# set up; two bridges with one subnet break routing. If they overlap, the
# script's podman gets a private CONTAINERS_CONF (the host's + [network]
# default_subnet = a free 10.N.0.0/16): same netavark network `podman`.
# Prints a table and appends a dated section to BENCHMARKS.md.
#
# Env: RUNS (default 20), XFER_RUNS (default 3), XFER_MIB (default 1024),
#      ROOTLESS (default 1; 0 skips the rootless parts of b and c),
#      BERTH, BENCH_CACHE, RESULTS_MD (see lib.sh).
# Must run as root. Sets /dev/net/tun to mode 0666 (rootless user-mode
# networking needs it; the distro default).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The target is judged on the unrounded ratio (the table shows 2 decimals).
exact_ratio() { if isnum "$1" && isnum "$2" && positive "$2"; then calc "$1 / $2" 4; else echo n/a; fi; }

RUNS=${RUNS:-20}
XFER_RUNS=${XFER_RUNS:-3}
XFER_MIB=${XFER_MIB:-1024}
ROOTLESS=${ROOTLESS:-1}
WARMUP=2
XFER_BYTES=$((XFER_MIB * 1024 * 1024))

# ---------------------------------------------------------------- preflight
need_root
need_posint RUNS XFER_RUNS XFER_MIB
[[ $ROOTLESS == 0 || $ROOTLESS == 1 ]] || die "ROOTLESS must be 0 or 1 (got '$ROOTLESS')"
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need nft nftables
need iptables iptables
need ip iproute2
need python3 python3
need curl curl
need findmnt util-linux
need_exe /usr/lib/podman/netavark netavark
need_exe /usr/lib/podman/aardvark-dns aardvark-dns
need_exe /bin/busybox busybox-static
if ((ROOTLESS)); then
  need setpriv util-linux
  need useradd passwd
  need newuidmap uidmap
  need newgidmap uidmap
  need pgrep procps
  need pasta passt
  need slirp4netns slirp4netns
  need_exe /usr/lib/podman/rootlessport podman
fi
check_needs
need_berth
need_bash5

# ---------------------------------------------------------------- cleanup
make_scratch network
init_tool_roots
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  teardown_tools 120 || true
  if [[ -n $RU && -d $RU && -n ${RL_WRAP+x} ]]; then   # rootless containers first, then their processes
    timeout 120 "${RL_WRAP[@]}" "$BERTH" rm -f --all >/dev/null 2>&1 || echo "warning: rootless berth rm -f --all failed" >&2
    timeout 120 "${RL_WRAP[@]}" "${RL_PODMAN[@]}" rm -f -a -t 0 >/dev/null 2>&1 || echo "warning: rootless podman rm -f -a failed" >&2
  fi
  teardown_rootless || true
  [[ -z $RL_TD_LEFT ]] || echo "warning: rootless cleanup: $RL_TD_LEFT" >&2
  stop_registry
  remove_scratch
  exit "$rc"
}
install_traps


# Configurations: KEY -> tool wrapper (B P RB RP) and --network arguments.
declare -A TOOL=([a.berth]=B [a.podman]=P [b.berth]=RB [b.berth_slirp]=RB [b.podman]=RP [b.podman_pasta]=RP)
declare -A NET=([b.berth_slirp]="--network slirp4netns" [b.podman_pasta]="--network pasta")
declare -A SHOW=([B]='$B' [P]='$P' [RB]='$W berth' [RP]='$W $RP')
declare -A OK=()    # configurations that passed their sanity run
declare -A HELPERS=()   # rootless: the bench user's processes seen during a transfer
desc() { echo "${SHOW[${TOOL[$1]}]} run --rm${NET[$1]:+ ${NET[$1]}} $IMG true"; }
run_rm() { ${TOOL[$1]} run --rm ${NET[$1]:-} "$IMG" true; }   # (NET word-split on purpose)

# sanity KEY [OPTIONAL]: one untimed run; OK[KEY]=1 if it works. An
# OPTIONAL configuration's error is kept in $T/err.KEY, not a failure.
sanity() {
  if run_rm "$1" >"$T/out" 2>"$T/err"; then OK[$1]=1; return 0; else LAST_RC=$?; fi
  if [[ -n ${2:-} ]]; then cp "$T/err" "$T/err.$1"; else note_fail "${1%%.*}-setup" "${1#*.}" "$(desc "$1")"; fi
}

# rotate SECT KEY...: RUNS+WARMUP rounds of `run --rm IMG true` over the
# configurations that work; round i starts with the i-th of them (rotating
# order, as run.sh alternates). Timings in $T/KEY.
rotate() {
  local sect=$1 keys=() k i j ms; shift
  for k in "$@"; do : >"$T/$sect.$k"; [[ -n ${OK[$sect.$k]:-} ]] && keys+=("$sect.$k"); done
  local n=${#keys[@]}
  ((n)) || return 0
  for ((i = 1; i <= RUNS + WARMUP; i++)); do
    for ((j = 0; j < n; j++)); do
      k=${keys[(i + j) % n]}
      if timed ms run_rm "$k"; then
        if ((i > WARMUP)); then echo "$ms" >>"$T/$k"; fi
      else
        note_fail "$sect" "${k#*.}" "$(desc "$k")"
      fi
    done
  done
}
st() { ms_stats "$T/$1"; }   # st KEY -> "median p90 n"

# listening PID PORT: PID's network namespace has a TCP listener on PORT
listening() {
  local hex
  hex=$(printf '%04X' "$2")
  cat "/proc/$1/net/tcp" "/proc/$1/net/tcp6" 2>/dev/null | awk -v p=":$hex" '$2 ~ p"$" && $4 == "0A" { f = 1 } END { exit !f }'
}
cat >"$T/send.py" <<'EOF'
import socket, sys, time
n, port = int(sys.argv[1]), int(sys.argv[2])
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", port))
buf = bytes(1 << 20)
for _ in range(n >> 20):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
while s.recv(1 << 16):   # until the receiver has read everything and closed
    pass
print("%.6f" % (time.monotonic() - t0))
EOF
RECV=(busybox nc -l -p 5000 -e busybox dd bs=1M iflag=fullblock of=/dev/null)
# helpers PID [NSPATH]: the bench user's processes that hold PID's netns open,
# run in it, or name NSPATH (podman's SandboxKey) in their argv: pasta,
# slirp4netns, rootlessport... (PID itself not counted)
helpers() {
  local ns p c out=()
  ns=$(readlink "/proc/$1/ns/net") || return 0
  for p in $(pgrep -u "$RL_USER"); do
    ((p == $1)) && continue
    if [[ $(readlink "/proc/$p/ns/net" 2>/dev/null) == "$ns" ]] || ls -l "/proc/$p/fd" 2>/dev/null | grep -qF "$ns" ||
      { [[ -n ${2:-} ]] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$2"; }; then
      c=$(cat "/proc/$p/comm" 2>/dev/null) && out+=("$c")
    fi
  done
  printf '%s\n' "${out[@]}" | sort -u | tr '\n' ' '
}

# xfer_once KEY: one transfer into a fresh receiver container; appends MB/s
# (10^6 bytes/s) to $T/c.KEY only if the receiver counted all XFER_BYTES.
xfer_once() {
  local key=$1 sect=${1%%.*} tool=${TOOL[$1]} hp id pid ms n i what secs
  what="${SHOW[$tool]} run -d -p HOSTPORT:5000${NET[$key]:+ ${NET[$key]}} $IMG ${RECV[*]}"
  hp=$(free_port)
  if ! $tool run -d -p "$hp:5000" ${NET[$key]:-} "$IMG" "${RECV[@]}" >"$T/out" 2>"$T/err"; then
    LAST_RC=$?; note_fail "c-$sect" "${key#*.}" "$what"; return 0
  fi
  id=$(tail -n1 "$T/out")
  pid=$($tool inspect --format '{{.State.Pid}}' "$id" 2>"$T/err" || true)
  for ((i = 0; i < 200; i++)); do
    [[ $pid =~ ^[1-9][0-9]*$ ]] && listening "$pid" 5000 && break
    sleep 0.05
  done
  if ((i == 200)); then
    echo "receiver (pid '$pid') not listening on 5000 after 10 s" >"$T/err"; LAST_RC=1
    note_fail "c-$sect" "${key#*.}" "$what"
  else
    if [[ $tool == R* && -z ${HELPERS[$key]:-} ]]; then
      HELPERS[$key]=$(helpers "$pid" "$($tool inspect --format '{{.NetworkSettings.SandboxKey}}' "$id" 2>/dev/null || true)")
    fi
    if timed ms timeout 300 python3 "$T/send.py" "$XFER_BYTES" "$hp"; then
      secs=$(tail -n1 "$T/out")
      for ((i = 0; i < 600; i++)); do [[ -d /proc/$pid ]] || break; sleep 0.05; done   # receiver's exit
      n=$($tool logs "$id" 2>&1 | sed -n 1p)
      if [[ $n == "$XFER_MIB+0 records in" ]] && positive "$secs"; then
        calc "$XFER_BYTES / 1000000 / $secs" 1 >>"$T/c.$key"; echo >>"$T/c.$key"
      else
        echo "receiver's dd says '${n:-?}', not '$XFER_MIB+0 records in' (sender: ${secs:-?} s)" >"$T/err"; LAST_RC=1
        note_fail "c-$sect" "${key#*.}" "$what; python3 send.py $XFER_BYTES HOSTPORT"
      fi
    else
      note_fail "c-$sect" "${key#*.}" "python3 send.py $XFER_BYTES HOSTPORT ($what)"
    fi
  fi
  $tool rm -f $([[ $tool == *P ]] && echo "-t 0") "$id" >/dev/null 2>"$T/err" || { LAST_RC=$?; note_fail "c-$sect" "${key#*.}" "${SHOW[$tool]} rm -f ID"; }
}
xfer() { # xfer KEY...: XFER_RUNS rounds over the working configurations, rotating
  local keys=() k i j
  for k in "$@"; do : >"$T/c.$k"; [[ -n ${OK[$k]:-} ]] && keys+=("$k"); done
  ((${#keys[@]})) || return 0
  for ((i = 1; i <= XFER_RUNS; i++)); do
    for ((j = 0; j < ${#keys[@]}; j++)); do xfer_once "${keys[(i + j) % ${#keys[@]}]}"; done
  done
}
mbs() { median "$T/c.$1" 1 n/a | awk '{ if ($1 == "n/a") print; else printf "%.0f\n", $1 }'; }
raw() { sort -n "$T/$1" 2>/dev/null | awk '{ printf "%s%s", sep, $1; sep = " " } END { if (!NR) printf "-"; print "" }'; }

# ================================================================= setup
START=$(date +%s)
LOAD_BEFORE=$(load)
configure_podman
TUN_MODE_BEFORE=$(stat -c %a /dev/net/tun 2>/dev/null || echo missing)
[[ -c /dev/net/tun ]] || die "/dev/net/tun missing (modprobe tun)"
chmod 0666 /dev/net/tun
log "building busybox OCI layout"
read -r LAYER_DIGEST LAYER_SIZE LAYER_USIZE < <(build_busybox_layout "$T/oci")
serve_layout "$T/oci" latest busybox
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp
probe_podman "${PODMAN_CMD[@]}"
pull_into_roots
IMG=busybox
sanity a.berth   # (also sets up berth's host-wide default network, if new)
# Rootful podman's default subnet must not overlap berth's default network.
P_SUBNET="10.88.0.0/16 (podman's default)"
if [[ $(B network inspect berth --format '{{range .Subnets}}{{.Subnet}} {{end}}' 2>/dev/null) == *10.88.* ]]; then
  taken=$( { ip -4 route show; B network inspect $(B network ls -q) 2>/dev/null; cat /etc/containers/networks/*.json 2>/dev/null; } || true)
  for ((n = 90; n < 255; n++)); do grep -q "10\.$n\." <<<"$taken" || break; done
  ((n < 255)) || die "no free 10.N.0.0/16 for podman's default network"
  P_SUBNET="10.$n.0.0/16 (private CONTAINERS_CONF: berth's default network berth0 has 10.88.0.0/16)"
  awk -v s="10.$n.0.0/16" '
    /^[[:space:]]*\[/ { sect = $0; sub(/^[[:space:]]*\[/, "", sect); sub(/\].*$/, "", sect); print
      if (sect == "network") { print "default_subnet = \"" s "\""; done = 1 }; next }
    sect == "network" && /^[[:space:]]*default_subnet[[:space:]]*=/ { next }
    { print }
    END { if (!done) { print ""; print "[network]"; print "default_subnet = \"" s "\"" } }
  ' /etc/containers/containers.conf >"$T/containers.conf"
  export CONTAINERS_CONF=$T/containers.conf
fi
sanity a.podman
wait_inode_aging

# ================================================================= a. rootful
log "(a) rootful run --rm $IMG true, default network: $RUNS timed runs per tool (+$WARMUP warm-up), alternating"
LOAD_A=$(load)
rotate a berth podman
read -r A_B_MED A_B_P90 A_B_N < <(st a.berth)
read -r A_P_MED A_P_P90 A_P_N < <(st a.podman)
A_RATIO=$(ratio "$A_B_MED" "$A_P_MED"); A_RESULT=$(passfail "$(exact_ratio "$A_B_MED" "$A_P_MED")" 0.25)
log "    berth median $A_B_MED ms p90 $A_B_P90 | podman median $A_P_MED ms p90 $A_P_P90 | ratio $A_RATIO ($A_RESULT)"

# ================================================================= b. rootless
B_NOTES=() LOAD_B="" SUBID="" P_NET_INFO=""
for k in berth berth_slirp podman podman_pasta wrap; do : >"$T/b.$k"; done
if ((ROOTLESS)); then
  log "(b) rootless ($RL_USER) run --rm $IMG true: $RUNS timed runs per configuration (+$WARMUP warm-up), rotating"
  LOAD_B=$(load)
  setup_rootless   # (lib.sh) bench user, $RU, RL_WRAP, RB/RP/RW
  SUBID="subuid $(grep "^$RL_USER:" /etc/subuid | head -n1 | cut -d: -f2-), subgid $(grep "^$RL_USER:" /etc/subgid | head -n1 | cut -d: -f2-)"
  RB pull -q "$IMG" >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail b-setup berth "\$W berth pull -q $IMG"; }
  RP pull -q --tls-verify=false "$REF" >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail b-setup podman "\$W \$RP pull -q --tls-verify=false $REF"; }
  P_NET_INFO=$(RP info --format 'network backend {{.Host.NetworkBackend}}, {{.Host.Slirp4NetNS.Version}}' 2>/dev/null | sed -n 1p || echo '?')
  for k in berth berth_slirp podman; do sanity "b.$k"; done
  sanity b.podman_pasta optional
  [[ -n ${OK[b.podman_pasta]:-} ]] ||
    B_NOTES+=("podman $(podman --version | awk '{ print $3 }') \`--network pasta\` does not work here, skipped in (b) and (c): $(head -c 300 "$T/err.b.podman_pasta" 2>/dev/null | tr '\n' ' ')")
  rotate b berth berth_slirp podman podman_pasta
  for ((i = 1; i <= RUNS; i++)); do timed ms RW && echo "$ms" >>"$T/b.wrap" || note_fail b wrapper "setpriv ... env ... true"; done
fi
read -r B_B_MED B_B_P90 B_B_N < <(st b.berth)
read -r B_S_MED B_S_P90 B_S_N < <(st b.berth_slirp)
read -r B_P_MED B_P_P90 B_P_N < <(st b.podman)
read -r B_PP_MED B_PP_P90 B_PP_N < <(st b.podman_pasta)
read -r B_W_MED _ _ < <(st b.wrap)
B_RATIO=$(ratio "$B_B_MED" "$B_P_MED"); B_RESULT=$(passfail "$(exact_ratio "$B_B_MED" "$B_P_MED")" 0.25)
log "    berth pasta $B_B_MED ms, berth slirp4netns $B_S_MED ms, podman slirp4netns $B_P_MED ms, podman pasta $B_PP_MED ms | ratio $B_RATIO ($B_RESULT)"

# ================================================================= c. throughput
log "(c) ${XFER_MIB} MiB host -> container through a published port, $XFER_RUNS runs per configuration"
LOAD_C=$(load)
xfer a.berth a.podman
((ROOTLESS)) && xfer b.berth b.berth_slirp b.podman b.podman_pasta
for k in a.berth a.podman b.berth b.berth_slirp b.podman b.podman_pasta; do
  [[ -f $T/c.$k ]] || : >"$T/c.$k"
  printf -v "C_${k//./_}" '%s' "$(mbs "$k")"
done
log "    rootful: berth $C_a_berth MB/s, podman $C_a_podman MB/s | rootless: berth pasta $C_b_berth, berth slirp4netns $C_b_berth_slirp, podman slirp4netns $C_b_podman, podman pasta $C_b_podman_pasta MB/s"

if ((ROOTLESS)); then
  B_HOSTMNT=$(findmnt -rn -o TARGET | grep -cF "$RU" || true)
  timeout 120 "${RL_WRAP[@]}" "$BERTH" rm -f --all >/dev/null 2>"$T/err" || { LAST_RC=$?; note_fail teardown berth "\$W berth rm -f --all"; }
  timeout 120 "${RL_WRAP[@]}" "${RL_PODMAN[@]}" rm -f -a -t 0 >/dev/null 2>"$T/err" || { LAST_RC=$?; note_fail teardown podman "\$W \$RP rm -f -a -t 0"; }
  teardown_rootless
  B_NOTES+=("$RL_TD_NOTE" "host mounts under the temp dir before teardown: $B_HOSTMNT")
  [[ -z $RL_TD_LEFT ]] || FAILS+=("rootless cleanup: $RL_TD_LEFT")
fi
LOAD_END=$(load)
teardown_tools 120
LEFT=$(findmnt -rn -o TARGET | grep -F "$T" || true)
[[ -z $LEFT ]] || FAILS+=("mounts left under \$T after teardown: $(echo "$LEFT" | tr '\n' ' ')")
ELAPSED=$(($(date +%s) - START))

# ================================================================= report
hl() { local h=${HELPERS[$1]:-}; echo "${h% }"; }
TABLE=$(cat <<EOF
| metric | berth | podman | berth/podman | target | result |
|---|---|---|---|---|---|
| a. rootful \`run --rm busybox true\`, default network (berth: bridge berth0 + nftables; podman: netavark \`podman\`), median ms ($A_B_N / $A_P_N runs) | $A_B_MED | $A_P_MED | $A_RATIO | ≤ 0.25 | $A_RESULT |
| a. same, p90 ms | $A_B_P90 | $A_P_P90 | $(ratio "$A_B_P90" "$A_P_P90") | – | – |
| b. rootless \`run --rm busybox true\`, default network (berth: pasta; podman: slirp4netns), median ms ($B_B_N / $B_P_N runs) | $B_B_MED | $B_P_MED | $B_RATIO | ≤ 0.25 | $B_RESULT |
| b. same, p90 ms | $B_B_P90 | $B_P_P90 | $(ratio "$B_B_P90" "$B_P_P90") | – | – |
| b. (info) rootless \`--network slirp4netns\` (podman: its default), median / p90 ms | $B_S_MED / $B_S_P90 | $B_P_MED / $B_P_P90 | $(ratio "$B_S_MED" "$B_P_MED") | – | – |
| b. (info) rootless \`--network pasta\` (berth: its default), median / p90 ms | $B_B_MED / $B_B_P90 | $( [[ -n ${OK[b.podman_pasta]:-} ]] && echo "$B_PP_MED / $B_PP_P90" || echo "not supported") | $(ratio "$B_B_MED" "$B_PP_MED") | – | – |
| b. (info) the setpriv + env wrapper alone, median ms (included in every rootless row) | $B_W_MED | $B_W_MED | – | – | – |
| c. rootful, published port (berth: nft DNAT to berth0; podman: netavark), MB/s, median of $XFER_RUNS | $C_a_berth | $C_a_podman | $(ratio "$C_a_berth" "$C_a_podman") | report | – |
| c. rootless, default network (berth: pasta; podman: slirp4netns + rootlessport), MB/s | $C_b_berth | $C_b_podman | $(ratio "$C_b_berth" "$C_b_podman") | report | – |
| c. rootless \`--network slirp4netns\` (podman: its default), MB/s | $C_b_berth_slirp | $C_b_podman | $(ratio "$C_b_berth_slirp" "$C_b_podman") | report | – |
| c. rootless \`--network pasta\` (berth: its default), MB/s | $C_b_berth | $( [[ -n ${OK[b.podman_pasta]:-} ]] && echo "$C_b_podman_pasta" || echo "not supported") | $(ratio "$C_b_berth" "$C_b_podman_pasta") | report | – |
EOF
)
RAW=$(cat <<EOF
(a) berth  ms: $(raw a.berth)
(a) podman ms: $(raw a.podman)
(b) berth pasta (default)      ms: $(raw b.berth)
(b) berth slirp4netns          ms: $(raw b.berth_slirp)
(b) podman slirp4netns (default) ms: $(raw b.podman)
(b) podman pasta               ms: $(raw b.podman_pasta)
(b) wrapper alone              ms: $(raw b.wrap)
(c) MB/s rootful berth: $(raw c.a.berth) | rootful podman: $(raw c.a.podman)
(c) MB/s rootless berth pasta: $(raw c.b.berth) | berth slirp4netns: $(raw c.b.berth_slirp) | podman slirp4netns: $(raw c.b.podman) | podman pasta: $(raw c.b.podman_pasta)
(c) bench user's processes during a transfer: berth pasta: $(hl b.berth) | berth slirp4netns: $(hl b.berth_slirp) | podman: $(hl b.podman)
EOF
)
echo
echo "$TABLE"
echo
echo "$RAW"
((${#B_NOTES[@]})) && printf '(b) %s\n' "${B_NOTES[@]}"
echo "total ${ELAPSED}s; load: start $LOAD_BEFORE, (a) $LOAD_A,${LOAD_B:+ (b) $LOAD_B,} (c) $LOAD_C, end $LOAD_END"
if ((${#FAILS[@]})); then
  echo "FAILURES:"; printf '  - %s\n' "${FAILS[@]}"
fi

ensure_results_md
{
  section_title "Networking (default networks, rootless pasta/slirp4netns, published-port throughput)"
  echo "Load average (1/5/15 min): start $LOAD_BEFORE; before (a) $LOAD_A;${LOAD_B:+ before (b) $LOAD_B;} before (c) $LOAD_C; end $LOAD_END (other jobs on the box skew timings)."
  echo "$(build_info), $(podman --version) with runc ($(runc --version | head -n1)), netavark $(/usr/lib/podman/netavark --version | awk '{ print $2 }'), passt $(dpkg-query -W -f '${Version}' passt 2>/dev/null), $(slirp4netns --version | sed -n 1p), $(nproc) CPUs, kernel $(uname -r)."
  echo "Image, registry and fresh roots as in bench/run.sh (busybox-static + symlinks, $LAYER_SIZE-byte gzip layer; podman \`--storage-driver overlay\`, cgroupfs, runc, ulimits nofile/nproc 4096)."
  echo "(a), (b): wall time of each command from bash \`\$EPOCHREALTIME\`, $WARMUP warm-ups per configuration not counted, configurations rotated every round."
  echo "(b), (c) rootless: user \`$RL_USER\` ($SUBID) through \`setpriv\` + \`env -i\` with private HOME/XDG dirs (as bench/run.sh e); podman rootless: $P_NET_INFO; /dev/net/tun mode 0666 (was $TUN_MODE_BEFORE)."
  echo "(a), (c) rootful podman: network \`podman\` (netavark, iptables), subnet $P_SUBNET."
  echo "(c): a receiver container \`-p HOSTPORT:5000 busybox ${RECV[*]}\` per run (started, then polled until its netns listens on 5000); the host sends $XFER_MIB MiB in 1 MiB \`sendall()\`s (python), timed from connect until the receiver, having read all, closed;"
  echo "a run counts only if \`logs\` shows \`$XFER_MIB+0 records in\` ($XFER_BYTES bytes); container removed after each run. MB/s = 10^6 bytes/s; berth/podman > 1 means berth is faster. Whole script took ${ELAPSED}s."
  echo
  echo "$TABLE"
  echo
  if ((${#FAILS[@]})); then
    echo "Failures:"; echo; printf -- '- %s\n' "${FAILS[@]}"; echo
  fi
  ((${#B_NOTES[@]})) && { printf -- '- %s\n' "${B_NOTES[@]}"; echo; }
  echo "Raw numbers:"
  echo
  echo '```'
  echo "$RAW"
  echo '```'
  echo
  echo "Commands:"
  echo
  echo '```'
  echo "B='berth --root \$T/berth/root --runroot \$T/berth/run'"
  echo "P='podman --root \$T/podman/root --runroot \$T/podman/run --storage-driver overlay${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}'"
  echo "W='setpriv --reuid=$RL_USER --regid=$RL_USER --init-groups env -i -C / PATH=... HOME=\$U/home XDG_RUNTIME_DIR=\$U/run XDG_DATA_HOME=\$U/data XDG_CONFIG_HOME=\$U/home/.config CONTAINERS_REGISTRIES_CONF=\$U/registries.conf TMPDIR=\$U/tmp'"
  echo "RP='podman --root \$U/podman/root --runroot \$U/podman/run --storage-driver overlay --cgroup-manager cgroupfs --events-backend file'"
  for k in a.berth a.podman b.berth b.berth_slirp b.podman b.podman_pasta; do
    echo "(${k%%.*}) $(desc "$k")$( [[ $k == b.podman_pasta && -z ${OK[$k]:-} ]] && echo "   # fails with podman 4.3: skipped")"
  done
  echo "(c) ID=\$(\$B run -d -p HOSTPORT:5000 busybox ${RECV[*]})   # likewise \$P, \$W berth [--network slirp4netns], \$RP"
  echo "(c) python3 send.py $XFER_BYTES HOSTPORT   # connect 127.0.0.1:HOSTPORT, $XFER_MIB x sendall(1 MiB), SHUT_WR, recv until EOF; prints seconds"
  echo "(c) \$B logs \$ID   # '$XFER_MIB+0 records in'; then \$B rm -f \$ID  (podman: rm -f -t 0)"
  echo '```'
  echo
  echo "Reproduce: \`RUNS=$RUNS XFER_RUNS=$XFER_RUNS XFER_MIB=$XFER_MIB bench/network.sh\` (as root; \`ROOTLESS=0\` skips the rootless parts)."
} >>"$RESULTS_MD"
log "appended results to $RESULTS_MD"
