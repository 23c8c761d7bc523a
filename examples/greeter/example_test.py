#!/usr/bin/env python3
"""ctest `example_greeter`: the greeter example end to end.

    example_test.py --embed <embed> --server <greeter_server> --client <greeter_client>

Starts `embed serve` on an ephemeral port (tests/interop/with_server.py), then
greeter_server against it; once the server says it is serving, runs
greeter_client and checks what it prints. Finally stops greeter_server and the
hub with SIGTERM: both must exit 0.
"""

import argparse
import pathlib
import queue
import signal
import subprocess
import sys
import threading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "interop"))
import with_server  # noqa: E402

TIMEOUT_SECONDS = 30
EXPECTED_CLIENT_OUTPUT = (
    "SayHello: Hello, Ada!\n"
    "SayHelloStream: Hello #1, Ada!\n"
    "SayHelloStream: Hello #2, Ada!\n"
    "SayHelloStream: Hello #3, Ada!\n"
)


def wait_for_line(process, prefix):
    """Returns once `process` prints a line starting with `prefix`; False on exit or timeout."""
    lines = queue.Queue()

    def pump():
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            sys.stderr.write(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=TIMEOUT_SECONDS)
            if line is None:
                return False
            if line.startswith(prefix):
                return True
    except queue.Empty:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embed", required=True, help="the embed executable")
    parser.add_argument("--server", required=True, help="greeter_server")
    parser.add_argument("--client", required=True, help="greeter_client")
    args = parser.parse_args()

    hub = with_server.start_server("embed", args.embed)
    ok = False
    try:
        server = subprocess.Popen([args.server, hub.url], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE)
        try:
            if not wait_for_line(server, "greeter_server: serving"):
                print("example_test: greeter_server did not start", file=sys.stderr)
                return 1
            client = subprocess.run([args.client, hub.url, "Ada"], capture_output=True,
                                    text=True, timeout=TIMEOUT_SECONDS, check=False)
            sys.stderr.write(client.stderr)
            if client.returncode != 0 or client.stdout != EXPECTED_CLIENT_OUTPUT:
                print(f"example_test: greeter_client exited {client.returncode} and printed\n"
                      f"{client.stdout}\nexpected\n{EXPECTED_CLIENT_OUTPUT}", file=sys.stderr)
                return 1
            print(client.stdout, end="")
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.returncode != 0:
            print(f"example_test: greeter_server exited {server.returncode} on SIGTERM",
                  file=sys.stderr)
            return 1
        ok = True
    finally:
        stopped = hub.stop()
    return 0 if ok and stopped else 1


if __name__ == "__main__":
    sys.exit(main())
