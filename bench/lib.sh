# bench/lib.sh — helpers shared by the scripts in bench/ (pull.sh, run.sh, fs.sh,
# network.sh, build.sh, security.sh, system.sh, compose.sh, api.sh).
#
# Sourced (`. "$(dirname "$0")/lib.sh"`) after `set -euo pipefail`; defines
# functions and a few globals, runs nothing else. Each script keeps what is
# its own: knobs, the timed loops, its table and its BENCHMARKS.md section.
#
# Globals set here: BENCH_NAME, SCRIPT_DIR, REPO_ROOT, BERTH, CACHE,
# RESULTS_MD (the last four overridable through the environment: BERTH,
# BENCH_CACHE, RESULTS_MD), PODMAN_OPTS, REG_PID, FAILS, FAILED_ONCE, LAST_RC.
# RL_USER RU RL_TD_NOTE RL_TD_LEFT (rootless; RU set by setup_rootless).
# Set by functions: T (make_scratch), PORT REG REF (serve_layout),
# RL_WRAP RL_PODMAN (setup_rootless),
# B_ROOT B_RUN P_ROOT P_RUN BERTH_CMD PODMAN_CMD (init_tool_roots),
# REV DIRTY (ensure_results_md, set_rev), P_SUBNET + CONTAINERS_CONF
# (podman_subnet_apart).

BENCH_NAME=$(basename "$0")   # prefix of error messages: "pull.sh: error: ..."
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
BERTH=${BERTH:-$REPO_ROOT/target/release/berth}
# Shared by all three scripts: the debootstrap/OCI cache of pull.sh, and the
# last-delete stamp (see wait_inode_aging).
CACHE=${BENCH_CACHE:-/var/tmp/berth-bench}
RESULTS_MD=${RESULTS_MD:-$REPO_ROOT/BENCHMARKS.md}
PODMAN_OPTS=()   # extra podman flags, filled in by probe_podman if needed
REG_PID=""       # our docker-registry, killed by stop_registry

die() { echo "$BENCH_NAME: error: $*" >&2; exit 1; }
log() { echo "==> $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }   # load averages, recorded per section

# ---------------------------------------------------------------- preflight
# Collect every missing tool first, so one run lists them all.
missing=()
need() { # need CMD PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing+=("$1 (apt-get install $2)")
}
need_exe() { # need_exe PATH PACKAGE: a specific binary (GNU time, static busybox)
  [[ -x $1 ]] || missing+=("$1 (apt-get install $2)")
}
check_needs() { # die listing everything need/need_exe found missing
  ((${#missing[@]} == 0)) || die "missing tools:$(printf '\n  - %s' "${missing[@]}")"
}
need_root() { # need_root [WHY]: overlay mounts, podman storage, owners
  [[ $(id -u) -eq 0 ]] || die "must run as root${1:+ ($1)}"
}
need_posint() { # need_posint VAR...: each knob must be a positive integer
  local v
  for v in "$@"; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
  done
}
need_berth() {
  [[ -x $BERTH ]] || die "berth binary not found at $BERTH (build it, or set BERTH=/path/to/berth)"
}
need_bash5() { # the timers use $EPOCHREALTIME
  ((BASH_VERSINFO[0] >= 5)) || die "needs bash >= 5 (EPOCHREALTIME)"
}

# ---------------------------------------------------------------- cleanup
# make_scratch NAME: the run's temp dir T=/var/tmp/berth-NAME-bench.XXXXXX.
# /var/tmp, not /tmp: same filesystem as the storage roots and not tmpfs.
make_scratch() {
  mkdir -p /var/tmp
  T=$(mktemp -d "/var/tmp/berth-$1-bench.XXXXXX")
}

umount_under() { # unmount everything at or below $1, deepest first
  local dir=$1 m
  [[ -e $dir ]] || return 0
  findmnt -rn -o TARGET | awk -v d="$dir" 'index($0, d) == 1' | sort -r |
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "warning: could not unmount $m" >&2
    done
}

stop_registry() { # only the registry this run started (by pid)
  if [[ -n $REG_PID ]] && kill -0 "$REG_PID" 2>/dev/null; then
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
  fi
}

# remove_scratch: unmount and delete $T, stamp the deletion for the next run
# (see wait_inode_aging), and warn about mounts that would not go away.
remove_scratch() {
  umount_under "$T"
  rm -rf "$T"
  # Tell the next bench run (any of the three scripts) that we freed inodes.
  [[ -d $CACHE ]] && date +%s >"$CACHE/last-delete" 2>/dev/null || true
  local left
  left=$(findmnt -rn -o TARGET | grep -F "$T" || true)
  [[ -z $left ]] || { echo "warning: mounts left under $T:" >&2; echo "$left" >&2; }
}

# install_traps: run the script's own cleanup() on every exit; turn ^C and
# TERM into an exit so that cleanup still runs.
install_traps() {
  trap cleanup EXIT
  trap 'echo "$BENCH_NAME: interrupted" >&2; exit 130' INT TERM
}

# ---------------------------------------------------------------- podman config
# The project runs podman with runc and fixed ulimits. Merge those keys into
# /etc/containers/containers.conf idempotently (backup of the original, once,
# to containers.conf.berth-bak).
configure_podman() {
  local conf=/etc/containers/containers.conf
  mkdir -p /etc/containers
  local tmp
  tmp=$(mktemp "$conf.XXXXXX")
  [[ -f $conf ]] || : >"$tmp.orig"
  awk '
    skip { if ($0 ~ /\]/) skip = 0; next }
    /^[[:space:]]*\[[^\]]+\][[:space:]]*(#.*)?$/ {
      s = $0; sub(/^[[:space:]]*\[/, "", s); sub(/\].*$/, "", s); gsub(/[[:space:]]/, "", s)
      sect = s; print
      if (sect == "engine" && !done_rt) { print "runtime = \"runc\""; done_rt = 1 }
      if (sect == "containers" && !done_ul) { print "default_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]"; done_ul = 1 }
      next
    }
    sect == "engine" && /^[[:space:]]*runtime[[:space:]]*=/ { next }
    sect == "containers" && /^[[:space:]]*default_ulimits[[:space:]]*=/ {
      if ($0 !~ /\]/) skip = 1
      next
    }
    { print }
    END {
      if (!done_rt) { print ""; print "[engine]"; print "runtime = \"runc\"" }
      if (!done_ul) { print ""; print "[containers]"; print "default_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]" }
    }
  ' "$( [[ -f $conf ]] && echo "$conf" || echo "$tmp.orig" )" >"$tmp"
  rm -f "$tmp.orig"
  if [[ -f $conf ]] && cmp -s "$tmp" "$conf"; then
    rm -f "$tmp"   # already configured: leave it (and any backup) alone
    return 0
  fi
  # Back up a pre-existing file once, before our first change to it.
  [[ -f $conf && ! -e $conf.berth-bak ]] && cp -a "$conf" "$conf.berth-bak"
  chmod 644 "$tmp"
  mv "$tmp" "$conf"
}

# probe_podman PODMAN-ARGV...: make sure `podman info` works. Without systemd
# podman falls back to cgroupfs and file events by itself; if it does not,
# retry with those flags and keep them in PODMAN_OPTS.
probe_podman() {
  if ! "$@" info >"$T/err" 2>&1; then
    PODMAN_OPTS=(--cgroup-manager cgroupfs --events-backend file)
    "$@" "${PODMAN_OPTS[@]}" info >"$T/err" 2>&1 || { cat "$T/err" >&2; die "podman does not work here"; }
  fi
}

# ---------------------------------------------------------------- image build
# build_busybox_layout DIR: OCI layout with one gzip layer: /bin/busybox
# (from busybox-static) plus symlinks; config Cmd ["/bin/sh"], Env PATH=/bin.
# Deterministic (mtime 0), so run.sh and fs.sh measure the same image.
# Prints "layer_digest compressed_size uncompressed_size".
build_busybox_layout() {
  python3 - "$1" latest <<'EOF'
import gzip, hashlib, io, json, os, sys, tarfile
out, tag = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tf:
    for d in ('bin', 'dev', 'etc', 'proc', 'sys', 'tmp'):
        ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o1777 if d == 'tmp' else 0o755
        tf.addfile(ti)
    ti = tarfile.TarInfo('bin/busybox'); ti.mode = 0o755; ti.size = os.path.getsize('/bin/busybox')
    with open('/bin/busybox', 'rb') as f:
        tf.addfile(ti, f)
    for name in ('sh', 'true', 'sleep', 'echo', 'cat', 'ls'):
        ti = tarfile.TarInfo('bin/' + name); ti.type = tarfile.SYMTYPE; ti.linkname = 'busybox'; ti.mode = 0o777
        tf.addfile(ti)
raw = buf.getvalue()
gz = gzip.compress(raw, 6, mtime=0)
blobs = os.path.join(out, 'blobs', 'sha256')
os.makedirs(blobs, exist_ok=True)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), 'wb') as f:
        f.write(data)
    return 'sha256:' + d, len(data)
dumps = lambda o: json.dumps(o, separators=(',', ':')).encode()
ldig, lsize = put(gz)
created = '1970-01-01T00:00:00Z'
cdig, csize = put(dumps({
    'created': created, 'architecture': 'amd64', 'os': 'linux',
    'config': {'Env': ['PATH=/bin'], 'Cmd': ['/bin/sh']},
    'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + hashlib.sha256(raw).hexdigest()]},
    'history': [{'created': created, 'created_by': 'bench/run.sh: busybox-static + symlinks'}]}))
mdig, msize = put(dumps({
    'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
    'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': cdig, 'size': csize},
    'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': ldig, 'size': lsize}]}))
with open(os.path.join(out, 'oci-layout'), 'w') as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(out, 'index.json'), 'wb') as f:
    f.write(dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
        'manifests': [{'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': mdig,
                       'size': msize, 'annotations': {'org.opencontainers.image.ref.name': tag}}]}))
print(ldig, lsize, len(raw))
EOF
}

# ---------------------------------------------------------------- Debian image
# Used by pull.sh and api.sh: a debootstrap'd Debian bookworm minbase as one
# gzip layer, built once and cached in $CACHE (rootfs/, rootfs.done, oci/,
# oci.done, debootstrap.log); the OCI layout's one manifest is tagged
# "latest". Need debootstrap and jq (MIRROR: default from apt's sources).
apt_mirror() {
  local f uri
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk '
      /^[[:space:]]*#/ { next }
      /^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /debian\/?$/ && $i !~ /security/) { print $i; exit } }
      /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|ftp):\/\// && $i ~ /debian\/?$/ && $i !~ /security/) { print $i; exit } }
    ' "$f")
    [[ -n $uri ]] && { echo "${uri%/}"; return; }
  done
  echo http://deb.debian.org/debian
}

build_rootfs() { # build_rootfs: $CACHE/rootfs, once
  local dir=$CACHE/rootfs
  [[ -f $CACHE/rootfs.done ]] && return 0
  local mirror=${MIRROR:-$(apt_mirror)}
  log "debootstrap --variant=minbase bookworm from $mirror (one-time, cached in $CACHE)"
  umount_under "$dir"
  rm -rf "$dir"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $CACHE/debootstrap.log"
  umount_under "$dir"
  echo "$mirror" >"$CACHE/rootfs.done"
}

build_layout() { # build_layout: $CACHE/oci (+ oci/layer.info: "digest csize usize"), once
  local oci=$CACHE/oci
  [[ -f $CACHE/oci.done ]] && return 0
  log "packing rootfs as one gzip layer + OCI layout"
  rm -rf "$oci" "$oci.tmp"
  mkdir -p "$oci.tmp/blobs/sha256"
  local b=$oci.tmp/blobs/sha256 raw=$oci.tmp/layer.tar
  tar --numeric-owner --xattrs -C "$CACHE/rootfs" -c . >"$raw"
  local diff_id usize
  diff_id=$(sha256sum "$raw" | cut -d' ' -f1)
  usize=$(stat -c %s "$raw")
  gzip -6 -n -c "$raw" >"$oci.tmp/layer.tar.gz"
  rm -f "$raw"
  local ldig lsize
  ldig=$(sha256sum "$oci.tmp/layer.tar.gz" | cut -d' ' -f1)
  lsize=$(stat -c %s "$oci.tmp/layer.tar.gz")
  mv "$oci.tmp/layer.tar.gz" "$b/$ldig"

  local created
  created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  jq -cn --arg d "sha256:$diff_id" --arg c "$created" '{
      created: $c, architecture: "amd64", os: "linux",
      config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["bash"]},
      rootfs: {type: "layers", diff_ids: [$d]},
      history: [{created: $c, created_by: "debootstrap --variant=minbase bookworm"}]
    }' >"$oci.tmp/config.json"
  local cdig csize
  cdig=$(sha256sum "$oci.tmp/config.json" | cut -d' ' -f1)
  csize=$(stat -c %s "$oci.tmp/config.json")
  mv "$oci.tmp/config.json" "$b/$cdig"

  jq -cn --arg cd "sha256:$cdig" --argjson cs "$csize" --arg ld "sha256:$ldig" --argjson ls "$lsize" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]
    }' >"$oci.tmp/manifest.json"
  local mdig msize
  mdig=$(sha256sum "$oci.tmp/manifest.json" | cut -d' ' -f1)
  msize=$(stat -c %s "$oci.tmp/manifest.json")
  mv "$oci.tmp/manifest.json" "$b/$mdig"

  echo '{"imageLayoutVersion":"1.0.0"}' >"$oci.tmp/oci-layout"
  jq -cn --arg md "sha256:$mdig" --argjson ms "$msize" --arg tag latest '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
                   annotations: {"org.opencontainers.image.ref.name": $tag},
                   platform: {architecture: "amd64", os: "linux"}}]
    }' >"$oci.tmp/index.json"
  printf '%s %s %s\n' "sha256:$ldig" "$lsize" "$usize" >"$oci.tmp/layer.info"
  mv "$oci.tmp" "$oci"
  touch "$CACHE/oci.done"
}

# ---------------------------------------------------------------- registry
# A private docker-registry on loopback, data under $T: no network, no
# shared state with other runs or with anything else on the box.
# podman_network_dir CONF: $T/containers.conf, CONF with [network]
# network_config_dir set to $T/podman/networks (made here): this run's
# podman reads its CNI networks from there, not /etc/cni/net.d.
podman_network_dir() {
  mkdir -p "$T/podman/networks"
  awk -v d="$T/podman/networks" '
  /^[[:space:]]*\[/ { sect = $0; sub(/^[[:space:]]*\[/, "", sect); sub(/\].*$/, "", sect); print
    if (sect == "network") { print "network_config_dir = \"" d "\""; done = 1 }; next }
  sect == "network" && /^[[:space:]]*network_config_dir[[:space:]]*=/ { next }
  { print }
  END { if (!done) { print ""; print "[network]"; print "network_config_dir = \"" d "\"" } }
' "$1" >"$T/containers.conf.new"
  mv "$T/containers.conf.new" "$T/containers.conf"
}

free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free TCP port found"
}

start_registry() { # sets PORT, REG (host:port) and REG_PID
  PORT=$(free_port)
  REG=127.0.0.1:$PORT
  mkdir -p "$T/registry"
  cat >"$T/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: $REG
EOF
  docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
  REG_PID=$!
  local i
  for i in $(seq 1 100); do
    if curl -fs -o /dev/null "http://$REG/v2/"; then return 0; fi
    kill -0 "$REG_PID" 2>/dev/null || die "docker-registry exited:$(printf '\n')$(cat "$T/registry.log")"
    sleep 0.1
  done
  die "docker-registry did not come up on $REG:$(printf '\n')$(cat "$T/registry.log")"
}

# serve_layout OCI_DIR TAG REPO: start the registry, make it the (insecure,
# plain HTTP) default registry of the containers tools through a private
# registries.conf (so short names like "busybox" resolve to it and the
# host's /etc/containers/registries.conf is not touched), and push the layout
# there with skopeo. Sets REF=$REG/REPO:TAG.
serve_layout() {
  local oci=$1 tag=$2 repo=$3
  start_registry
  REF=$REG/$repo:$tag
  cat >"$T/registries.conf" <<EOF
unqualified-search-registries = ["$REG"]

[[registry]]
location = "$REG"
insecure = true
EOF
  export CONTAINERS_REGISTRIES_CONF=$T/registries.conf
  log "pushing OCI layout to $REF"
  skopeo copy -q --dest-tls-verify=false "oci:$oci:$tag" "docker://$REF" >"$T/err" 2>&1 ||
    { cat "$T/err" >&2; die "skopeo copy failed"; }
}

# ---------------------------------------------------------------- both tools' roots
# init_tool_roots: fresh berth and podman storage under $T (never the host's
# default stores), and the argv prefixes B and P run.
init_tool_roots() {
  B_ROOT=$T/berth/root B_RUN=$T/berth/run
  P_ROOT=$T/podman/root P_RUN=$T/podman/run
  BERTH_CMD=("$BERTH" --root "$B_ROOT" --runroot "$B_RUN")
  PODMAN_CMD=(podman --root "$P_ROOT" --runroot "$P_RUN" --storage-driver overlay)
}
B() { "${BERTH_CMD[@]}" "$@"; }
P() { "${PODMAN_CMD[@]}" "${PODMAN_OPTS[@]}" "$@"; }

# teardown_tools [BERTH_TIMEOUT_S]: remove all containers of both tools,
# then unmount their storage (rm -rf of $T follows in remove_scratch).
teardown_tools() {
  if [[ -d $B_ROOT ]]; then
    timeout "${1:-300}" "${BERTH_CMD[@]}" rm -f --all >/dev/null 2>"$T/td.err" ||
      { echo "warning: berth rm -f --all failed during cleanup:" >&2; cat "$T/td.err" >&2; }
  fi
  if [[ -d $P_ROOT ]]; then
    timeout 300 "${PODMAN_CMD[@]}" "${PODMAN_OPTS[@]}" rm -f -a -t 0 >/dev/null 2>"$T/td.err" ||
      { echo "warning: podman rm -f -a failed during cleanup:" >&2; cat "$T/td.err" >&2; }
    # (no `podman system reset`: it would also delete the host-wide networks
    # in /etc/containers/networks; unmounting + rm -rf of the root suffices)
  fi
  umount_under "$T/berth"
  umount_under "$T/podman"
}

# pull_into_roots [TOOL...]: pull $REF into the fresh roots of TOOL (berth,
# podman; default both) (setup, untimed).
pull_into_roots() {
  local t
  (($#)) || set -- berth podman
  log "pulling into fresh $* root(s)"
  for t in "$@"; do
    case $t in
      berth) B pull -q "$REF" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; die "berth pull failed: ${BERTH_CMD[*]} pull -q $REF"; } ;;
      podman) P pull -q --tls-verify=false "$REF" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; die "podman pull failed"; } ;;
      *) die "pull_into_roots: unknown tool '$t'" ;;
    esac
  done
}

# podman_subnet_apart: rootful podman 4.3's default network is 10.88.0.0/16,
# which berth's default network (berth0) also takes when no podman0 exists
# at the time it is first set up; two bridges with one subnet break routing.
# If berth's default network has it, give this run's podman a private
# CONTAINERS_CONF ($T/containers.conf: the host's + [network] default_subnet
# = a free 10.N.0.0/16). Call after configure_podman, once berth's default
# network exists. Sets P_SUBNET (for the report). (network.sh does the same
# inline.)
podman_subnet_apart() {
  local taken n
  P_SUBNET="10.88.0.0/16 (podman's default)"
  [[ $(B network inspect berth --format '{{range .Subnets}}{{.Subnet}} {{end}}' 2>/dev/null) == *10.88.* ]] || return 0
  # shellcheck disable=SC2046 # (one word per network name)
  taken=$( { ip -4 route show; B network inspect $(B network ls -q) 2>/dev/null; cat /etc/containers/networks/*.json 2>/dev/null; } || true)
  for ((n = 90; n < 255; n++)); do grep -q "10\.$n\." <<<"$taken" || break; done
  ((n < 255)) || die "no free 10.N.0.0/16 for podman's default network"
  # shellcheck disable=SC2034 # (read by the calling script)
  P_SUBNET="10.$n.0.0/16 (private CONTAINERS_CONF: berth's default network berth0 has 10.88.0.0/16)"
  awk -v s="10.$n.0.0/16" '
    /^[[:space:]]*\[/ { sect = $0; sub(/^[[:space:]]*\[/, "", sect); sub(/\].*$/, "", sect); print
      if (sect == "network") { print "default_subnet = \"" s "\""; done = 1 }; next }
    sect == "network" && /^[[:space:]]*default_subnet[[:space:]]*=/ { next }
    { print }
    END { if (!done) { print ""; print "[network]"; print "default_subnet = \"" s "\"" } }
  ' /etc/containers/containers.conf >"$T/containers.conf"
  export CONTAINERS_CONF=$T/containers.conf
}

# ---------------------------------------------------------------- rootless
# Used by run.sh (section e) and network.sh (b, c): the same tools run as an
# unprivileged user with a subordinate id range, from root via setpriv.
# The dedicated unprivileged user and its private temp dir (setup_rootless).
RL_USER=berth-bench
RU=""

# teardown_rootless: kill both tools' per-user pause processes (pids from
# their pause.pid files), then whatever else the dedicated bench user still
# runs (by pid), unmount anything under $RU (nothing expected: rootless
# overlay mounts live in the pause namespace's mount ns), rm -rf $RU as root
# (rootless storage holds files owned by subordinate ids).
# Sets RL_TD_NOTE (what was killed) and RL_TD_LEFT (problems, empty if none).
RL_TD_NOTE="" RL_TD_LEFT=""
teardown_rootless() {
  [[ -n $RU && -d $RU ]] || return 0
  local f pid killed=() pids alive i uid
  uid=$(id -u "$RL_USER" 2>/dev/null) || uid=""
  for f in "$RU/run/berth/pause.pid" "$RU/run/libpod/tmp/pause.pid"; do
    [[ -f $f ]] || continue
    pid=""
    read -r pid _ <"$f" 2>/dev/null || true   # (no trailing newline in these files)
    [[ $pid =~ ^[1-9][0-9]*$ && -n $uid ]] || continue
    # only if that pid is still a process of the bench user (no pid reuse)
    [[ $(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) == "$uid" ]] || continue
    killed+=("$pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo '?'))")
    kill -KILL "$pid" 2>/dev/null || true
  done
  RL_TD_NOTE="pause processes killed: ${killed[*]:-none}"
  if [[ -n $uid ]]; then
    # everything else the dedicated user still runs (monitors, conmons, ...)
    pids=$(pgrep -u "$uid" 2>/dev/null | tr '\n' ' ' || true)
    alive=$(alive_list $pids | tr '\n' ' ')
    if [[ -n ${alive// /} ]]; then
      RL_TD_NOTE+="; other processes of $RL_USER killed: $(for p in $alive; do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)"
      kill -KILL $alive 2>/dev/null || true
    fi
    for ((i = 0; i < 100; i++)); do
      alive=$(alive_list $(pgrep -u "$uid" 2>/dev/null) | tr '\n' ' ')
      [[ -z ${alive// /} ]] && break
      sleep 0.05
    done
    [[ -z ${alive// /} ]] || RL_TD_LEFT+="processes of $RL_USER still alive after SIGKILL: $alive; "
  fi
  umount_under "$RU"
  rm -rf "$RU" || RL_TD_LEFT+="rm -rf $RU failed; "
  local left
  left=$(findmnt -rn -o TARGET | grep -F "$RU" || true)
  [[ -z $left ]] || RL_TD_LEFT+="mounts left: $(echo "$left" | tr '\n' ' '); "
  [[ ! -e $RU ]] || RL_TD_LEFT+="$RU still exists; "
  RU=""
}

# ensure_bench_user: the user, and a subordinate id range in /etc/subuid and
# /etc/subgid (only if it has no line there: useradd may add one itself).
ensure_bench_user() {
  id -u "$RL_USER" >/dev/null 2>&1 || useradd --create-home "$RL_USER" ||
    die "useradd --create-home $RL_USER failed"
  local f start
  for f in /etc/subuid /etc/subgid; do
    [[ -f $f ]] && grep -q "^$RL_USER:" "$f" && continue
    # first free start >= 300000, after every existing range
    start=$( { [[ -f $f ]] && cat "$f"; true; } | awk -F: -v s=300000 \
      '$2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && $2 + $3 > s { s = $2 + $3 } END { print s }')
    echo "$RL_USER:$start:65536" >>"$f"
    log "    added $RL_USER:$start:65536 to $f"
  done
}

# setup_rootless: the bench user (ensure_bench_user), a fresh 0700 temp dir
# RU owned by it (HOME, XDG dirs, TMPDIR, a copy of $T/registries.conf, a
# containers.conf with runc/cgroupfs/file events/ulimits), and the argv
# prefixes RL_WRAP (setpriv + env -i) and RL_PODMAN run by RB/RP/RW.
setup_rootless() {
  ensure_bench_user
  RU=$(mktemp -d /var/tmp/berth-rootless-bench.XXXXXX)   # mode 0700
  mkdir -p "$RU/home/.config/containers" "$RU/run" "$RU/data" "$RU/tmp" "$RU/podman"
  cp "$T/registries.conf" "$RU/registries.conf"
  cat >"$RU/home/.config/containers/containers.conf" <<'CONF'
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
CONF
  chown -R "$RL_USER:$RL_USER" "$RU"
  chmod 0700 "$RU" "$RU/run"
  RL_WRAP=(setpriv "--reuid=$RL_USER" "--regid=$RL_USER" --init-groups
    env -i -C / PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    "HOME=$RU/home" "USER=$RL_USER" "LOGNAME=$RL_USER"
    "XDG_RUNTIME_DIR=$RU/run" "XDG_DATA_HOME=$RU/data" "XDG_CONFIG_HOME=$RU/home/.config"
    "CONTAINERS_REGISTRIES_CONF=$RU/registries.conf" "TMPDIR=$RU/tmp")
  RL_PODMAN=(podman --root "$RU/podman/root" --runroot "$RU/podman/run" --storage-driver overlay
    --cgroup-manager cgroupfs --events-backend file)
}
RB() { "${RL_WRAP[@]}" "$BERTH" "$@"; }
RP() { "${RL_WRAP[@]}" "${RL_PODMAN[@]}" "$@"; }
RW() { "${RL_WRAP[@]}" true; }

# ---------------------------------------------------------------- small helpers
# ms_stats FILE -> "median p90 n", ms with 1 decimal ("nan nan 0" if empty)
ms_stats() { stats "$1" 1 nan | awk '{ print $1, $2, $5 }'; }
passfail() { # passfail RATIO LIMIT
  isnum "$1" || { echo "n/a"; return; }
  awk -v r="$1" -v l="$2" 'BEGIN { print (r <= l) ? "PASS" : "FAIL" }'
}
# alive_list PIDS... : those still running (zombies awaiting their reaper
# -- whoever inherited the orphaned monitor/conmon -- do not count)
alive_list() {
  local p st
  for p in "$@"; do
    { read -r st <"/proc/$p/stat"; } 2>/dev/null || continue
    st=${st##*) }; st=${st%% *}
    [[ -n $st && $st != Z ]] && echo "$p"
  done
  true
}

# ---------------------------------------------------------------- ext4 inode aging
# Every script deletes thousands of inodes on exit and stamps the time in
# $CACHE/last-delete. On this VM's / (ext4 without a journal) inode
# allocation skips inodes freed in the last 60 s, which made the next run's
# file creation several times slower (details: retire_dir in bench/pull.sh).
# So wait until the previous run's deletes are 65 s old. A stamp further in
# the future than that is bogus and ignored. (The kernel's window is 360 s
# while the freed inode's inode table block is dirty, and creating files
# next to it makes it so: fs/ext4/ialloc.c recently_deleted(). api.sh saw
# its pulls slowed by an rmi 65 s before; see PULL_COLD there.)
wait_inode_aging() {
  [[ -f $CACHE/last-delete ]] || return 0
  local wait_s
  wait_s=$(($(cat "$CACHE/last-delete") + 65 - $(date +%s)))
  if ((wait_s > 0 && wait_s <= 65)); then
    log "waiting ${wait_s}s for a previous bench run's deleted inodes to age out (ext4 no-journal)"
    sleep "$wait_s"
  fi
}

# ---------------------------------------------------------------- failures
# Failures do not abort run.sh/fs.sh: the other tool and sections still get
# measured, and the notes end up in the table output and BENCHMARKS.md.
FAILS=()   # human-readable failure notes, reported at the end
declare -A FAILED_ONCE=()
LAST_RC=0  # exit status of the last command given to timed / note_fail
# note_fail SECTION TOOL CMD... : remember the first failure per section+tool
# (with its stderr, from $T/err); later ones are only counted.
note_fail() {
  local sect=$1 tool=$2; shift 2
  local key=$sect.$tool
  if [[ -n ${FAILED_ONCE[$key]:-} ]]; then FAILED_ONCE[$key]=$((FAILED_ONCE[$key] + 1)); return 0; fi
  FAILED_ONCE[$key]=1
  local err
  err=$(head -c 600 "$T/err" 2>/dev/null | tr '\n' ' ')
  FAILS+=("($sect) $tool: \`$*\` failed (rc $LAST_RC): ${err:-<no stderr>}")
  echo "$BENCH_NAME: ($sect) $tool failed (rc $LAST_RC): $*" >&2
  cat "$T/err" >&2 2>/dev/null || true
}

# timed OUTVAR CMD... : run CMD (stdout -> $T/out, stderr -> $T/err), set
# OUTVAR to its wall time in ms (3 decimals); return CMD's exit status.
timed() {
  local __v=$1; shift
  local s e
  s=$EPOCHREALTIME
  if "$@" >"$T/out" 2>"$T/err"; then LAST_RC=0; else LAST_RC=$?; fi
  e=$EPOCHREALTIME
  printf -v "$__v" '%s' "$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", (e - s) * 1000 }')"
  return "$LAST_RC"
}

# ---------------------------------------------------------------- numbers
# median FILE [COL [EMPTY]]: median of column COL (default 1), unformatted;
# EMPTY (default nan) when the file has no rows.
median() {
  awk -v c="${2:-1}" '{print $c}' "$1" | sort -n | awk -v e="${3:-nan}" '{a[NR]=$1} END {
    if (NR == 0) { print e; exit }
    if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2 }'
}
# stats FILE DECIMALS EMPTY -> "median p90 min max n" (p90: nearest rank),
# numbers with DECIMALS decimals; "EMPTY EMPTY EMPTY EMPTY 0" for no rows.
stats() {
  sort -n "$1" | awk -v d="$2" -v e="$3" '{ a[NR] = $1 } END {
    if (NR == 0) { print e, e, e, e, 0; exit }
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    r = int(0.9 * NR); if (r < 0.9 * NR) r++; if (r < 1) r = 1
    f = "%." d "f"
    printf f " " f " " f " " f " %d\n", m, a[r], a[1], a[NR], NR }'
}
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }" 2>/dev/null || echo nan; }  # calc EXPR [DECIMALS]
isnum() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }
# ratio A B: A/B, or n/a when either is not a number (a tool failed) or B is 0
ratio() { if isnum "$1" && isnum "$2" && positive "$2"; then calc "$1 / $2"; else echo n/a; fi; }

# ---------------------------------------------------------------- BENCHMARKS.md
# ensure_results_md: create $RESULTS_MD with its title if missing, and set
# REV/DIRTY (the commit the numbers belong to, "+dirty" with local changes).
ensure_results_md() {
  if [[ ! -f $RESULTS_MD ]]; then
    printf '# berth benchmarks\n\nResults appended by scripts in `bench/`. Newest last.\n' >"$RESULTS_MD"
  fi
  set_rev
}
# set_rev: REV/DIRTY alone (for a script that only prints its results)
set_rev() {
  REV=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  DIRTY=$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo "+dirty" || true)
}
# section_title TITLE: a section's heading, dated (sections are appended, newest last)
section_title() {
  echo
  echo "## $1 — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
}
# build_info: which commit and binary produced the numbers
build_info() {
  echo "Commit \`$REV$DIRTY\`, binary \`$BERTH\` (built $(date -u -r "$BERTH" '+%Y-%m-%d %H:%M UTC'))"
}
