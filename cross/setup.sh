#!/usr/bin/env bash
# Installs everything cross/release.sh and the cross_arm tests need, on a clean Debian/Ubuntu
# x86-64 machine, without Docker. Idempotent: a second run checks and prints one line per item.
#
#   cross/setup.sh            (also run by cross/release.sh and .ci/cross-setup)
#
# What it installs (versions pinned here):
#   * rustup targets of the pinned toolchain (rust-toolchain.toml): aarch64-unknown-linux-musl,
#     x86_64-unknown-linux-musl, armv7-unknown-linux-gnueabihf
#   * zig from PyPI (`ziglang`) in a private venv, linked as $FLUIDOS_CROSS_HOME/bin/zig
#   * cargo-zigbuild and cargo-deb (`cargo install --locked --version ...`)
#   * apt: gcc-arm-linux-gnueabihf + libc6-dev-armhf-cross (armv7 linker and static glibc),
#     qemu-user (qemu-aarch64, qemu-arm for the tests), python3-venv if python3 cannot make a venv
# Runs as root, or through sudo for apt when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

ZIGLANG_VERSION=0.14.1
CARGO_ZIGBUILD_VERSION=0.24.1
CARGO_DEB_VERSION=3.8.0
RUST_TARGETS=(aarch64-unknown-linux-musl x86_64-unknown-linux-musl armv7-unknown-linux-gnueabihf)

FLUIDOS_CROSS_HOME=${FLUIDOS_CROSS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fluidos-cross}
say() { echo "cross-setup: $*"; }

if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi

# --- apt packages ---------------------------------------------------------------------------
need_apt=()
command -v arm-linux-gnueabihf-gcc >/dev/null 2>&1 || need_apt+=(gcc-arm-linux-gnueabihf)
# glibc headers and libc.a for armv7 (only a Recommends of the compiler package)
[ -f /usr/arm-linux-gnueabihf/lib/libc.a ] || need_apt+=(libc6-dev-armhf-cross)
{ command -v qemu-aarch64 >/dev/null 2>&1 && command -v qemu-arm >/dev/null 2>&1; } || need_apt+=(qemu-user)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ! -x "$FLUIDOS_CROSS_HOME/venv/bin/python" ] && command -v python3 >/dev/null 2>&1 \
  && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  aptlog=$(mktemp)
  { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}"; } \
    >"$aptlog" 2>&1 || { cat "$aptlog" >&2; rm -f "$aptlog"; exit 1; }
  rm -f "$aptlog"
fi
say "apt ok ($(arm-linux-gnueabihf-gcc -dumpversion | head -1) arm-linux-gnueabihf-gcc, $(qemu-aarch64 --version | head -1))"

# --- Rust targets of the pinned toolchain ----------------------------------------------------
command -v rustup >/dev/null 2>&1 || { echo "cross-setup: rustup is required (https://rustup.rs)" >&2; exit 1; }
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install >/dev/null
toolchain=$(rustup show active-toolchain | cut -d' ' -f1)
installed=$(rustup target list --installed)
for t in "${RUST_TARGETS[@]}"; do
  if ! grep -qx "$t" <<<"$installed"; then
    say "rustup target add $t"
    rustup target add "$t" >/dev/null 2>&1 || rustup target add "$t"   # one target per call
  fi
done
say "rust targets ok ($toolchain: ${RUST_TARGETS[*]})"

# --- zig (PyPI ziglang, in a private venv: Debian's system pip refuses global installs) -------
venv="$FLUIDOS_CROSS_HOME/venv"
zig_ok() { [ -x "$FLUIDOS_CROSS_HOME/bin/zig" ] && [ "$("$FLUIDOS_CROSS_HOME/bin/zig" version 2>/dev/null)" = "$ZIGLANG_VERSION" ]; }
if ! zig_ok; then
  say "pip install ziglang==$ZIGLANG_VERSION (venv $venv)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION"
  zigdir=$("$venv/bin/python" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')
  mkdir -p "$FLUIDOS_CROSS_HOME/bin"
  # zig finds its lib/ next to the real executable, so a symlink works.
  ln -sfn "$zigdir/zig" "$FLUIDOS_CROSS_HOME/bin/zig"
fi
zig_ok || { echo "cross-setup: zig $ZIGLANG_VERSION did not install" >&2; exit 1; }
say "zig ok ($FLUIDOS_CROSS_HOME/bin/zig $ZIGLANG_VERSION)"

# --- cargo subcommands ----------------------------------------------------------------------
cargo_tool() { # crate version binary
  local crate=$1 version=$2 bin=$3
  if ! "$bin" --version 2>/dev/null | grep -qF "$version"; then
    say "cargo install --locked $crate@$version (a few minutes, once)"
    # From outside the workspace, with the pinned toolchain named explicitly.
    (cd / && cargo +"$toolchain" install --locked --quiet --version "$version" "$crate")
  fi
  say "$crate ok ($("$bin" --version 2>/dev/null | head -1))"
}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cargo_tool cargo-zigbuild "$CARGO_ZIGBUILD_VERSION" cargo-zigbuild
cargo_tool cargo-deb "$CARGO_DEB_VERSION" cargo-deb
