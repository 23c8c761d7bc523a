#!/usr/bin/env python3
"""Benchmarks Embed's local database (embed/store) against plain SQLite, and the latency from a
commit to its ChangeEvent reaching the app through the C ABI, and prints one table.

  embed_store_bench            Database::Put (one transaction each, a watcher attached) and
                               Database::Get against SQLite prepared statements (INSERT OR
                               REPLACE in autocommit, SELECT) on a (key BLOB PRIMARY KEY, value
                               BLOB) WITHOUT ROWID table; same temp dir, same keys and 100-byte
                               protobuf values, WAL with the same synchronous setting; the two
                               sides alternate within each run. Target: Embed / raw >= 0.8.
  embed_bridge_latency_bench   through embed.h: store_put by embed_call_sync, the ChangeEvent's
                               commit_unix_nanos against CLOCK_REALTIME in the event callback,
                               p50 / p99 / max. Target: p99 < 1 ms.

    bench/store_run.py --build-dir build/bench [--runs 5] [--full]
    bench/store_run.py --store-bench B/bench/store/embed_store_bench \\
                       --latency-bench B/bench/store/embed_bridge_latency_bench
    bench/store_run.py --smoke ...   # tiny counts (the bench_store_smoke ctest case)

Each program runs --runs times itself and reports medians; per-run values go to stderr, the
table to stdout. Without --latency-bench (and no --build-dir holding it) only the store rows
are measured. Exits non-zero when a program fails.
"""

import argparse
import json
import os
import subprocess
import sys

from table import HIGHER_IS_BETTER, format_number, is_met, target_text

STORE_TARGET = 0.8       # Embed / raw SQLite, throughput
LATENCY_TARGET_US = 1000  # p99, commit -> callback


def run_program(command, timeout):
    """Runs one benchmark program, passing its stderr through; returns its JSON line."""
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False,
                               timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"{os.path.basename(command[0])} exited with "
                           f"{completed.returncode}")
    lines = completed.stdout.strip().splitlines()
    # The programs print their own summary first; the driver reads the last line.
    for line in lines[:-1]:
        print("  " + line, file=sys.stderr)
    return json.loads(lines[-1])


def ratio_row(label, unit, ours, raw, target):
    ratio = ours / raw if ours is not None and raw else None
    met = "" if target is None or ratio is None else (
        "yes" if is_met(HIGHER_IS_BETTER, ratio, target) else "no")
    return [label, unit, format_number(ours), format_number(raw),
            format_number(ratio, ratio=True),
            "" if target is None else target_text(HIGHER_IS_BETTER, target), met]


def latency_row(label, value, target_us):
    met = ""
    target = ""
    if target_us is not None and value is not None:
        target = f"< {target_us:,} µs"
        met = "yes" if value < target_us else "no"
    return [label, "µs", format_number(value, decimals=1), "", "", target, met]


def percent_row(label, value):
    return [label, "%", "n/a" if value is None else f"{value:.2f}", "", "", "", ""]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", help="a build tree holding bench/store/embed_store_bench "
                        "and bench/store/embed_bridge_latency_bench")
    parser.add_argument("--store-bench", help="the embed_store_bench executable")
    parser.add_argument("--latency-bench", help="the embed_bridge_latency_bench executable")
    parser.add_argument("--runs", type=int, default=5, help="runs of each program (default 5)")
    parser.add_argument("--full", action="store_true",
                        help="synchronous FULL instead of NORMAL (both sides)")
    parser.add_argument("--dir", help="where the temporary databases go (default $TMPDIR or /tmp)")
    parser.add_argument("--smoke", action="store_true",
                        help="one run with tiny counts (seconds in total; numbers mean nothing)")
    args = parser.parse_args()
    if args.build_dir:
        store_dir = os.path.join(args.build_dir, "bench", "store")
        args.store_bench = args.store_bench or os.path.join(store_dir, "embed_store_bench")
        latency_bench = os.path.join(store_dir, "embed_bridge_latency_bench")
        if not args.latency_bench and os.path.exists(latency_bench):
            args.latency_bench = latency_bench
    if not args.store_bench:
        parser.error("--store-bench (or --build-dir) is required")

    common = ["--smoke"] if args.smoke else ["--runs", str(args.runs)]
    if args.full:
        common.append("--full")
    if args.dir:
        common += ["--dir", args.dir]
    timeout = 120 if args.smoke else 1800
    load_before = os.getloadavg()[0]
    errors = []
    store, latency = {}, {}
    try:
        store = run_program([args.store_bench] + common, timeout)["medians"]
    except (RuntimeError, OSError, ValueError, IndexError, subprocess.SubprocessError) as error:
        errors.append(f"store bench: {error}")
    if args.latency_bench:
        try:
            latency = run_program([args.latency_bench] + common, timeout)["medians"]
        except (RuntimeError, OSError, ValueError, IndexError,
                subprocess.SubprocessError) as error:
            errors.append(f"latency bench: {error}")

    mode = ("smoke run (tiny counts: not a measurement)" if args.smoke
            else f"medians of {args.runs} runs")
    print(f"\n{mode}; WAL, synchronous={'FULL' if args.full else 'NORMAL'}; ratio = Embed / "
          f"raw SQLite; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after\n")
    print("| metric | unit | Embed | raw SQLite | ratio | target | met |")
    print("|---|---|---:|---:|---:|---|---|")
    rows = [
        ratio_row("puts/s (one transaction each; Embed with a watcher)", "puts/s",
                  store.get("embed_puts_per_s"), store.get("raw_puts_per_s"), STORE_TARGET),
        ratio_row("point gets/s", "gets/s", store.get("embed_gets_per_s"),
                  store.get("raw_gets_per_s"), STORE_TARGET),
    ]
    if latency:
        rows += [
            latency_row("commit → callback p50, puts back to back", latency.get("p50_us"), None),
            latency_row("commit → callback p99, puts back to back", latency.get("p99_us"),
                        LATENCY_TARGET_US),
            latency_row("commit → callback max, puts back to back", latency.get("max_us"), None),
            percent_row("events later than 1 ms, puts back to back",
                        latency.get("over_1ms_percent")),
            latency_row("commit → callback p50, one put at a time", latency.get("paced_p50_us"),
                        None),
            latency_row("commit → callback p99, one put at a time", latency.get("paced_p99_us"),
                        LATENCY_TARGET_US),
            latency_row("commit → callback max, one put at a time", latency.get("paced_max_us"),
                        None),
            percent_row("events later than 1 ms, one put at a time",
                        latency.get("paced_over_1ms_percent")),
            ratio_row("puts/s through the C ABI (embed_call_sync, watched)", "puts/s",
                      latency.get("abi_puts_per_s"), store.get("raw_puts_per_s"), None),
        ]
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
