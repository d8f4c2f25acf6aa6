#!/usr/bin/env bash
# bench/pull.sh — cold-pull benchmark: berth vs podman vs a curl|gzip|tar floor.
#
# Builds (once, cached) a debootstrap'd Debian bookworm minbase image as a
# single gzip layer, serves it from a local docker-registry, then times N cold
# pulls per tool into fresh, empty storage roots. Prints a table and appends a
# dated section to BENCHMARKS.md at the repo root.
#
# Env: RUNS (default 5), BENCH_CACHE (default /var/tmp/berth-bench),
#      BERTH (default <repo>/target/release/berth), MIRROR (default: from apt),
#      RESULTS_MD (default <repo>/BENCHMARKS.md).
# Must run as root (debootstrap, podman overlay storage, tar keeping owners).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
IMAGE_REPO=bookworm
IMAGE_TAG=latest   # the cached layout's tag (build_layout in lib.sh)

# ---------------------------------------------------------------- preflight
need_root "debootstrap, overlay storage, tar owners"
need_posint RUNS

need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need debootstrap debootstrap
need jq jq
need curl curl
need gzip gzip
need tar tar
need sha256sum coreutils
need findmnt util-linux
need_exe /usr/bin/time time
check_needs
need_berth

# ---------------------------------------------------------------- cleanup
make_scratch pull

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_registry
  remove_scratch   # also stamps last-delete (see retire_dir)
  exit "$rc"
}
install_traps

# ---------------------------------------------------------------- timing
# time_run LABEL OUTFILE CMD... : appends "seconds maxrss_kb" to OUTFILE.
time_run() {
  local label=$1 out=$2; shift 2
  local tf=$T/time.out
  if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$T/cmd.log" 2>&1; then
    echo "pull.sh: $label failed: $*" >&2
    cat "$T/cmd.log" >&2
    [[ -f $tf ]] && cat "$tf" >&2
    exit 1
  fi
  tail -n1 "$tf" >>"$out"
  read -r s k <"$tf"
  printf '  %-7s %6.2fs  %6.1f MB\n' "$label" "$s" "$(awk -v k="$k" 'BEGIN{print k/1024}')" >&2
}

fresh_dir() { # remove (unmounting first) and recreate
  umount_under "$1"
  rm -rf "$1"
  mkdir -p "$1"
}

# Deleting a run's tree right away would skew the NEXT run: on ext4 without
# a journal (this VM's /), inode allocation skips inodes deleted in the last
# 60 s (fs/ext4/ialloc.c recently_deleted(), RECENTCY_MIN), and scanning past
# ~7k of them per file created made every extraction 3-4x slower (perf: >70%
# of time in recently_deleted/find_get_block). So each run's root is
# unmounted and moved into $T/trash (a rename: same filesystem, no inode is
# freed), and the trash is rm -rf'd once, on exit.
retire_dir() {
  umount_under "$1"
  mkdir -p "$T/trash"
  mv "$1" "$T/trash/$(basename "$1").$RANDOM$RANDOM"
}

run_berth() {
  local d=$T/berth
  fresh_dir "$d"
  time_run berth "$T/res.berth" "$BERTH" --root "$d/root" --runroot "$d/run" pull -q "$REF"
  retire_dir "$d"
}

run_podman() {
  local d=$T/podman
  fresh_dir "$d"
  # podman stages blobs in $TMPDIR (default /var/tmp/storageNNN) and leaks
  # that dir if interrupted; keep it inside the run dir (same filesystem).
  mkdir -p "$d/tmp"
  time_run podman "$T/res.podman" env TMPDIR="$d/tmp" podman --root "$d/root" --runroot "$d/run" --storage-driver overlay \
    "${PODMAN_OPTS[@]}" pull -q --tls-verify=false "$REF"
  # The overlay driver leaves a private bind mount of its home; retire_dir
  # unmounts it.
  retire_dir "$d"
}

run_floor() {
  local d=$T/floor
  fresh_dir "$d"
  time_run floor "$T/res.floor" bash -c 'set -o pipefail; curl -fsS "$1" | gzip -d | tar -x -C "$2"' _ \
    "http://$REG/v2/$IMAGE_REPO/blobs/$LAYER_DIGEST" "$d"
  retire_dir "$d"
}

# ================================================================= main
START=$(date +%s)
# Used roots are kept until exit (see retire_dir): ~0.75 GiB per round.
avail_kb=$(df -Pk "$T" | awk 'NR == 2 {print $4}')
((avail_kb > (RUNS + 2) * 1048576)) || die "need ~$((RUNS + 2)) GiB free under $(dirname "$T") (have $((avail_kb / 1048576)) GiB)"
LOAD_BEFORE=$(load)
configure_podman
build_rootfs
build_layout
read -r LAYER_DIGEST LAYER_SIZE LAYER_USIZE <"$CACHE/oci/layer.info"

serve_layout "$CACHE/oci" "$IMAGE_TAG" "$IMAGE_REPO"
# The registry must serve the very blob we packed (no recompression).
curl -fsI "http://$REG/v2/$IMAGE_REPO/blobs/$LAYER_DIGEST" >/dev/null ||
  die "layer $LAYER_DIGEST not found in registry after push"
# Warm the registry's blob into the page cache so run 1 is not penalised.
curl -fs "http://$REG/v2/$IMAGE_REPO/blobs/$LAYER_DIGEST" >/dev/null

# podman probe, in a throwaway root (the timed runs each get a fresh one).
probe=$T/probe
probe_podman podman --root "$probe/root" --runroot "$probe/run" --storage-driver overlay
umount_under "$probe"; rm -rf "$probe"

: >"$T/res.berth"; : >"$T/res.podman"; : >"$T/res.floor"
# A previous bench run freed ~thousands of inodes on exit; let ext4's 60 s
# "recently deleted" window pass so run 1 is not penalised (see retire_dir).
wait_inode_aging
log "timing $RUNS cold pulls per tool (order alternates each round)"
for ((i = 1; i <= RUNS; i++)); do
  echo "  -- round $i/$RUNS" >&2
  if ((i % 2)); then order=(berth podman floor); else order=(podman berth floor); fi
  for tool in "${order[@]}"; do
    "run_$tool"
    sync
  done
done

leak=$(findmnt -rn -o TARGET | grep -F "$T" || true)
[[ -z $leak ]] || die "mounts leaked under $T:$(printf '\n')$leak"

B_S=$(median "$T/res.berth" 1); P_S=$(median "$T/res.podman" 1); F_S=$(median "$T/res.floor" 1)
B_M=$(median "$T/res.berth" 2); P_M=$(median "$T/res.podman" 2)
R_BP=$(calc "$B_S / $P_S"); R_BF=$(calc "$B_S / $F_S")
B_MB=$(calc "$B_M / 1024"); P_MB=$(calc "$P_M / 1024")
pf() { awk "BEGIN { exit !($*) }" && echo PASS || echo FAIL; }
T1=$(pf "$B_S <= 0.5 * $P_S"); T2=$(pf "$B_S <= 1.5 * $F_S"); T3=$(pf "$B_M <= $P_M")
C_MB=$(calc "$LAYER_SIZE / 1048576"); U_MB=$(calc "$LAYER_USIZE / 1048576")
ELAPSED=$(($(date +%s) - START))

TABLE=$(cat <<EOF
| metric | berth | podman | floor | ratio | target | result |
|---|---|---|---|---|---|---|
| median wall time (s) | $B_S | $P_S | $F_S | berth/podman $R_BP | ≤ 0.50 | $T1 |
| | | | | berth/floor $R_BF | ≤ 1.50 | $T2 |
| median peak RSS (MB) | $B_MB | $P_MB | – | berth/podman $(calc "$B_M / $P_M") | ≤ 1.00 | $T3 |
EOF
)
echo
echo "$TABLE"
echo
echo "image: 1 gzip layer, ${C_MB} MiB compressed / ${U_MB} MiB uncompressed; runs: $RUNS per tool; total ${ELAPSED}s"
echo "raw (s, KB): berth: $(tr '\n' ';' <"$T/res.berth")"
echo "             podman: $(tr '\n' ';' <"$T/res.podman")"
echo "             floor: $(tr '\n' ';' <"$T/res.floor")"

# ---------------------------------------------------------------- record
ensure_results_md
{
  section_title "Cold pull"
  echo "Load average before/after: $LOAD_BEFORE / $(load) (other jobs on the box skew timings)."
  echo "$(build_info), $(podman --version), $(nproc) CPUs."
  echo "Image: Debian bookworm \`debootstrap --variant=minbase\`, one gzip layer,"
  echo "$LAYER_SIZE bytes compressed (${C_MB} MiB) / $LAYER_USIZE bytes uncompressed (${U_MB} MiB),"
  echo "served by a local \`docker-registry\` over plain HTTP. $RUNS cold pulls per tool, fresh empty root each, tools alternated, \`sync\` between runs;"
  echo "used roots are unmounted and moved aside, deleted only at the end (no-journal ext4 slows inode allocation for 60 s after deletes)."
  echo
  echo "$TABLE"
  echo
  echo "Raw \`seconds peakRSS_KB\` — berth: $(tr '\n' ';' <"$T/res.berth") podman: $(tr '\n' ';' <"$T/res.podman") floor: $(tr '\n' ';' <"$T/res.floor")"
  echo
  echo "Commands (timed with \`/usr/bin/time -f '%e %M'\`):"
  echo
  echo '```'
  echo "berth --root \$T/root --runroot \$T/run pull -q 127.0.0.1:PORT/$IMAGE_REPO:$IMAGE_TAG"
  echo "TMPDIR=\$T/tmp podman --root \$T/root --runroot \$T/run --storage-driver overlay ${PODMAN_OPTS[*]:+${PODMAN_OPTS[*]} }pull -q --tls-verify=false 127.0.0.1:PORT/$IMAGE_REPO:$IMAGE_TAG"
  echo "curl -s http://127.0.0.1:PORT/v2/$IMAGE_REPO/blobs/<layer digest> | gzip -d | tar -x -C \$T/floor"
  echo '```'
  echo
  echo "Reproduce: \`RUNS=$RUNS bench/pull.sh\` (as root)."
} >>"$RESULTS_MD"
log "appended results to $RESULTS_MD"
