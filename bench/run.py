#!/usr/bin/env python3
"""Benchmarks Embed's broker (`embed serve`) against nats-server in the same run.

Both servers run as single processes on 127.0.0.1 with ephemeral ports and take the same load
from embed_loadgen (built on libnats). Runs alternate between the servers; the table shows the
median of each metric and the ratio ours / nats-server against the targets of the issue.

    bench/run.py --loadgen build/bench/bench/embed_loadgen \\
                 --embed build/bench/tools/embed/embed [--runs 5]
    bench/run.py --smoke ...      # each scenario once with tiny counts (the ctest case)
    bench/run.py --suite ws --ws-loadgen build/bench/bench/embed_ws_loadgen --embed ...

Suites: "tcp" (libnats on the NATS port), "ws" (embed_ws_loadgen on the WebSocket port:
1→1 pub/sub and memory per idle WebSocket connection; both servers without compression) and
"all" (the default: tcp, plus ws when --ws-loadgen is given).

Without --embed, a second nats-server stands in for ours, which checks the harness (ratios
near 1.0 show its noise). Exits non-zero when a server or the load generator fails.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "interop"))
from with_server import start_server  # noqa: E402  (path set just above)
from table import (HIGHER_IS_BETTER, LOWER_IS_BETTER, format_number, is_met,  # noqa: E402
                   target_text)


class Metric:
    """One row of the table: how to read it and what the issue asks of the ratio."""

    def __init__(self, key, label, unit, better, target_ratio, suite="tcp"):
        self.suite = suite
        self.key = key
        self.label = label
        self.unit = unit
        self.better = better
        self.target_ratio = target_ratio

    def target_text(self):
        return target_text(self.better, self.target_ratio)

    def is_met(self, ratio):
        return is_met(self.better, ratio, self.target_ratio)


METRICS = [
    Metric("publish_16", "publish only, 16 B", "msgs/s", HIGHER_IS_BETTER, 1.0),
    Metric("pubsub_16", "1→1 pub/sub, 16 B", "msgs/s", HIGHER_IS_BETTER, 1.0),
    Metric("pubsub_1k", "1→1 pub/sub, 1 KiB", "msgs/s", HIGHER_IS_BETTER, 1.0),
    Metric("fanout_8", "1→8 fan-out, 16 B", "delivered msgs/s", HIGHER_IS_BETTER, 1.0),
    Metric("latency_p50", "request/reply latency p50 (sequential)", "µs", LOWER_IS_BETTER, 1.0),
    Metric("latency_p99", "request/reply latency p99 (sequential)", "µs", LOWER_IS_BETTER, 1.0),
    Metric("requests_64", "request/reply, 64 in flight", "req/s", HIGHER_IS_BETTER, 1.0),
    Metric("cpu_pubsub_16", "broker CPU per delivered msg, 1→1 16 B", "ns", LOWER_IS_BETTER,
           1.0),
    Metric("cpu_fanout_8", "broker CPU per delivered msg, 1→8", "ns", LOWER_IS_BETTER, 1.0),
    Metric("rss_idle", "broker RSS idle", "KiB", LOWER_IS_BETTER, 0.5),
    Metric("rss_per_connection", "broker RSS per idle connection", "bytes", LOWER_IS_BETTER, 0.5),
    Metric("ws_pubsub_16", "WebSocket 1→1 pub/sub, 16 B", "msgs/s", HIGHER_IS_BETTER, 1.0, "ws"),
    Metric("ws_pubsub_1k", "WebSocket 1→1 pub/sub, 1 KiB", "msgs/s", HIGHER_IS_BETTER, 1.0, "ws"),
    Metric("ws_pubsub_1k_window_1m", "WebSocket 1→1 pub/sub, 1 KiB, 1 MiB window", "msgs/s",
           HIGHER_IS_BETTER, 1.0, "ws"),
    Metric("ws_rss_per_connection", "broker RSS per idle WebSocket connection", "bytes",
           LOWER_IS_BETTER, 0.5, "ws"),
]

# Loads per scenario: (full run, smoke run).
COUNTS = {
    "publish": (2_000_000, 5_000),
    "pubsub_16": (1_000_000, 5_000),
    "pubsub_1k": (200_000, 1_000),
    "fanout": (200_000, 1_000),
    "latency": (10_000, 200),
    "requests": (200_000, 2_000),
    "connections": (10_000, 200),
    "ws_pubsub_16": (1_000_000, 5_000),
    "ws_pubsub_1k": (200_000, 1_000),
    "ws_connections": (10_000, 200),
}


def read_cpu_seconds(pid):
    """utime + stime of the whole process (all threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # The command name may hold spaces; the fields after its ')' are fixed.
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def read_rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Bench:
    def __init__(self, args):
        self.args = args
        self.smoke = args.smoke
        self.errors = []
        self.suites = []
        if args.suite in ("all", "tcp"):
            self.suites.append("tcp")
        if args.suite == "ws" or (args.suite == "all" and args.ws_loadgen):
            self.suites.append("ws")

    def count(self, name):
        return COUNTS[name][1 if self.smoke else 0]

    def loadgen(self, url, scenario, binary=None, **flags):
        command = [binary or self.args.loadgen, "--url", url, "--scenario", scenario]
        for flag, value in flags.items():
            command += ["--" + flag.replace("_", "-"), str(value)]
        completed = subprocess.run(command, capture_output=True, text=True, check=False,
                                   timeout=600)
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip()}")
        return json.loads(completed.stdout.strip().splitlines()[-1])

    def measure_server(self, kind, binary, extra_args):
        """Runs every scenario of the chosen suites, each suite against a fresh server."""
        results = {}
        if "tcp" in self.suites:
            results.update(self.measure_tcp_server(kind, binary, extra_args))
        if "ws" in self.suites:
            results.update(self.measure_ws_server(kind, binary, extra_args))
        return results

    def measure_ws_server(self, kind, binary, extra_args):
        """Starts one server with a WebSocket listener (no TLS, no compression) and runs the
        WebSocket scenarios with embed_ws_loadgen."""
        if kind == "embed":
            extra_args = [*extra_args, "--ws-no-compression"]
        server = start_server(kind, binary, extra_args, quiet=True, websocket=True)
        results = {}
        try:
            url = server.ws_url
            ws = self.args.ws_loadgen
            results["ws_pubsub_16"] = self.loadgen(url, "pubsub", binary=ws,
                                                   messages=self.count("ws_pubsub_16"),
                                                   size=16)["rate"]
            results["ws_pubsub_1k"] = self.loadgen(url, "pubsub", binary=ws,
                                                   messages=self.count("ws_pubsub_1k"),
                                                   size=1024)["rate"]
            # The same with the publisher at most 1 MiB ahead (a client that flushes and
            # waits sooner): servers buffer less per subscriber.
            results["ws_pubsub_1k_window_1m"] = self.loadgen(
                url, "pubsub", binary=ws, messages=self.count("ws_pubsub_1k"), size=1024,
                window_bytes=1024 * 1024)["rate"]
            connections = self.count("ws_connections")
            # The pub/sub runs grew the heap; measure the connections from a fresh server.
            server.stop()
            server = start_server(kind, binary, extra_args, quiet=True, websocket=True)
            url, pid = server.ws_url, server.pid
            time.sleep(0.2 if self.smoke else 1.0)
            rss_idle = read_rss_kib(pid)
            rss_loaded = self.measure_idle_connections(url, pid, connections, binary=ws)
            results["ws_rss_connections"] = rss_loaded
            results["ws_rss_per_connection"] = (rss_loaded - rss_idle) * 1024 / connections
            if server.process.poll() is not None:
                raise RuntimeError(f"{kind} died (status {server.process.returncode})")
        finally:
            if not server.stop():
                self.errors.append(f"{kind} (websocket) did not stop cleanly")
        return results

    def measure_tcp_server(self, kind, binary, extra_args):
        """Starts one server, runs every TCP scenario against it, returns {metric key: value}."""
        server = start_server(kind, binary, extra_args, quiet=True)
        results = {}
        try:
            url, pid = server.url, server.pid
            time.sleep(0.2 if self.smoke else 1.0)
            results["rss_idle"] = read_rss_kib(pid)

            def with_cpu(key, run):
                before = read_cpu_seconds(pid)
                result = run()
                cpu_seconds = read_cpu_seconds(pid) - before
                results[key] = cpu_seconds * 1e9 / result["operations"]
                return result

            results["publish_16"] = self.loadgen(url, "publish", messages=self.count("publish"),
                                                 size=16)["rate"]
            results["pubsub_16"] = with_cpu("cpu_pubsub_16", lambda: self.loadgen(
                url, "pubsub", messages=self.count("pubsub_16"), size=16))["rate"]
            results["pubsub_1k"] = self.loadgen(url, "pubsub", messages=self.count("pubsub_1k"),
                                                size=1024)["rate"]
            results["fanout_8"] = with_cpu("cpu_fanout_8", lambda: self.loadgen(
                url, "pubsub", messages=self.count("fanout"), size=16, subscribers=8))["rate"]
            latency = self.loadgen(url, "request-latency", messages=self.count("latency"),
                                   size=16)
            results["latency_p50"] = latency["p50_us"]
            results["latency_p99"] = latency["p99_us"]
            results["requests_64"] = self.loadgen(url, "request-throughput",
                                                  messages=self.count("requests"), size=16,
                                                  in_flight=64)["rate"]
            connections = self.count("connections")
            rss_loaded = self.measure_idle_connections(url, pid, connections)
            results["rss_connections"] = rss_loaded
            results["rss_per_connection"] = (rss_loaded - results["rss_idle"]) * 1024 / connections
            if server.process.poll() is not None:
                raise RuntimeError(f"{kind} died (status {server.process.returncode})")
        finally:
            if not server.stop():
                self.errors.append(f"{kind} did not stop cleanly")
        return results

    def measure_idle_connections(self, url, pid, connections, binary=None):
        """Opens `connections` idle clients, returns the server's RSS while they are open."""
        holder = subprocess.Popen(
            [binary or self.args.loadgen, "--url", url, "--scenario", "idle-connections",
             "--connections", str(connections)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = holder.stdout.readline()
            if not line:
                raise RuntimeError(f"idle-connections failed (status {holder.wait()})")
            json.loads(line)
            time.sleep(0.2 if self.smoke else 1.0)
            return read_rss_kib(pid)
        finally:
            if holder.poll() is None:
                holder.stdin.write("\n")
                holder.stdin.close()
            if holder.wait(timeout=60) != 0:
                raise RuntimeError(f"idle-connections on {url} failed (status {holder.returncode})")

    def run(self):
        servers = [("nats-server", "nats-server", self.args.nats_server,
                    self.args.nats_server_arg)]
        if self.args.embed:
            servers.append(("ours", "embed", self.args.embed, self.args.embed_arg))
        else:
            servers.append(("ours", "nats-server", self.args.nats_server,
                            self.args.nats_server_arg))
        samples = {name: {metric.key: [] for metric in METRICS} for name, *_ in servers}
        runs = 1 if self.smoke else self.args.runs
        for run in range(runs):
            # Alternate which server goes first so drift on a shared machine hits both alike.
            order = servers if run % 2 == 0 else list(reversed(servers))
            for name, kind, binary, extra_args in order:
                print(f"run {run + 1}/{runs}: {name} ({kind})", file=sys.stderr, flush=True)
                try:
                    results = self.measure_server(kind, binary, extra_args)
                except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as error:
                    self.errors.append(f"{name}: {error}")
                    print(f"  error: {error}", file=sys.stderr, flush=True)
                    continue
                for key, value in results.items():
                    samples[name].setdefault(key, []).append(value)
                print("  " + ", ".join(f"{key}={value:.6g}" for key, value in results.items()),
                      file=sys.stderr, flush=True)
        self.print_table(samples, runs)
        for error in self.errors:
            print(f"error: {error}", file=sys.stderr)
        return 1 if self.errors else 0

    def print_table(self, samples, runs):
        ours_label = "ours" if self.args.embed else "nats-server #2 (stand-in for ours)"
        mode = "smoke run (tiny counts: not a measurement)" if self.smoke else "median"
        print(f"\n{mode} of {runs} run(s); ratio = ours / nats-server\n")
        print(f"| metric | unit | nats-server | {ours_label} | ratio | target | met |")
        print("|---|---|---:|---:|---:|---|---|")

        def median(name, key):
            values = samples[name].get(key) or []
            return statistics.median(values) if values else None

        for metric in METRICS:
            if metric.suite not in self.suites:
                continue
            peer = median("nats-server", metric.key)
            ours = median("ours", metric.key)
            ratio = ours / peer if peer and ours is not None else None
            met = "" if ratio is None else ("yes" if metric.is_met(ratio) else "no")
            print(f"| {metric.label} | {metric.unit} | {format_number(peer)} | "
                  f"{format_number(ours)} | {format_number(ratio, ratio=True)} | "
                  f"{metric.target_text()} | {met} |")
        extra_rows = [("tcp", "rss_connections", f"{self.count('connections')} idle connections"),
                      ("ws", "ws_rss_connections",
                       f"{self.count('ws_connections')} idle WebSocket connections")]
        for suite, key, what in extra_rows:
            if suite not in self.suites:
                continue
            peer = median("nats-server", key)
            ours = median("ours", key)
            print(f"| broker RSS with {what} | KiB | "
                  f"{format_number(peer)} | {format_number(ours)} | "
                  f"{format_number(ours / peer if peer and ours else None, ratio=True)} | | |")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loadgen", help="the embed_loadgen executable (tcp suite)")
    parser.add_argument("--nats-server", help="the nats-server executable "
                        "(default: from PATH, else Debian's /usr/sbin/nats-server)")
    parser.add_argument("--embed", help="the embed executable (runs `embed serve`)")
    parser.add_argument("--ws-loadgen", help="the embed_ws_loadgen executable (ws suite)")
    parser.add_argument("--suite", choices=["all", "tcp", "ws"], default="all",
                        help="tcp, ws, or all (default: tcp, plus ws with --ws-loadgen)")
    parser.add_argument("--runs", type=int, default=5, help="runs per server (default 5)")
    parser.add_argument("--smoke", action="store_true",
                        help="each scenario once with tiny counts (seconds in total)")
    parser.add_argument("--embed-arg", action="append", default=[],
                        help="extra argument for `embed serve` (repeatable)")
    parser.add_argument("--nats-server-arg", action="append", default=[],
                        help="extra argument for nats-server (repeatable)")
    args = parser.parse_args()
    args.nats_server = args.nats_server or shutil.which("nats-server") or "/usr/sbin/nats-server"
    if args.suite in ("all", "tcp") and not args.loadgen:
        parser.error("--loadgen is required for the tcp suite")
    if args.suite == "ws" and not args.ws_loadgen:
        parser.error("--ws-loadgen is required for the ws suite")

    # Idle connections need a descriptor each, in the server and in the load generator; both
    # inherit this limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    needed = max(COUNTS["connections"], COUNTS["ws_connections"])[1 if args.smoke else 0] + 256
    if hard != resource.RLIM_INFINITY and hard < needed:
        parser.error(f"RLIMIT_NOFILE hard limit {hard} is below the {needed} descriptors needed")
    return Bench(args).run()


if __name__ == "__main__":
    sys.exit(main())
