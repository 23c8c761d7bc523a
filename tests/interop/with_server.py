#!/usr/bin/env python3
"""Starts a NATS-protocol server on 127.0.0.1 with an ephemeral port, runs a command against it,
then stops the server.

    with_server.py --server nats-server --binary /usr/sbin/nats-server -- prog {url}
    with_server.py --server embed --binary build/tools/embed/embed -- node checks.mjs {url}

`{url}` in the command is replaced by the server's URL ("nats://127.0.0.1:<port>"), which is also
exported as NATS_URL. With --websocket the server also listens for WebSocket clients (no TLS) on
another ephemeral port; `{ws_url}` is replaced by that URL ("ws://127.0.0.1:<port>"), also exported
as NATS_WS_URL. The server's port is the one it reports after binding (nats-server's log
line, `embed serve`'s "listening on" line), so there is no race for a free port. Exits with the
command's status, or non-zero when the server fails to start or (for embed) to stop cleanly.

As a module, `start_server()` gives bench/run.py the same servers with their pids.
"""

import argparse
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading

STARTUP_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15

# nats-server 2.9: "[INF] Listening for client connections on 127.0.0.1:39113"
_NATS_SERVER_LISTENING = re.compile(r"Listening for client connections on ([0-9.]+):(\d+)")
# embed serve --port 0: "embed serve: listening on nats://127.0.0.1:39113"
_EMBED_LISTENING = re.compile(r"^embed serve: listening on (nats://[0-9.]+:\d+)\s*$")
# nats-server 2.9: "[INF] Listening for websocket clients on ws://127.0.0.1:39114"
_NATS_SERVER_WEBSOCKET = re.compile(r"Listening for websocket clients on (ws://[0-9.]+:\d+)")
# embed serve --ws-port 0: "embed serve: websocket on ws://127.0.0.1:39114"
_EMBED_WEBSOCKET = re.compile(r"^embed serve: websocket on (ws://[0-9.]+:\d+)\s*$")
# nats-server takes WebSocket settings only from a configuration file.
_NATS_SERVER_WEBSOCKET_CONFIG = "websocket {\n  host: 127.0.0.1\n  port: -1\n  no_tls: true\n}\n"


class ServerProcess:
    """A running server: its kind, URL and process. stop() ends it."""

    def __init__(self, kind, process, url, ws_url=None, config_dir=None):
        self.kind = kind
        self.process = process
        self.url = url
        self.ws_url = ws_url  # set when started with websocket=True
        self._config_dir = config_dir

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        """Sends SIGTERM and waits; returns True when the server stopped as it should."""
        if self._config_dir is not None:
            self._config_dir.cleanup()
            self._config_dir = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                print(f"with_server: {self.kind} ignored SIGTERM for "
                      f"{STOP_TIMEOUT_SECONDS}s; killing it", file=sys.stderr)
                self.process.kill()
                self.process.wait()
                return False
        # nats-server exits 1 on SIGTERM by design; `embed serve` must exit 0.
        if self.kind == "embed" and self.process.returncode != 0:
            print(f"with_server: embed serve exited with {self.process.returncode}",
                  file=sys.stderr)
            return False
        return True


def _pump_lines(stream, lines, echo):
    """Forwards every line of `stream` into the queue (and to `echo`), until EOF."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        lines.put(line)
        if echo is not None:
            echo.write(line)
            echo.flush()
    lines.put(None)


def start_server(kind, binary, extra_args=(), quiet=False, websocket=False):
    """Starts `kind` ("nats-server" or "embed") from `binary`; returns a ServerProcess.

    Raises RuntimeError when the server exits or prints no URL within the startup timeout.
    With quiet=True the server's log is discarded once it is up (benchmarks). With
    websocket=True it also listens for WebSocket clients (ServerProcess.ws_url).
    """
    config_dir = None
    ws_pattern = None
    if kind == "nats-server":
        command = [binary, "-a", "127.0.0.1", "-p", "-1", *extra_args]
        pattern = _NATS_SERVER_LISTENING
        if websocket:
            config_dir = tempfile.TemporaryDirectory(prefix="with_server_")
            config = os.path.join(config_dir.name, "websocket.conf")
            with open(config, "w", encoding="utf-8") as out:
                out.write(_NATS_SERVER_WEBSOCKET_CONFIG)
            command += ["-c", config]
            ws_pattern = _NATS_SERVER_WEBSOCKET
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        announcements = process.stderr
    elif kind == "embed":
        command = [binary, "serve", "--host", "127.0.0.1", "--port", "0", *extra_args]
        pattern = _EMBED_LISTENING
        if websocket:
            command += ["--ws-port", "0"]
            ws_pattern = _EMBED_WEBSOCKET
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL if quiet else None)
        announcements = process.stdout
    else:
        raise ValueError(f"unknown server kind {kind!r}")

    lines = queue.Queue()
    echo = None if quiet else sys.stderr
    threading.Thread(target=_pump_lines, args=(announcements, lines, echo), daemon=True).start()
    url = None
    ws_url = None
    try:
        while url is None or (ws_pattern is not None and ws_url is None):
            line = lines.get(timeout=STARTUP_TIMEOUT_SECONDS)
            if line is None:
                raise RuntimeError(f"{kind} exited before listening "
                                   f"(status {process.wait()}): {' '.join(command)}")
            match = pattern.search(line)
            if match:
                url = (match.group(1) if kind == "embed"
                       else f"nats://{match.group(1)}:{match.group(2)}")
            match = ws_pattern.search(line) if ws_pattern is not None else None
            if match:
                ws_url = match.group(1)
    except queue.Empty:
        process.kill()
        process.wait()
        if config_dir is not None:
            config_dir.cleanup()
        raise RuntimeError(f"{kind} printed no listening address within "
                           f"{STARTUP_TIMEOUT_SECONDS}s: {' '.join(command)}") from None
    except BaseException:
        process.kill()
        process.wait()
        if config_dir is not None:
            config_dir.cleanup()
        raise
    return ServerProcess(kind, process, url, ws_url, config_dir)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, choices=["nats-server", "embed"])
    parser.add_argument("--binary", required=True, help="the server executable")
    parser.add_argument("--websocket", action="store_true",
                        help="also listen for WebSocket clients; {ws_url} in the command")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds the command may run (default 120)")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- COMMAND [ARGS...]; {url} is replaced by the server URL")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    try:
        server = start_server(args.server, args.binary, websocket=args.websocket)
    except RuntimeError as error:
        print(f"with_server: {error}", file=sys.stderr)
        return 2
    print(f"with_server: {args.server} is listening on {server.url}", file=sys.stderr, flush=True)
    if server.ws_url:
        print(f"with_server: {args.server} accepts WebSocket clients on {server.ws_url}",
              file=sys.stderr, flush=True)
    status = 1
    try:
        environment = dict(os.environ, NATS_URL=server.url)
        if server.ws_url:
            environment["NATS_WS_URL"] = server.ws_url
        command = [part.replace("{url}", server.url).replace("{ws_url}", server.ws_url or "")
                   for part in command]
        try:
            status = subprocess.run(command, env=environment, timeout=args.timeout,
                                    check=False).returncode
        except subprocess.TimeoutExpired:
            print(f"with_server: command timed out after {args.timeout}s", file=sys.stderr)
            status = 1
        if server.process.poll() is not None:
            print(f"with_server: {args.server} died during the run "
                  f"(status {server.process.returncode})", file=sys.stderr)
            status = status or 1
    finally:
        stopped_cleanly = server.stop()
    if not stopped_cleanly:
        status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
