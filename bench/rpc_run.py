#!/usr/bin/env python3
"""Benchmarks Embed RPC against gRPC C++ with the same echo service (bench/rpc/echo.proto).

Three setups, each a fresh set of processes on 127.0.0.1 with ephemeral ports:
  grpc    embed_grpc_bench server (insecure HTTP/2, callback API) + embed_grpc_bench client
  hub     embed_rpc_bench hub-with-service (embedded broker, the service on an in-process
          connection: Embed's default) + embed_rpc_bench client over TCP
  broker  embed_rpc_bench hub (broker alone) + embed_rpc_bench service over TCP + client over TCP
Each client measures sequential unary latency (16 B), unary throughput with 64 calls in flight
(16 B and 1 KiB), and server- and client-streaming throughput (64 KiB messages), and prints one
JSON line. Runs alternate the order of the setups; the table shows medians and the ratios
Embed / gRPC against the issue's targets.

    bench/rpc_run.py --build-dir build/bench [--runs 5]
    bench/rpc_run.py --embed-bench B/bench/rpc/embed_rpc_bench \\
                     --grpc-bench B/bench/rpc/embed_grpc_bench
    bench/rpc_run.py --smoke ...   # one run with tiny counts (the bench_rpc_smoke ctest case)

Without --grpc-bench (and no --build-dir holding it) only the Embed setups run. Progress and
per-run values go to stderr, the table to stdout. Exits non-zero when a process fails.
"""

import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import time

from table import HIGHER_IS_BETTER, LOWER_IS_BETTER, format_number, is_met, target_text

SETUPS = ["grpc", "hub", "broker"]


class Metric:
    """One row of the table; targets are ratios Embed / gRPC (None: no target)."""

    def __init__(self, key, label, unit, better, hub_target, broker_target):
        self.key = key
        self.label = label
        self.unit = unit
        self.better = better
        self.targets = {"hub": hub_target, "broker": broker_target}

    def target_text(self, setup):
        target = self.targets[setup]
        return "" if target is None else target_text(self.better, target)

    def met_text(self, setup, ratio):
        target = self.targets[setup]
        if target is None or ratio is None:
            return ""
        return "yes" if is_met(self.better, ratio, target) else "no"


METRICS = [
    Metric("latency_p50_us", "unary latency p50 (sequential, 16 B)", "µs", LOWER_IS_BETTER,
           1.0, 1.5),
    Metric("latency_p99_us", "unary latency p99 (sequential, 16 B)", "µs", LOWER_IS_BETTER,
           None, None),
    Metric("unary_64_16", "unary, 64 in flight, 16 B", "calls/s", HIGHER_IS_BETTER, 1.0, 1.0),
    Metric("unary_64_1k", "unary, 64 in flight, 1 KiB", "calls/s", HIGHER_IS_BETTER, 1.0, 1.0),
    Metric("server_stream_mbps", "server streaming, 64 KiB messages", "MB/s", HIGHER_IS_BETTER,
           1.0, 1.0),
    Metric("client_stream_mbps", "client streaming, 64 KiB messages", "MB/s", HIGHER_IS_BETTER,
           1.0, 1.0),
]


class Child:
    """A server-role process: announces itself with one JSON line on stdout, serves until its
    stdin closes (so it also ends when this driver dies)."""

    def __init__(self, command, timeout):
        self.command = command
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.kill()
            raise RuntimeError(f"{' '.join(command)} did not start "
                               f"(status {self.process.poll()})")
        self.announcement = json.loads(line)

    def stop(self):
        """Closes stdin and waits; True when the process ended by itself with status 0."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
                return False
        return self.process.returncode == 0

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Bench:
    def __init__(self, args):
        self.args = args
        self.errors = []
        self.setups = [setup for setup in SETUPS if setup != "grpc" or args.grpc_bench]
        self.client_args = (["--smoke"] if args.smoke else []) + args.client_arg
        self.timeout = 60 if args.smoke else 600

    def run_client(self, command):
        command = command + self.client_args
        completed = subprocess.run(command, capture_output=True, text=True, check=False,
                                   timeout=self.timeout)
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip()}")
        return json.loads(completed.stdout.strip().splitlines()[-1])

    def measure(self, setup):
        """Starts the setup's servers, runs its client, stops the servers (last started first)."""
        embed, grpc = self.args.embed_bench, self.args.grpc_bench
        servers = []
        try:
            if setup == "grpc":
                servers.append(Child([grpc, "--role", "server", "--server-api",
                                      self.args.grpc_server_api], self.timeout))
                client = [grpc, "--role", "client",
                          "--address", servers[-1].announcement["address"]]
            else:
                hub_role = "hub-with-service" if setup == "hub" else "hub"
                servers.append(Child([embed, "--role", hub_role], self.timeout))
                url = servers[-1].announcement["url"]
                if setup == "broker":
                    servers.append(Child([embed, "--role", "service", "--url", url],
                                         self.timeout))
                client = [embed, "--role", "client", "--url", url]
            return self.run_client(client)
        finally:
            for server in reversed(servers):
                if not server.stop():
                    self.errors.append(f"{' '.join(server.command)} did not stop cleanly "
                                       f"(status {server.process.returncode})")

    def run(self):
        samples = {setup: {} for setup in SETUPS}
        runs = 1 if self.args.smoke else self.args.runs
        load_before = os.getloadavg()[0]
        for run in range(runs):
            # Alternate the order so drift on a shared machine hits every setup alike.
            order = self.setups if run % 2 == 0 else list(reversed(self.setups))
            for setup in order:
                print(f"run {run + 1}/{runs}: {setup}", file=sys.stderr, flush=True)
                started = time.monotonic()
                try:
                    results = self.measure(setup)
                except (RuntimeError, OSError, ValueError, KeyError,
                        subprocess.SubprocessError) as error:
                    self.errors.append(f"{setup}: {error}")
                    print(f"  error: {error}", file=sys.stderr, flush=True)
                    continue
                for key, value in results.items():
                    samples[setup].setdefault(key, []).append(value)
                print("  " + ", ".join(f"{key}={value:.6g}" for key, value in results.items())
                      + f" ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)
        # Others' work on the machine skews the numbers; the load average tells the reader.
        self.print_table(samples, runs, (load_before, os.getloadavg()[0]))
        for error in self.errors:
            print(f"error: {error}", file=sys.stderr)
        return 1 if self.errors else 0

    def print_table(self, samples, runs, load):
        mode = "smoke run (tiny counts: not a measurement)" if self.args.smoke else "medians"
        print(f"\n{mode} of {runs} run(s); ratio = Embed / gRPC; gRPC server API: "
              f"{self.args.grpc_server_api}; load average {load[0]:.2f} before, "
              f"{load[1]:.2f} after\n")
        print("| metric | unit | gRPC | Embed, service in the hub | ratio | target | met "
              "| Embed, service behind the broker | ratio | target | met |")
        print("|---|---|---:|---:|---:|---|---|---:|---:|---|---|")

        def median(setup, key):
            values = samples[setup].get(key) or []
            return statistics.median(values) if values else None

        for metric in METRICS:
            peer = median("grpc", metric.key)
            cells = [metric.label, metric.unit, format_number(peer, decimals=1)]
            for setup in ("hub", "broker"):
                ours = median(setup, metric.key)
                ratio = ours / peer if peer and ours is not None else None
                cells += [format_number(ours, decimals=1), format_number(ratio, ratio=True),
                          metric.target_text(setup), metric.met_text(setup, ratio)]
            print("| " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", help="a build tree holding bench/rpc/embed_rpc_bench "
                        "and bench/rpc/embed_grpc_bench")
    parser.add_argument("--embed-bench", help="the embed_rpc_bench executable")
    parser.add_argument("--grpc-bench", help="the embed_grpc_bench executable")
    parser.add_argument("--runs", type=int, default=5, help="runs per setup (default 5)")
    parser.add_argument("--smoke", action="store_true",
                        help="one run with tiny counts (seconds in total)")
    parser.add_argument("--grpc-server-api", choices=["callback", "sync"], default="callback",
                        help="gRPC server API (default callback, gRPC's faster one here)")
    parser.add_argument("--client-arg", action="append", default=[],
                        help="extra argument for every client, e.g. "
                        "--client-arg=--throughput-calls --client-arg=50000 (repeatable)")
    args = parser.parse_args()
    if args.build_dir:
        rpc_dir = os.path.join(args.build_dir, "bench", "rpc")
        args.embed_bench = args.embed_bench or os.path.join(rpc_dir, "embed_rpc_bench")
        grpc_bench = os.path.join(rpc_dir, "embed_grpc_bench")
        if not args.grpc_bench and os.path.exists(grpc_bench):
            args.grpc_bench = grpc_bench
    if not args.embed_bench:
        parser.error("--embed-bench (or --build-dir) is required")
    return Bench(args).run()


if __name__ == "__main__":
    sys.exit(main())
