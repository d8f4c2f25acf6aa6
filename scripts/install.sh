#!/usr/bin/env bash
# scripts/install.sh — `make install` for berth: the binary, its systemd
# generators (quadlet: links named berth-system-generator and
# berth-user-generator to the one binary), the units of contrib/systemd
# (their ExecStart pointed at the installed binary), the man pages and
# shell completions.
#
# Env: PREFIX (default /usr/local), SYSTEMDDIR (default /usr/lib/systemd,
# where systemd looks for generators and units), DESTDIR (a staging root,
# default none), BERTH (the binary, default target/release/berth).
# Run as root for a real install.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
SYSTEMDDIR=${SYSTEMDDIR:-/usr/lib/systemd}
BIN=${BERTH:-target/release/berth}
D=${DESTDIR:-}
[[ -x $BIN ]] || { echo "install.sh: $BIN is not built: run cargo build --release first" >&2; exit 1; }

install -D -m 0755 "$BIN" "$D$PREFIX/bin/berth"
for kind in system user; do
  install -d "$D$SYSTEMDDIR/$kind-generators" "$D$SYSTEMDDIR/$kind"
  ln -sfn "$PREFIX/bin/berth" "$D$SYSTEMDDIR/$kind-generators/berth-$kind-generator"
  for unit in contrib/systemd/"$kind"/*; do
    sed "s|/usr/local/bin/berth|$PREFIX/bin/berth|g" "$unit" >"$D$SYSTEMDDIR/$kind/${unit##*/}"
    chmod 0644 "$D$SYSTEMDDIR/$kind/${unit##*/}"
  done
done
install -d "$D$PREFIX/share/man/man1"
install -m 0644 man/*.1 "$D$PREFIX/share/man/man1/"
install -d "$D$PREFIX/share/bash-completion/completions" "$D$PREFIX/share/zsh/site-functions" \
  "$D$PREFIX/share/fish/vendor_completions.d"
"$BIN" completion bash >"$D$PREFIX/share/bash-completion/completions/berth"
"$BIN" completion zsh >"$D$PREFIX/share/zsh/site-functions/_berth"
"$BIN" completion fish >"$D$PREFIX/share/fish/vendor_completions.d/berth.fish"
echo "installed berth under ${D:-}$PREFIX (generators and units under ${D:-}$SYSTEMDDIR)"
