#!/usr/bin/env bash
# bench/build.sh — image build benchmark: `berth build` vs `podman build`
# (runc, --layers).
#
# Same busybox image, local registry and fresh roots as bench/run.sh; the
# base is pulled into both roots first (untimed) and every build runs with
# --pull=never, so no build talks to the registry. A context dir holds a
# 6-step Dockerfile on that image:
#     FROM <registry>/busybox:latest
#     ENV APP=/app
#     WORKDIR /app
#     COPY big.bin /app/big.bin        (BIG_MB MiB from /dev/urandom)
#     RUN echo built > /app/stamp && ls -l /app
#     COPY late.txt /app/late.txt      (a few bytes)
# built as `build -t bench-build:latest -f CTX/Dockerfile --pull=never CTX`
# (podman: plus --layers, its default anyway) in three sections:
#   a. cold: before each run (untimed) the built image, the build cache and
#      every intermediate image are removed (berth: rmi -f, builder prune -f;
#      podman: rmi -f, image prune -f), only the base image is kept
#   b. fully cached rebuild: the same build again, nothing changed
#   c. late change: late.txt gets new content before each run, so only the
#      last step misses the cache
# Each run is checked: the number of "--> Using cache" lines the tool prints
# (a: 0, b: 5, c: 4; both tools print that line per cached step) and the
# image's /app/stamp and /app/late.txt (read back with `run --rm --network
# none`, untimed); the first build of each tool also checks big.bin's md5.
# A section with a wrong count or content is "invalid" in the table.
# Timed: wall time of the build command alone (bash $EPOCHREALTIME), after a
# `sync` (so one build's dirty 50 MiB is not written back during the next).
# Runs alternate between the tools (round i starts with the other tool than
# round i-1); WARMUP runs per tool and section are not counted.
# RUN steps get each tool's default network (podman: netavark network
# `podman`); like network.sh, podman gets a private default subnet if
# berth's default network already has 10.88.0.0/16 (podman_subnet_apart).
# Prints a markdown table and raw numbers; writes nothing to BENCHMARKS.md.
#
# Env: REPS (default 5), WARMUP (default 1), BIG_MB (default 50),
#      PULL (default never; empty: no --pull flag, each tool's default),
#      TOOLS (default "berth podman"; "podman" alone needs no berth binary),
#      BERTH, BENCH_CACHE (see lib.sh).
# Must run as root.
# shellcheck disable=SC2016 # ('$B ...', '$P ...': commands as shown in the report)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The target is judged on the unrounded ratio (the table shows 2 decimals).
exact_ratio() { if isnum "$1" && isnum "$2" && positive "$2"; then calc "$1 / $2" 4; else echo n/a; fi; }

REPS=${REPS:-5}
WARMUP=${WARMUP:-1}
BIG_MB=${BIG_MB:-50}
PULL=${PULL-never}
TOOLS=${TOOLS:-berth podman}
TAG=bench-build:latest

# ---------------------------------------------------------------- preflight
need_root "overlay mounts, podman storage"
need_posint REPS BIG_MB
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer (got '$WARMUP')"
[[ -z $PULL || $PULL =~ ^(never|missing|always)$ ]] || die "PULL must be never, missing, always or empty (got '$PULL')"
read -r -a TOOLS_ON <<<"$TOOLS"
((${#TOOLS_ON[@]})) || die "TOOLS is empty"
declare -A ON=()
for t in "${TOOLS_ON[@]}"; do
  [[ $t == berth || $t == podman ]] || die "TOOLS: unknown tool '$t' (berth, podman)"
  ON[$t]=1
done
TOOLS_ON=()   # canonical order, no duplicates
for t in berth podman; do [[ -n ${ON[$t]:-} ]] && TOOLS_ON+=("$t"); done
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need python3 python3
need curl curl
need findmnt util-linux
need md5sum coreutils
need_exe /bin/busybox busybox-static
need_exe /usr/lib/podman/netavark netavark   # podman build's RUN steps set up its default network
need iptables iptables                      # (netavark's firewall driver)
check_needs
[[ -n ${ON[berth]:-} ]] && need_berth
need_bash5

# ---------------------------------------------------------------- cleanup
make_scratch build
init_tool_roots
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  teardown_tools 120 || true
  stop_registry
  remove_scratch
  exit "$rc"
}
install_traps

# ---------------------------------------------------------------- helpers
tool() { # tool berth|podman ARGS...
  local t=$1; shift
  case $t in berth) B "$@" ;; podman) P "$@" ;; esac
}
declare -A SHOW=([berth]='$B' [podman]='$P')
declare -A WANT_HITS=([a]=0 [b]=5 [c]=4)   # "--> Using cache" lines per build (5 cacheable steps)
declare -A BASE_ID=()   # the base image's ID (hex) per tool: kept by every reset
declare -A BAD=()       # SECT.TOOL -> number of runs with a wrong cache count or content
declare -A HITS=()      # SECT.TOOL -> the cache-hit counts seen, in run order
declare -A MD5_OK=()    # TOOL -> 1 once big.bin's md5 was checked in its image

# bargs TOOL: BARGS = the build command's arguments
bargs() {
  BARGS=(build -t "$TAG" -f "$CTX/Dockerfile")
  [[ -n $PULL ]] && BARGS+=("--pull=$PULL")
  [[ $1 == podman ]] && BARGS+=(--layers)
  BARGS+=("$CTX")
}
show_build() { bargs "$1"; local a="${SHOW[$1]} ${BARGS[*]}"; echo "${a//$CTX/\$CTX}"; }

image_id() { # image_id TOOL REF: hex ID, or nothing
  local id
  id=$(tool "$1" image inspect --format '{{.Id}}' "$2" 2>/dev/null | sed -n 1p) || true
  echo "${id#sha256:}"
}
bad() { # bad SECT TOOL MSG: count a run as invalid, note the first
  local k=$1.$2
  BAD[$k]=$((${BAD[$k]:-0} + 1))
  if ((BAD[$k] == 1)); then
    FAILS+=("($1) $2: $3")
    echo "$BENCH_NAME: ($1) $2: $3" >&2
  fi
}

# reset_tool TOOL: back to "only the base image" (cold), untimed.
reset_tool() {
  local t=$1 ids id left=()
  tool "$t" rmi -f "$TAG" >/dev/null 2>"$T/err" || true   # (rc 1 if there is none)
  if [[ $t == berth ]]; then
    B builder prune -f >/dev/null 2>"$T/err" || { LAST_RC=$?; note_fail a-reset berth '$B builder prune -f'; }
  else
    P image prune -f >/dev/null 2>"$T/err" || { LAST_RC=$?; note_fail a-reset podman '$P image prune -f'; }
  fi
  # whatever is left besides the base: intermediate and dangling images
  if ! ids=$(tool "$t" images -a -q --no-trunc 2>"$T/err" | sort -u); then
    LAST_RC=$?; note_fail a-reset "$t" "${SHOW[$t]} images -a -q --no-trunc"; return 0
  fi
  for id in $ids; do
    id=${id#sha256:}
    [[ $id == "${BASE_ID[$t]}" ]] || left+=("$id")
  done
  if ((${#left[@]})); then
    tool "$t" rmi -f "${left[@]}" >/dev/null 2>"$T/err" || { LAST_RC=$?; note_fail a-reset "$t" "${SHOW[$t]} rmi -f <${#left[@]} images left after prune>"; }
  fi
  ids=$(tool "$t" images -a -q --no-trunc 2>/dev/null | sed 's/^sha256://' | sort -u | tr '\n' ' ') || true
  if [[ $ids != "${BASE_ID[$t]} " ]]; then
    echo "images left after the reset: '${ids% }' (base ${BASE_ID[$t]})" >"$T/err"; LAST_RC=1
    note_fail a-reset "$t" "reset to the base image alone"
    [[ $ids == *"${BASE_ID[$t]}"* ]] || { pull_into_roots "$t"; BASE_ID[$t]=$(image_id "$t" "$REF"); }
  fi
}

# check_image SECT TOOL: the built image holds what the Dockerfile put there
check_image() {
  local s=$1 t=$2 sum want
  { echo built; cat "$CTX/late.txt"; } >"$T/expect"
  if ! tool "$t" run --rm --network none "$TAG" cat /app/stamp /app/late.txt >"$T/got" 2>"$T/err"; then
    bad "$s" "$t" "\`${SHOW[$t]} run --rm --network none $TAG cat /app/stamp /app/late.txt\` failed: $(head -c 300 "$T/err" | tr '\n' ' ')"
  elif ! cmp -s "$T/expect" "$T/got"; then
    bad "$s" "$t" "image content: /app/stamp + /app/late.txt are '$(head -c 200 "$T/got" | tr '\n' '|')', expected '$(tr '\n' '|' <"$T/expect")'"
  fi
  if [[ -z ${MD5_OK[$t]:-} ]]; then
    MD5_OK[$t]=1
    sum=$(tool "$t" run --rm --network none "$TAG" busybox md5sum /app/big.bin 2>"$T/err" | awk '{ print $1 }') || true
    want=$(md5sum "$CTX/big.bin" | awk '{ print $1 }')
    [[ $sum == "$want" ]] || bad "$s" "$t" "/app/big.bin md5 '${sum:-?}' in the image, '$want' in the context"
  fi
}

# one_build SECT TOOL REP: one timed build; its ms go to $T/SECT.TOOL if REP > 0
one_build() {
  local s=$1 t=$2 i=$3 ms hits
  sync
  bargs "$t"
  if timed ms tool "$t" "${BARGS[@]}"; then
    hits=$(cat "$T/out" "$T/err" | grep -c -- '--> Using cache' || true)
    HITS[$s.$t]+="$hits "
    ((i > 0)) && echo "$ms" >>"$T/$s.$t"
    if [[ $hits != "${WANT_HITS[$s]}" ]]; then
      bad "$s" "$t" "$hits \"--> Using cache\" lines, expected ${WANT_HITS[$s]} (run $i; output: $(cat "$T/out" "$T/err" | grep -E -- '^(STEP|-->)' | head -c 400 | tr '\n' '|'))"
    fi
    check_image "$s" "$t"
  else
    note_fail "$s" "$t" "$(show_build "$t")"
  fi
}

# section SECT: WARMUP + REPS rounds over the tools, alternating who starts
section() {
  local s=$1 i t order
  for t in "${TOOLS_ON[@]}"; do : >"$T/$s.$t"; done
  for ((i = 1 - WARMUP; i <= REPS; i++)); do
    [[ $s == c ]] && printf 'late change %d at %s\n' "$i" "$EPOCHREALTIME" >"$CTX/late.txt"
    order=("${TOOLS_ON[@]}")
    if (((i + WARMUP) % 2 == 0 && ${#order[@]} == 2)); then order=("${order[1]}" "${order[0]}"); fi
    for t in "${order[@]}"; do
      [[ $s == a ]] && reset_tool "$t"
      one_build "$s" "$t" "$i"
    done
  done
}
st() { if [[ -n ${ON[$2]:-} ]]; then ms_stats "$T/$1.$2"; else echo "skipped skipped 0"; fi; }
raw() { sort -n "$T/$1" 2>/dev/null | awk '{ printf "%s%s", sep, $1; sep = " " } END { if (!NR) printf "-"; print "" }'; }
result() { # result SECT RATIO_LIMIT BERTH_MED PODMAN_MED
  if [[ -n ${BAD[$1.berth]:-}${BAD[$1.podman]:-} ]]; then echo invalid; return; fi
  [[ $2 == - ]] && { echo "–"; return; }
  passfail "$(exact_ratio "$3" "$4")" "$2"
}

# ================================================================= setup
START=$(date +%s)
LOAD_BEFORE=$(load)
configure_podman
log "building busybox OCI layout"
read -r _ LAYER_SIZE _ < <(build_busybox_layout "$T/oci")
serve_layout "$T/oci" latest busybox
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp
probe_podman "${PODMAN_CMD[@]}"
pull_into_roots "${TOOLS_ON[@]}"
for t in "${TOOLS_ON[@]}"; do
  BASE_ID[$t]=$(image_id "$t" "$REF")
  [[ -n ${BASE_ID[$t]} ]] || die "$t: no ID for the pulled $REF (${SHOW[$t]} image inspect --format '{{.Id}}' $REF)"
done
P_SUBNET="10.88.0.0/16 (podman's default)"
if [[ -n ${ON[berth]:-} ]]; then
  # One default-network run: sets up berth's host-wide default network now
  # (if new), so that podman_subnet_apart sees which subnet it has.
  B run --rm busybox true >"$T/out" 2>"$T/err" || { LAST_RC=$?; note_fail setup berth '$B run --rm busybox true'; }
  [[ -n ${ON[podman]:-} ]] && podman_subnet_apart
fi

CTX=$T/ctx
mkdir -p "$CTX"
head -c "${BIG_MB}M" /dev/urandom >"$CTX/big.bin"
echo "late, as first built" >"$CTX/late.txt"
cat >"$CTX/Dockerfile" <<EOF
FROM $REF
ENV APP=/app
WORKDIR /app
COPY big.bin /app/big.bin
RUN echo built > /app/stamp && ls -l /app
COPY late.txt /app/late.txt
EOF
wait_inode_aging

# ================================================================= a. cold
log "(a) cold build (image, cache and intermediate images removed before each run): $REPS timed runs per tool (+$WARMUP warm-up), alternating"
LOAD_A=$(load)
section a
# ================================================================= b. cached
log "(b) fully cached rebuild: $REPS timed runs per tool (+$WARMUP warm-up), alternating"
LOAD_B=$(load)
section b
# ================================================================= c. late change
log "(c) late.txt changed before each build: $REPS timed runs per tool (+$WARMUP warm-up), alternating"
LOAD_C=$(load)
section c
LOAD_END=$(load)

read -r MED_a_B P90_a_B NB_a < <(st a berth); read -r MED_a_P P90_a_P NP_a < <(st a podman)
read -r MED_b_B P90_b_B NB_b < <(st b berth); read -r MED_b_P P90_b_P NP_b < <(st b podman)
read -r MED_c_B P90_c_B NB_c < <(st c berth); read -r MED_c_P P90_c_P NP_c < <(st c podman)
log "    (a) cold: berth median $MED_a_B ms | podman median $MED_a_P ms | ratio $(ratio "$MED_a_B" "$MED_a_P")"
log "    (b) cached: berth median $MED_b_B ms | podman median $MED_b_P ms | ratio $(ratio "$MED_b_B" "$MED_b_P")"
log "    (c) late change: berth median $MED_c_B ms | podman median $MED_c_P ms | ratio $(ratio "$MED_c_B" "$MED_c_P")"

teardown_tools 120
LEFT=$(findmnt -rn -o TARGET | grep -F "$T" || true)
[[ -z $LEFT ]] || FAILS+=("mounts left under \$T after teardown: $(echo "$LEFT" | tr '\n' ' ')")
ELAPSED=$(($(date +%s) - START))

# ================================================================= report
TABLE=$(cat <<EOF
| metric | berth | podman | berth/podman | target | result |
|---|---|---|---|---|---|
| a. cold \`build\`, 6 steps on busybox with a ${BIG_MB} MiB COPY (built image, build cache and intermediate images removed first), median ms ($NB_a / $NP_a runs) | $MED_a_B | $MED_a_P | $(ratio "$MED_a_B" "$MED_a_P") | ≤ 1.00 | $(result a 1.00 "$MED_a_B" "$MED_a_P") |
| b. fully cached rebuild, median ms ($NB_b / $NP_b runs) | $MED_b_B | $MED_b_P | $(ratio "$MED_b_B" "$MED_b_P") | ≤ 0.20 | $(result b 0.20 "$MED_b_B" "$MED_b_P") |
| c. one-file change late (last step's \`COPY late.txt\` misses the cache), median ms ($NB_c / $NP_c runs) | $MED_c_B | $MED_c_P | $(ratio "$MED_c_B" "$MED_c_P") | report | $(result c - "$MED_c_B" "$MED_c_P") |
| a–c. p90 ms (a / b / c) | $P90_a_B / $P90_b_B / $P90_c_B | $P90_a_P / $P90_b_P / $P90_c_P | – | – | – |
EOF
)
RAW=""
for s in a b c; do
  for t in berth podman; do
    [[ -n ${ON[$t]:-} ]] || continue
    RAW+="($s) $t ms: $(raw "$s.$t")   cache hits per run (incl. warm-up): ${HITS[$s.$t]:-none}"$'\n'
  done
done
echo
echo "$TABLE"
echo
printf '%s' "$RAW"
[[ -n ${ON[berth]:-} ]] && { set_rev; echo "$(build_info)."; }
echo "$(podman --version) with runc ($(runc --version | head -n1)), netavark $(/usr/lib/podman/netavark --version | awk '{ print $2 }'), podman subnet $P_SUBNET; $(nproc) CPUs, kernel $(uname -r), /var/tmp on $(df -T /var/tmp | awk 'NR == 2 { print $2 }')."
echo "Base image: busybox-static + symlinks ($LAYER_SIZE-byte gzip layer) from a loopback docker-registry, pulled untimed; builds with ${PULL:+--pull=$PULL }(podman also --layers); $WARMUP warm-up run(s) per tool and section not counted."
echo "Commands (CTX=\$T/ctx):"
for t in "${TOOLS_ON[@]}"; do echo "  $(show_build "$t")"; done
echo "  (a) before each run: $( [[ -n ${ON[berth]:-} ]] && echo "\$B rmi -f $TAG; \$B builder prune -f;") $( [[ -n ${ON[podman]:-} ]] && echo "\$P rmi -f $TAG; \$P image prune -f;") then rmi -f of any image but the base"
echo "  B='berth --root \$T/berth/root --runroot \$T/berth/run'  P='podman --root \$T/podman/root --runroot \$T/podman/run --storage-driver overlay${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}'"
echo "total ${ELAPSED}s; load: start $LOAD_BEFORE, (a) $LOAD_A, (b) $LOAD_B, (c) $LOAD_C, end $LOAD_END"
if ((${#FAILS[@]})); then
  echo "FAILURES:"; printf '  - %s\n' "${FAILS[@]}"
fi
