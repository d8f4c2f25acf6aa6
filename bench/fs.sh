#!/usr/bin/env bash
# bench/fs.sh — filesystem-heavy commands: berth vs podman (runc).
#
# Same setup as bench/run.sh (tiny busybox OCI image served from a loopback
# docker-registry, pulled into fresh berth and podman roots), then measures,
# RUNS timed runs per tool (after WARMUP untimed ones), tools alternating:
#   1. `cp HOSTTREE cpN:/data`   into a freshly created container
#      (HOSTTREE: NDIRS dirs x NFILES files of FILE_KB KiB from /dev/urandom,
#      generated once)
#   2. `cp cpN:/data HOSTDEST`   out of a container holding that tree (the
#      containers of step 1, whose copy-in was verified), fresh HOSTDEST
#   3. `commit cmN imgN`         of an exited container that wrote COMMIT_MB
#      MiB of random data to /big
# Each timed command is preceded by an untimed `sync`, and followed by a
# separately timed `sync` (reported as "flush after": dirty data the tool left
# for the kernel to write back).
# Correctness, untimed: after cp-in, `mount` the container and check the file
# count and one file's sha256; after cp-out, compare the sha256 manifest of
# HOSTDEST with HOSTTREE's; after commit, `run --rm imgN busybox sha256sum /big`
# against the sum the container printed when writing it.
# Prints a table and appends a dated section to BENCHMARKS.md.
#
# Env: RUNS (default 5), WARMUP (default 1), NDIRS (20), NFILES (100 per dir),
#      FILE_KB (100), COMMIT_MB (100),
#      BENCH_CACHE (default /var/tmp/berth-bench, shared with run.sh/pull.sh),
#      BERTH (default <repo>/target/release/berth),
#      RESULTS_MD (default <repo>/BENCHMARKS.md).
# Must run as root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
NDIRS=${NDIRS:-20}
NFILES=${NFILES:-100}
FILE_KB=${FILE_KB:-100}
COMMIT_MB=${COMMIT_MB:-100}

# ---------------------------------------------------------------- preflight
need_root
need_posint RUNS NDIRS NFILES FILE_KB COMMIT_MB
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer (got '$WARMUP')"
need docker-registry docker-registry
need skopeo skopeo
need podman podman
need runc runc
need python3 python3
need curl curl
need findmnt util-linux
need sha256sum coreutils
need_exe /bin/busybox busybox-static
check_needs
need_berth
need_bash5
for a in dd sha256sum find wc; do
  /bin/busybox --list 2>/dev/null | grep -qx "$a" || die "/bin/busybox lacks '$a' (need a full busybox-static)"
done

# ---------------------------------------------------------------- cleanup
# Nothing is deleted until exit: containers, images and HOSTDEST copies all
# stay (on this no-journal ext4, / of this VM, inode allocation scans past
# inodes freed in the last 60 s -- see bench/pull.sh -- so deleting between
# runs would slow the next ones). Everything goes in one rm -rf at the end.
make_scratch fs
init_tool_roots

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  teardown_tools || true
  stop_registry
  remove_scratch
  [[ ! -e $T ]] || echo "warning: $T still exists" >&2
  exit "$rc"
}
install_traps

# ---------------------------------------------------------------- helpers
tool_cmd() { if [[ $1 == berth ]]; then echo B; else echo P; fi; }
cmdstr() { if [[ $1 == berth ]]; then echo "${BERTH_CMD[*]}"; else echo "${PODMAN_CMD[*]}${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}"; fi; }

# note_bad SECTION TOOL MESSAGE : a wrong result (command succeeded)
note_bad() {
  local key=$1.$2.bad
  if [[ -n ${FAILED_ONCE[$key]:-} ]]; then FAILED_ONCE[$key]=$((FAILED_ONCE[$key] + 1)); return 0; fi
  FAILED_ONCE[$key]=1
  FAILS+=("($1) $2: $3")
  echo "fs.sh: ($1) $2: $3" >&2
}

# timed OUTVAR CMD... : run CMD (stdout -> $T/out, stderr -> $T/err) under
# GNU time (peak RSS -> $T/rss, KiB), set OUTVAR to its wall time in seconds
# (4 decimals); return CMD's exit status.
timed() {
  local __v=$1; shift
  local __s __e
  # (B / P are shell functions; GNU time needs the real argv)
  local argv=("$@")
  case $1 in
    B) argv=("${BERTH_CMD[@]}" "${@:2}") ;;
    P) argv=("${PODMAN_CMD[@]}" "${PODMAN_OPTS[@]}" "${@:2}") ;;
  esac
  __s=$EPOCHREALTIME
  if /usr/bin/time -f %M -o "$T/rss" "${argv[@]}" >"$T/out" 2>"$T/err"; then LAST_RC=0; else LAST_RC=$?; fi
  __e=$EPOCHREALTIME
  printf -v "$__v" '%s' "$(awk -v s="$__s" -v e="$__e" 'BEGIN { printf "%.4f", e - s }')"
  return "$LAST_RC"
}
# time_sync OUTVAR : wall time of a plain `sync` (seconds)
time_sync() {
  local __s=$EPOCHREALTIME
  sync
  printf -v "$1" '%s' "$(awk -v s="$__s" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.4f", e - s }')"
}

# s_stats FILE -> "median min max n" (seconds, 2 decimals; "n/a n/a n/a 0" if empty)
s_stats() { stats "$1" 2 n/a | awk '{ print $1, $3, $4, $5 }'; }
med_raw() { median "$1" 1 n/a; }   # median of a file's numbers, unformatted
mbps() { if isnum "$2" && positive "$2"; then calc "$1 / $2" 0; else echo n/a; fi; }
rss_mb() { if isnum "$1"; then calc "$1 / 1024" 0; else echo n/a; fi; }

# manifest DIR -> sorted "sha256  ./relpath" lines of all regular files
manifest() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

# ================================================================= setup
START=$(date +%s)
LOAD_BEFORE=$(load)
configure_podman
log "building busybox OCI layout"
read -r LAYER_DIGEST LAYER_SIZE LAYER_USIZE < <(build_busybox_layout "$T/oci")

serve_layout "$T/oci" latest busybox
# podman stages blobs (and commit's layer diffs) in $TMPDIR; keep that inside $T.
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp

probe_podman "${PODMAN_CMD[@]}"
pull_into_roots
IMG=busybox

# ---- host tree: NDIRS x NFILES files of FILE_KB KiB, random data
TREE=$T/hosttree
log "generating host tree: $NDIRS dirs x $NFILES files x $FILE_KB KiB from /dev/urandom"
python3 - "$TREE" "$NDIRS" "$NFILES" "$FILE_KB" <<'EOF'
import os, sys
root, nd, nf, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open('/dev/urandom', 'rb') as rnd:
    for d in range(nd):
        dp = os.path.join(root, 'd%02d' % d)
        os.makedirs(dp)
        for f in range(nf):
            with open(os.path.join(dp, 'f%04d' % f), 'wb') as out:
                out.write(rnd.read(kb * 1024))
EOF
NTOTAL=$((NDIRS * NFILES))
TREE_MB=$(calc "$NTOTAL * $FILE_KB / 1024" 1)
manifest "$TREE" >"$T/tree.sha"
# one file to check inside the containers after cp-in
PROBE_REL=d$(printf '%02d' $((NDIRS / 2)))/f$(printf '%04d' $((NFILES / 2)))
PROBE_SUM=$(sha256sum "$TREE/$PROBE_REL" | cut -d' ' -f1)
TREE_DU=$(du -sm "$TREE" | cut -f1)
sync

# previous bench runs free many inodes on exit; on this no-journal ext4 every
# file created in the next 60 s pays for skipping them. Wait that out.
wait_inode_aging

order() { if (($1 % 2)); then echo berth podman; else echo podman berth; fi; }
K=$((RUNS + WARMUP))

# ================================================================= 1. cp in
log "(1) cp HOSTTREE cpN:/data: $RUNS timed runs per tool (+$WARMUP warm-up), alternating"
LOAD_1=$(load)
for tool in berth podman; do : >"$T/1.$tool"; : >"$T/1s.$tool"; : >"$T/1m.$tool"; done
declare -A HAS_TREE=()   # "tool.i" -> 1 when container cp$i verifiably holds the tree
declare -A CHK1=([berth]=0 [podman]=0)
check_cp_in() { # check_cp_in TOOL I : mount, count files, hash one, unmount
  local tool=$1 i=$2 T_=$(tool_cmd "$1") mp n sum ok=1
  mp=$($T_ mount "cp$i" 2>"$T/err") ||
    { LAST_RC=$?; note_fail 1-check "$tool" "$(cmdstr "$tool") mount cp$i"; return 1; }
  mp=$(echo "$mp" | tail -n1)
  n=$(find "$mp/data" -type f 2>/dev/null | wc -l)
  sum=$(sha256sum "$mp/data/$PROBE_REL" 2>/dev/null | cut -d' ' -f1 || true)
  if [[ $n != "$NTOTAL" || $sum != "$PROBE_SUM" ]]; then
    note_bad 1-check "$tool" "after \`$(cmdstr "$tool") cp HOSTTREE cp$i:/data\`: $n files under /data (want $NTOTAL), sha256 of /data/$PROBE_REL ${sum:-<missing>} (want $PROBE_SUM); top of /data: $(ls "$mp/data" 2>&1 | head -n3 | tr '\n' ' ')"
    ok=0
  fi
  $T_ unmount "cp$i" >/dev/null 2>"$T/err" || { LAST_RC=$?; note_fail 1-check "$tool" "$(cmdstr "$tool") unmount cp$i"; }
  ((ok))
}
for ((i = 1; i <= K; i++)); do
  for tool in $(order "$i"); do
    T_=$(tool_cmd "$tool")
    $T_ create --name "cp$i" "$IMG" true >/dev/null 2>"$T/err" ||
      { LAST_RC=$?; note_fail 1 "$tool" "$(cmdstr "$tool") create --name cp$i $IMG true"; continue; }
    sync
    if timed s $T_ cp "$TREE" "cp$i:/data"; then
      rss=$(tail -n1 "$T/rss")
      time_sync fs
      if ((i > WARMUP)); then echo "$s" >>"$T/1.$tool"; echo "$fs" >>"$T/1s.$tool"; echo "$rss" >>"$T/1m.$tool"; fi
      if check_cp_in "$tool" "$i"; then HAS_TREE[$tool.$i]=1; CHK1[$tool]=$((CHK1[$tool] + 1)); fi
    else
      note_fail 1 "$tool" "$(cmdstr "$tool") cp $TREE cp$i:/data"
    fi
  done
done
read -r M1B MIN1B MAX1B N1B < <(s_stats "$T/1.berth")
read -r M1P MIN1P MAX1P N1P < <(s_stats "$T/1.podman")
log "    cp in: berth median ${M1B}s | podman ${M1P}s | ratio $(ratio "$M1B" "$M1P")"

# ================================================================= 2. cp out
# Source: the containers of (1) (tree copied in, untimed here, and verified).
log "(2) cp cpN:/data HOSTDEST: $RUNS timed runs per tool (+$WARMUP warm-up), alternating"
LOAD_2=$(load)
for tool in berth podman; do : >"$T/2.$tool"; : >"$T/2s.$tool"; : >"$T/2m.$tool"; done
declare -A CHK2=([berth]=0 [podman]=0)
mkdir -p "$T/dest"
for ((i = 1; i <= K; i++)); do
  for tool in $(order "$i"); do
    T_=$(tool_cmd "$tool")
    if [[ -z ${HAS_TREE[$tool.$i]:-} ]]; then
      note_bad 2 "$tool" "no source container: cp$i does not hold the tree (see (1))"
      continue
    fi
    dest=$T/dest/$tool.$i   # must not exist: becomes the copy of /data
    sync
    if timed s $T_ cp "cp$i:/data" "$dest"; then
      rss=$(tail -n1 "$T/rss")
      time_sync fs
      if ((i > WARMUP)); then echo "$s" >>"$T/2.$tool"; echo "$fs" >>"$T/2s.$tool"; echo "$rss" >>"$T/2m.$tool"; fi
      if [[ -d $dest ]] && manifest "$dest" | cmp -s - "$T/tree.sha"; then
        CHK2[$tool]=$((CHK2[$tool] + 1))
      else
        note_bad 2 "$tool" "after \`$(cmdstr "$tool") cp cp$i:/data $dest\`: sha256 manifest differs from HOSTTREE's ($(find "$dest" -type f 2>/dev/null | wc -l) files, want $NTOTAL; top: $(ls "$dest" 2>&1 | head -n3 | tr '\n' ' '))"
      fi
    else
      note_fail 2 "$tool" "$(cmdstr "$tool") cp cp$i:/data $dest"
    fi
  done
done
read -r M2B MIN2B MAX2B N2B < <(s_stats "$T/2.berth")
read -r M2P MIN2P MAX2P N2P < <(s_stats "$T/2.podman")
log "    cp out: berth median ${M2B}s | podman ${M2P}s | ratio $(ratio "$M2B" "$M2P")"

# ================================================================= 3. commit
log "(3) commit of an exited container with $COMMIT_MB MiB written: $RUNS timed runs per tool (+$WARMUP warm-up), alternating"
LOAD_3=$(load)
for tool in berth podman; do : >"$T/3.$tool"; : >"$T/3s.$tool"; : >"$T/3m.$tool"; done
declare -A CHK3=([berth]=0 [podman]=0)
WRITE_SH="busybox dd if=/dev/urandom of=/big bs=1M count=$COMMIT_MB 2>/dev/null && busybox sha256sum /big"
for ((i = 1; i <= K; i++)); do
  for tool in $(order "$i"); do
    T_=$(tool_cmd "$tool")
    $T_ run --name "cm$i" --network none "$IMG" sh -c "$WRITE_SH" >"$T/out" 2>"$T/err" ||
      { LAST_RC=$?; note_fail 3 "$tool" "$(cmdstr "$tool") run --name cm$i --network none $IMG sh -c '$WRITE_SH'"; continue; }
    want=$(awk 'NR == 1 { print $1 }' "$T/out")
    sync
    if timed s $T_ commit "cm$i" "img$i"; then
      rss=$(tail -n1 "$T/rss")
      time_sync fs
      if ((i > WARMUP)); then echo "$s" >>"$T/3.$tool"; echo "$fs" >>"$T/3s.$tool"; echo "$rss" >>"$T/3m.$tool"; fi
      if $T_ run --rm --network none "img$i" busybox sha256sum /big >"$T/out" 2>"$T/err"; then LAST_RC=0; else LAST_RC=$?; fi
      if ((LAST_RC == 0)); then
        got=$(awk 'NR == 1 { print $1 }' "$T/out")
        if [[ -n $want && $got == "$want" ]]; then
          CHK3[$tool]=$((CHK3[$tool] + 1))
        else
          note_bad 3 "$tool" "\`$(cmdstr "$tool") run --rm img$i busybox sha256sum /big\` gave '${got:-<nothing>}', the container wrote '${want:-<nothing>}'"
        fi
      else
        note_fail 3-check "$tool" "$(cmdstr "$tool") run --rm --network none img$i busybox sha256sum /big"
      fi
    else
      note_fail 3 "$tool" "$(cmdstr "$tool") commit cm$i img$i"
    fi
  done
done
read -r M3B MIN3B MAX3B N3B < <(s_stats "$T/3.berth")
read -r M3P MIN3P MAX3P N3P < <(s_stats "$T/3.podman")
log "    commit: berth median ${M3B}s | podman ${M3P}s | ratio $(ratio "$M3B" "$M3P")"

# image sizes as each tool reports them (last committed image), MB
img_mb() {
  local v
  v=$("$@" 2>/dev/null | head -n1 || true)
  if [[ $v =~ ^[0-9]+$ ]]; then calc "$v / 1000000" 1; else echo "${v:-?}"; fi
}
B_IMGSZ=$(img_mb B inspect --type image --format '{{.Size}}' "img$K")
P_IMGSZ=$(img_mb P inspect --type image --format '{{.Size}}' "img$K")

# ================================================================= teardown
log "removing all containers and storage"
LOAD_END=$(load)
DU_B=$(du -sm "$B_ROOT" 2>/dev/null | cut -f1 || echo '?')
DU_P=$(du -sm "$P_ROOT" 2>/dev/null | cut -f1 || echo '?')
teardown_tools
LEAK=$(findmnt -rn -o TARGET | grep -F "$T" || true)
[[ -z $LEAK ]] || FAILS+=("mounts left under \$T after teardown: $(echo "$LEAK" | tr '\n' ' ')")
ELAPSED=$(($(date +%s) - START))

# ================================================================= report
row() { # row LABEL PREFIX(1|2|3) MB
  local n=$2 mb=$3 mb_b mb_p
  local mB=M${n}B mP=M${n}P loB=MIN${n}B hiB=MAX${n}B loP=MIN${n}P hiP=MAX${n}P nB=N${n}B nP=N${n}P
  echo "| $1 median s (n = ${!nB} / ${!nP}) | ${!mB} | ${!mP} | $(ratio "${!mB}" "${!mP}") |"
  echo "| ↳ min–max s | ${!loB}–${!hiB} | ${!loP}–${!hiP} | – |"
  if [[ -n $mb ]]; then
    mb_b=$(mbps "$mb" "$(med_raw "$T/$n.berth")"); mb_p=$(mbps "$mb" "$(med_raw "$T/$n.podman")")
    echo "| ↳ throughput MiB/s (at the median) | $mb_b | $mb_p | – |"
  fi
  local fb fp rb rp
  fb=$(med_raw "$T/${n}s.berth"); fp=$(med_raw "$T/${n}s.podman")
  isnum "$fb" && fb=$(calc "$fb" 2); isnum "$fp" && fp=$(calc "$fp" 2)
  echo "| ↳ \`sync\` right after (dirty data left behind), median s | $fb | $fp | – |"
  rb=$(rss_mb "$(med_raw "$T/${n}m.berth")"); rp=$(rss_mb "$(med_raw "$T/${n}m.podman")")
  echo "| ↳ peak RSS of the CLI (GNU time %M), median MB | $rb | $rp | $(ratio "$rb" "$rp") |"
}
TABLE=$(
  echo "| metric | berth | podman | berth/podman |"
  echo "|---|---|---|---|"
  row "1. \`cp HOSTTREE cpN:/data\` ($NTOTAL files, $TREE_MB MiB) into a created container," 1 "$TREE_MB"
  echo "| ↳ verified (mount: file count + 1 sha256) | ${CHK1[berth]}/$K | ${CHK1[podman]}/$K | – |"
  row "2. \`cp cpN:/data HOSTDEST\` ($NTOTAL files, $TREE_MB MiB) out of a created container," 2 "$TREE_MB"
  echo "| ↳ verified (sha256 manifest of all files) | ${CHK2[berth]}/$K | ${CHK2[podman]}/$K | – |"
  row "3. \`commit cmN imgN\`, exited container with $COMMIT_MB MiB written," 3 "$COMMIT_MB"
  echo "| ↳ verified (\`run --rm imgN busybox sha256sum /big\`) | ${CHK3[berth]}/$K | ${CHK3[podman]}/$K | – |"
  echo "| (info) last committed image, \`inspect --format {{.Size}}\`, MB | ${B_IMGSZ:-?} | ${P_IMGSZ:-?} | – |"
  echo "| (info) storage root size at the end (du -sm), MB | $DU_B | $DU_P | – |"
)
echo
echo "$TABLE"
echo
echo "total ${ELAPSED}s; load: start $LOAD_BEFORE, (1) $LOAD_1, (2) $LOAD_2, (3) $LOAD_3, end $LOAD_END"
if ((${#FAILS[@]})); then
  echo "FAILURES / WRONG RESULTS:"; printf '  - %s\n' "${FAILS[@]}"
  for k in "${!FAILED_ONCE[@]}"; do
    ((FAILED_ONCE[$k] > 1)) && echo "  ($k: ${FAILED_ONCE[$k]} times in all)" || true
  done
fi

ensure_results_md
{
  section_title "Filesystem commands (cp in / cp out / commit)"
  echo "Load average (1/5/15 min): start $LOAD_BEFORE; before (1) $LOAD_1; before (2) $LOAD_2; before (3) $LOAD_3; end $LOAD_END (other jobs on the box skew timings)."
  echo "$(build_info), $(podman --version) with runc ($(runc --version | head -n1)), $(nproc) CPUs, kernel $(uname -r), $(findmnt -n -o FSTYPE --target "$T" 2>/dev/null || echo '?') under /var/tmp."
  echo "Image: bench/run.sh's busybox-static image, pushed to a local \`docker-registry\`, pulled into fresh roots (podman: \`--storage-driver overlay\`, runc)."
  echo "Host tree: $NDIRS dirs × $NFILES files × $FILE_KB KiB from /dev/urandom ($TREE_MB MiB, page-cached). $RUNS timed runs per tool after $WARMUP untimed warm-up, tools alternated;"
  echo "an untimed \`sync\` before each timed command; wall time from bash \`\$EPOCHREALTIME\` around the command only (the \`sync\` right after is timed separately)."
  echo "Nothing is deleted until the end (no-journal ext4 inode-reuse delay, see bench/pull.sh). (2) copies out of the containers of (1). Whole script took ${ELAPSED}s."
  echo
  echo "$TABLE"
  echo
  if ((${#FAILS[@]})); then
    echo "Failures / wrong results:"
    echo
    printf -- '- %s\n' "${FAILS[@]}"
    echo
  fi
  echo "Commands:"
  echo
  echo '```'
  echo "B='berth --root \$T/berth/root --runroot \$T/berth/run'"
  echo "P='podman --root \$T/podman/root --runroot \$T/podman/run --storage-driver overlay${PODMAN_OPTS[*]:+ ${PODMAN_OPTS[*]}}'"
  echo "(1) \$B create --name cpN busybox true; sync; [timed] \$B cp \$T/hosttree cpN:/data      / same with \$P"
  echo "    check: \$B mount cpN; find MNT/data -type f | wc -l; sha256sum MNT/data/$PROBE_REL; \$B unmount cpN"
  echo "(2) sync; [timed] \$B cp cpN:/data \$T/dest/berth.N   (fresh dest)            / same with \$P"
  echo "    check: sha256 manifest of \$T/dest/berth.N == that of \$T/hosttree"
  echo "(3) \$B run --name cmN --network none busybox sh -c '$WRITE_SH'; sync; [timed] \$B commit cmN imgN   / same with \$P"
  echo "    check: \$B run --rm --network none imgN busybox sha256sum /big"
  echo '```'
  echo
  echo "Reproduce: \`RUNS=$RUNS WARMUP=$WARMUP NDIRS=$NDIRS NFILES=$NFILES FILE_KB=$FILE_KB COMMIT_MB=$COMMIT_MB bench/fs.sh\` (as root)."
} >>"$RESULTS_MD"
log "appended results to $RESULTS_MD"
