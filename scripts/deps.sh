#!/usr/bin/env bash
# Install what berth's build, demo and tests need on Debian 12 (as root).
set -euo pipefail
pkgs=(docker-registry skopeo busybox-static apache2-utils attr uidmap gcc libc6-dev pkg-config curl runc procps libseccomp-dev iproute2 nftables passt slirp4netns podman bats jq netbase man-db python3-venv docker-compose)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo not found: install the Rust toolchain (rustup) first" >&2; exit 1; }
