#!/usr/bin/env bash
# Build berth, start a loopback registry seeded with a busybox image (pushed
# with skopeo), then pull and list it with berth.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release -q
berth=$PWD/target/release/berth
work=$(mktemp -d /tmp/berth-demo.XXXXXX)
cleanup() { [ -n "${reg_pid:-}" ] && kill "$reg_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

# A one-layer busybox image as an OCI layout, pushed by skopeo.
python3 - "$work" <<'PY'
import hashlib, io, json, os, sys, tarfile, gzip
work = sys.argv[1]
layout = os.path.join(work, "layout")
os.makedirs(os.path.join(layout, "blobs/sha256"))
def blob(b):
    d = hashlib.sha256(b).hexdigest()
    open(os.path.join(layout, "blobs/sha256", d), "wb").write(b)
    return "sha256:" + d
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    for d in ["bin", "etc", "tmp"]:
        i = tarfile.TarInfo(d); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
    data = open("/bin/busybox", "rb").read()
    i = tarfile.TarInfo("bin/busybox"); i.size = len(data); i.mode = 0o755; t.addfile(i, io.BytesIO(data))
    for a in ["sh", "echo", "ls", "cat", "uname"]:
        i = tarfile.TarInfo("bin/" + a); i.type = tarfile.SYMTYPE; i.linkname = "busybox"; t.addfile(i)
tar = buf.getvalue()
gz = gzip.compress(tar, 6)
layer = blob(gz)
config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
    "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
    "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "busybox-static"}]}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": len(gz)}]}).encode()
md = blob(manifest)
open(os.path.join(layout, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(layout, "index.json"), "w").write(json.dumps({"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(manifest),
     "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}))
PY
skopeo copy --quiet --dest-tls-verify=false "oci:$work/layout:latest" "docker://127.0.0.1:$port/busybox:latest"

cat > "$work/registries.conf" <<CONF
unqualified-search-registries = ["127.0.0.1:$port"]
[[registry]]
location = "127.0.0.1:$port"
insecure = true
CONF
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf
b() { echo "+ berth $*" >&2; "$berth" --root "$work/root" --runroot "$work/run" "$@"; }
b pull busybox
b images
b image inspect --format '{{.Id}} {{.Os}}/{{.Architecture}} {{.RootFS.Layers}}' busybox
b run --rm busybox echo "hello from a berth container"
b run --rm busybox uname -a
