#!/usr/bin/env bash
# Builds the portable cores (base, wire, subject, client core) with Debian's
# emscripten in a nested build and runs their unit tests under node.
#
#   build_and_test_with_emscripten.sh <source dir> <nested build dir> [--only TARGET]
#
# The nested build dir is reused, so a second run is incremental. Exits
# non-zero if configuring, building or any test fails. With --only TARGET it
# builds just that target and runs no tests (tests/browser uses it to build
# the browser client, embed_browser_core).
# Environment: EMBED_PORTABLE_JOBS (parallel jobs, default: number of cores);
# EM_CACHE is honoured if set.
set -euo pipefail

only_target=""
if [[ $# -eq 4 && $3 == --only ]]; then
  only_target=$4
elif [[ $# -ne 2 ]]; then
  echo "usage: $0 <source dir> <nested build dir> [--only TARGET]" >&2
  exit 2
fi
source_dir=$(cd "$1" && pwd)
build_dir=$2
jobs=${EMBED_PORTABLE_JOBS:-$(nproc 2>/dev/null || echo 2)}

for tool in emcmake em-config em++ node cmake ctest; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: '$tool' not found; install emscripten, nodejs and cmake" >&2
    exit 1
  fi
done

mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)

# One nested build at a time per build dir.
if command -v flock >/dev/null; then
  exec 9>"$build_dir.lock"
  flock 9
fi

# Debian's emscripten runs JS tools (acorn) under node when linking, and they
# find their modules only through NODE_PATH; the tests run under node too.
export NODE_PATH=/usr/share/nodejs

# The nested build must not pick up flags meant for the native build (for
# example sanitizer flags from a CI job).
unset CC CXX CFLAGS CXXFLAGS LDFLAGS CPPFLAGS

# emscripten needs a writable cache unless it is frozen with everything
# prebuilt (Debian freezes it). If the default cache is not writable (not
# root), use a private cache in the build tree seeded with symlinks to the
# prebuilt system libraries, so nothing is rebuilt and anything missing can be.
emscripten_version=$(em++ --version)
emscripten_version=${emscripten_version%%$'\n'*}  # first line
if [[ -z "${EM_CACHE:-}" ]]; then
  default_cache=$(em-config CACHE)
  if [[ ! -w "$default_cache" ]]; then
    export EM_CACHE="$build_dir/emscripten_cache"
    if [[ "$(cat "$EM_CACHE/.seeded" 2>/dev/null)" != "$emscripten_version" ]]; then
      echo "-- emscripten cache $default_cache is not writable; seeding $EM_CACHE"
      rm -rf "$EM_CACHE"
      mkdir -p "$EM_CACHE"
      cp -rs "$default_cache/." "$EM_CACHE/"
      rm -f "$EM_CACHE/cache.lock"  # a symlink to a read-only file; emcc makes its own
      echo "$emscripten_version" >"$EM_CACHE/.seeded"
    fi
  fi
fi
echo "-- $emscripten_version, cache $(em-config CACHE)"

phase_start=$SECONDS
report_phase() {
  echo "-- $1 took $((SECONDS - phase_start)) s"
  phase_start=$SECONDS
}

# Configuring an existing build dir again is cheap and picks up new options.
emcmake cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
report_phase "configure"

if [[ -n "$only_target" ]]; then
  cmake --build "$build_dir" --parallel "$jobs" --target "$only_target"
  report_phase "build of $only_target"
  exit 0
fi

# Everything, including the browser client (embed_browser_core).
cmake --build "$build_dir" --parallel "$jobs"
report_phase "build"

ctest --test-dir "$build_dir" --output-on-failure --no-tests=error --parallel "$jobs"
report_phase "tests"
