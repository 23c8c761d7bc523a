#!/usr/bin/env bash
# Runs a command while an Embed RPC service host process serves on a server:
#   with_rpc_host.sh <host binary> <url> -- <command...>
# The host binary takes the URL as its one argument and prints "ready" once
# its services are subscribed; it is killed when the command ends. Exits
# with the command's status (1 if the host does not get ready in 20 s).
set -euo pipefail
host_binary="$1"
url="$2"
shift 2
[[ "${1:-}" == "--" ]] && shift

ready_file="$(mktemp)"
"${host_binary}" "${url}" >"${ready_file}" 2>&1 &
host_pid=$!
trap 'kill -9 "${host_pid}" 2>/dev/null || true; wait "${host_pid}" 2>/dev/null || true; rm -f "${ready_file}"' EXIT

for _ in $(seq 1 200); do
  if grep -q '^ready$' "${ready_file}"; then break; fi
  if ! kill -0 "${host_pid}" 2>/dev/null; then
    echo "with_rpc_host.sh: the host exited: $(cat "${ready_file}")" >&2
    exit 1
  fi
  sleep 0.1
done
if ! grep -q '^ready$' "${ready_file}"; then
  echo "with_rpc_host.sh: the host did not get ready in 20 s" >&2
  exit 1
fi
"$@"
