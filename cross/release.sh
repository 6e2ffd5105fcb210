#!/usr/bin/env bash
# Builds the edge release of fluidos-rs into dist/, without Docker (see cross/README.md):
#
#   dist/fluidos-<version>-<target>.tar.gz   fluidos-agent + fluidos-hub, example configs, units
#   dist/fluidos-agent_<version>-1_<arch>.deb  arm64, armhf, amd64
#   dist/SHA256SUMS
#
# Targets: aarch64 = aarch64-unknown-linux-musl (static, zig linker),
#          x86_64  = x86_64-unknown-linux-musl (static, zig linker),
#          armv7   = armv7-unknown-linux-gnueabihf (static glibc: Debian's arm-linux-gnueabihf-gcc
#                    and -C target-feature=+crt-static; why not musl: cross/README.md).
# Profile: `edge` (root Cargo.toml). Crypto provider: ring on every target.
#
#   cross/release.sh [--targets aarch64,armv7,x86_64] [--agent-only] [--no-setup] [--no-deb]
#
# --agent-only skips the hub (tarballs then hold the agent only); --no-setup skips
# cross/setup.sh (the prerequisites, idempotent, otherwise run first). Binaries are built in
# $CARGO_TARGET_DIR (or target/) under <triple>/edge/; dist/ is emptied first.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=aarch64,armv7,x86_64
agent_only=0 setup=1 debs=1
while [ $# -gt 0 ]; do
  case $1 in
    --targets) targets=$2; shift 2 ;;
    --targets=*) targets=${1#*=}; shift ;;
    --agent-only) agent_only=1; shift ;;
    --no-setup) setup=0; shift ;;
    --no-deb) debs=0; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
[ "$setup" = 1 ] && cross/setup.sh
FLUIDOS_CROSS_HOME=${FLUIDOS_CROSS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fluidos-cross}
export PATH="$FLUIDOS_CROSS_HOME/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Reproducible flags: the environment's RUSTFLAGS would replace the per-target flags below.
if [ -n "${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-}" ]; then
  echo "release.sh: ignoring RUSTFLAGS/CARGO_ENCODED_RUSTFLAGS from the environment" >&2
fi
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

meta=$(cargo metadata --locked --no-deps --format-version 1)
version=$(python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["version"] for p in m["packages"] if p["name"]=="fluidos-agent"))' <<<"$meta")
target_dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' <<<"$meta")
# Timestamps inside the archives: the last commit (stable archive metadata for a given commit).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

triple_of() {
  case $1 in
    aarch64|aarch64-unknown-linux-musl) echo aarch64-unknown-linux-musl ;;
    x86_64|x86_64-unknown-linux-musl) echo x86_64-unknown-linux-musl ;;
    armv7|armv7-unknown-linux-gnueabihf) echo armv7-unknown-linux-gnueabihf ;;
    *) echo "release.sh: unknown target $1 (aarch64, armv7, x86_64)" >&2; exit 2 ;;
  esac
}
deb_arch_of() {
  case $1 in aarch64-*) echo arm64 ;; x86_64-*) echo amd64 ;; armv7-*) echo armhf ;; esac
}
elf_machine_of() { # what the ELF header must say
  case $1 in aarch64-*) echo 183 ;; x86_64-*) echo 62 ;; armv7-*) echo 40 ;; esac
}

# e_machine and "static" (no PT_INTERP program header) of an ELF file.
elf_check() { # file expected_machine
  python3 - "$1" "$2" <<'PY'
import struct, sys
path, want = sys.argv[1], int(sys.argv[2])
b = open(path, "rb").read()
assert b[:4] == b"\x7fELF", f"{path}: not an ELF file"
is64, end = b[4] == 2, "<" if b[5] == 1 else ">"
machine = struct.unpack_from(end + "H", b, 18)[0]
if is64:
    phoff, = struct.unpack_from(end + "Q", b, 32); phentsize, phnum = struct.unpack_from(end + "HH", b, 54)
else:
    phoff, = struct.unpack_from(end + "I", b, 28); phentsize, phnum = struct.unpack_from(end + "HH", b, 42)
types = [struct.unpack_from(end + "I", b, phoff + i * phentsize)[0] for i in range(phnum)]
if machine != want:
    sys.exit(f"{path}: ELF machine {machine}, expected {want}")
if 3 in types:  # PT_INTERP: dynamically linked
    sys.exit(f"{path}: dynamically linked (has an ELF interpreter); the release must be static")
PY
}

# The agent's bundled SQLite without what its outbox (plain tables, WAL) never uses: full-text
# search (FTS3/4/5), R-tree, JSON functions, dbstat, STAT4, soundex, extension loading, the
# deprecated and shared-cache APIs. -U undoes libsqlite3-sys's defaults (its flags come first).
# ~150 KiB less on every target (cross/README.md, "The agent's SQLite"). The hub keeps the default.
AGENT_SQLITE_FLAGS="-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_FTS5 \
-USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_ENABLE_STAT4 -USQLITE_SOUNDEX \
-USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_JSON \
-DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_DEFAULT_MEMSTATUS=0"

build() { # triple package
  local triple=$1 pkg=$2 var
  var=$(tr '[:lower:]-' '[:upper:]_' <<<"$triple")
  echo "== build $pkg for $triple (profile edge)"
  if [ "$pkg" = fluidos-agent ]; then export LIBSQLITE3_FLAGS="$AGENT_SQLITE_FLAGS"; else unset LIBSQLITE3_FLAGS; fi
  case $triple in
    *-musl)
      cargo zigbuild --locked --quiet --profile edge --target "$triple" -p "$pkg" --bin "$pkg" ;;
    armv7-unknown-linux-gnueabihf)
      # zig cannot link glibc statically; Debian's cross gcc can (static glibc, no loader).
      env "CARGO_TARGET_${var}_LINKER=arm-linux-gnueabihf-gcc" \
        "CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc" \
        "AR_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-ar" \
        "CARGO_TARGET_${var}_RUSTFLAGS=-C target-feature=+crt-static" \
        cargo build --locked --quiet --profile edge --target "$triple" -p "$pkg" --bin "$pkg" ;;
  esac
  elf_check "$target_dir/$triple/edge/$pkg" "$(elf_machine_of "$triple")"
}

rm -rf dist
mkdir -p dist/stage
echo "*" > dist/.gitignore
IFS=, read -r -a wanted <<<"$targets"
pkgs=(fluidos-agent)
[ "$agent_only" = 1 ] || pkgs+=(fluidos-hub)
for t in "${wanted[@]}"; do
  triple=$(triple_of "$t")
  for p in "${pkgs[@]}"; do build "$triple" "$p"; done

  name="fluidos-$version-$triple"
  stage="dist/stage/$name"
  mkdir -p "$stage/config" "$stage/systemd"
  for p in "${pkgs[@]}"; do install -m 0755 "$target_dir/$triple/edge/$p" "$stage/"; done
  install -m 0644 config/agent.example.toml config/hub.example.toml "$stage/config/"
  install -m 0644 cross/debian/agent.toml "$stage/config/agent.toml"
  install -m 0644 cross/systemd/fluidos-agent.service "$stage/systemd/"
  [ "$agent_only" = 1 ] || install -m 0644 cross/systemd/fluidos-hub.service "$stage/systemd/"
  install -m 0644 cross/README.md "$stage/README.md"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C dist/stage -cf - "$name" | gzip -9n > "dist/$name.tar.gz"

  if [ "$debs" = 1 ]; then
    echo "== deb fluidos-agent for $(deb_arch_of "$triple")"
    # The binary built above, as is: no rebuild, no second strip (the profile strips).
    cargo deb --locked --quiet --no-build --no-strip --no-dbgsym --no-separate-debug-symbols \
      -p fluidos-agent --profile edge --target "$triple" --output dist/ >/dev/null
  fi
done
rm -rf dist/stage

(cd dist && shopt -s nullglob && sha256sum -- *.tar.gz *.deb > SHA256SUMS)
echo "== dist/ ($(( $(date +%s) - started )) s)"
for t in "${wanted[@]}"; do
  triple=$(triple_of "$t")
  for p in "${pkgs[@]}"; do
    f="$target_dir/$triple/edge/$p"
    printf '  %-14s %-32s %8d bytes  %.2f MiB\n' "$p" "$triple" "$(stat -c %s "$f")" \
      "$(python3 -c "print($(stat -c %s "$f")/1048576)")"
  done
done
(cd dist && shopt -s nullglob && for f in *.tar.gz *.deb; do printf '  %-52s %9d\n' "$f" "$(stat -c %s "$f")"; done)
