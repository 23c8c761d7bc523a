#!/usr/bin/env bash
# Builds the browser client (target embed_browser_core, in the nested
# emscripten build that tests/portable uses; incremental, serialised by that
# script's lock) and runs one node check script with
# `--module-dir <dir of embed_client.mjs>` appended to its arguments.
#
#   run_browser_checks.sh <source dir> <nested build dir> <script.mjs> [script args...]
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: $0 <source dir> <nested build dir> <script.mjs> [script args...]" >&2
  exit 2
fi
source_dir=$1
build_dir=$2
shift 2

bash "$source_dir/tests/portable/build_and_test_with_emscripten.sh" "$source_dir" "$build_dir" \
  --only embed_browser_core

exec node "$@" --module-dir "$build_dir/embed/client/browser"
