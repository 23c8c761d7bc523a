#!/usr/bin/env python3
"""Runs libnats_tls_checks against a NATS server that requires TLS, with certificates made for
this run (make_test_certs, the openssl CLI) in a temporary folder that is removed afterwards.

    tls_interop.py --server nats-server --binary /usr/sbin/nats-server \
        --certs-tool build/.../make_test_certs --checks build/.../libnats_tls_checks [--mutual]
    tls_interop.py --server embed --binary build/tools/embed/embed ... [--mutual]

nats-server gets a `tls { cert_file key_file [ca_file verify] }` block; `embed serve` gets
--tls-cert/--tls-key [--tls-ca --tls-verify]. --mutual requires a client certificate (mTLS).
Exits with the checks' status, or non-zero when a step fails.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import with_server  # noqa: E402  (tests/interop/with_server.py)

# `embed serve` announces tls:// when TLS is on; accept both schemes.
with_server._EMBED_LISTENING = re.compile(
    r"^embed serve: listening on ((?:nats|tls)://[0-9.]+:\d+)\s*$")

CHECKS_TIMEOUT_SECONDS = 120


def make_certs(tool, directory):
    output = subprocess.run([tool, directory], check=True, capture_output=True, text=True,
                            timeout=60).stdout
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def nats_server_config(certs, mutual, directory):
    lines = ["tls {",
             f'  cert_file: "{certs["server_cert"]}"',
             f'  key_file: "{certs["server_key"]}"',
             "  timeout: 2"]
    if mutual:
        lines += [f'  ca_file: "{certs["ca_cert"]}"', "  verify: true"]
    lines.append("}")
    path = os.path.join(directory, "nats-server.conf")
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    return ["-c", path]


def embed_flags(certs, mutual):
    flags = ["--tls-cert", certs["server_cert"], "--tls-key", certs["server_key"]]
    if mutual:
        flags += ["--tls-ca", certs["ca_cert"], "--tls-verify"]
    return flags


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, choices=["nats-server", "embed"])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--certs-tool", required=True)
    parser.add_argument("--checks", required=True)
    parser.add_argument("--mutual", action="store_true")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="embed_libnats_tls_")
    try:
        try:
            certs = make_certs(args.certs_tool, directory)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            print(f"tls_interop: cannot make certificates: {error} {error.stderr}",
                  file=sys.stderr)
            return 2
        extra = (nats_server_config(certs, args.mutual, directory)
                 if args.server == "nats-server" else embed_flags(certs, args.mutual))
        try:
            server = with_server.start_server(args.server, args.binary, extra)
        except RuntimeError as error:
            print(f"tls_interop: {error}", file=sys.stderr)
            return 2
        # The checks choose TLS themselves (natsOptions_SetSecure), so they get a nats:// URL:
        # with tls:// libnats would ask for TLS even in the plaintext-client check.
        url = re.sub(r"^tls://", "nats://", server.url)
        print(f"tls_interop: {args.server} is listening on {url} with TLS"
              f"{' (mutual)' if args.mutual else ''}", file=sys.stderr, flush=True)
        command = [args.checks, url, certs["ca_cert"], certs["other_ca_cert"]]
        if args.mutual:
            command += [certs["client_cert"], certs["client_key"]]
        status = 1
        try:
            try:
                status = subprocess.run(command, timeout=CHECKS_TIMEOUT_SECONDS,
                                        check=False).returncode
            except subprocess.TimeoutExpired:
                print(f"tls_interop: checks timed out after {CHECKS_TIMEOUT_SECONDS}s",
                      file=sys.stderr)
            if server.process.poll() is not None:
                print(f"tls_interop: {args.server} died during the run "
                      f"(status {server.process.returncode})", file=sys.stderr)
                status = status or 1
        finally:
            if not server.stop():
                status = status or 1
        return status
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
