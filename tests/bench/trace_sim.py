#!/usr/bin/env python3
"""Trace replay helpers of bench_trace.sh (issue 17): a Philly-derived GPU
trace (../shared/traces/gavel-philly, README there) turned into jobs at a
time compression, an offline FIFO and EASY-backfill simulation of the same
jobs on the same nodes, the replay itself onto a running scheduler (one
`drover job submit` per job at its compressed arrival, not waiting for one
answer before the next arrival), and the figures read back from the
scheduler's store.  Standard library only.  Prints figures; not a test.

  trace_sim.py sim    TRACE JOBS COMPRESS NODES
  trace_sim.py replay TRACE JOBS COMPRESS NODES DROVER CLUSTER
  trace_sim.py report TRACE JOBS COMPRESS NODES DB

A job of g GPUs runs on one node when g <= 8 (g of its 8 GPUs), else on
ceil(g/8) whole nodes (a gang, 8 GPUs each).  Its run is steps / the
isolated V100 throughput for (type, g); a missing (type, g) is estimated
as the 1-GPU throughput times g (counted and printed).  Compressed runs
are rounded to the millisecond; the time limit (drover's, in ms, and
EASY's estimate) is the run plus half a second (room for a task's start
and its reports; whole seconds plus one, before drover's limits had
milliseconds).
"""
import ast
import heapq
import json
import math
import os
import sqlite3
import subprocess
import sys
import time

LIMIT_MARGIN_S = 0.5

GPUS_PER_NODE = 8


def load(trace, njobs, compress):
    """The first njobs jobs of trace: dicts, arrival and run in seconds of
    the replay; and how many throughputs were estimated."""
    d = os.path.dirname(trace)
    raw = json.load(open(os.path.join(d, "v100_isolated_steps_per_s.json")))
    tput = {ast.literal_eval(k): v for k, v in raw.items()}
    jobs, estimated = [], 0
    for i, line in enumerate(open(trace)):
        if i >= njobs:
            break
        f = line.rstrip("\n").split("\t")
        kind, steps, arrival, gpus = f[0], int(f[4]), float(f[5]), int(f[6])
        if (kind, gpus) in tput:
            t = tput[(kind, gpus)]
        else:
            t = tput[(kind, 1)] * gpus
            estimated += 1
        run = round(steps / t / compress, 3)
        nodes = 1 if gpus <= GPUS_PER_NODE else -(-gpus // GPUS_PER_NODE)
        jobs.append({
            "i": i, "arrival": arrival / compress, "gpus": gpus,
            "nodes": nodes, "gpn": gpus if nodes == 1 else GPUS_PER_NODE,
            "run": max(run, 0.001),
            "limit": round(max(run, 0.001) + LIMIT_MARGIN_S, 3),
        })
    t0 = min(j["arrival"] for j in jobs)
    for j in jobs:
        j["arrival"] -= t0
    return jobs, estimated


def s_fit(free, j):
    """Nodes for j now (best fit: the fullest that fit), or None."""
    if j["nodes"] == 1:
        best = None
        for n, f in enumerate(free):
            if f >= j["gpn"] and (best is None or f < free[best]):
                best = n
        return None if best is None else [best]
    whole = [n for n, f in enumerate(free) if f == GPUS_PER_NODE]
    return whole[:j["nodes"]] if len(whole) >= j["nodes"] else None


def s_shadow(free, running, head, now):
    """When the head of the queue can start, by the estimates of what
    runs (EASY's reservation)."""
    f = list(free)
    for est_end, _, nodes, gpn in sorted(running):
        for n in nodes:
            f[n] += gpn
        if s_fit(f, head) is not None:
            return max(est_end, now)
    return math.inf


def simulate(jobs, nodes, policy):
    """Start and end of each job under fifo or easy."""
    free = [GPUS_PER_NODE] * nodes
    arrivals = sorted(jobs, key=lambda j: (j["arrival"], j["i"]))
    queue, ends, running = [], [], []  # running: (est_end, i, nodes, gpn)
    start, end = {}, {}
    k, now = 0, 0.0
    while k < len(arrivals) or queue or ends:
        nxt = min(arrivals[k]["arrival"] if k < len(arrivals) else math.inf,
                  ends[0][0] if ends else math.inf)
        now = nxt
        while ends and ends[0][0] <= now:
            _, i, ns, gpn = heapq.heappop(ends)
            for n in ns:
                free[n] += gpn
            running = [r for r in running if r[1] != i]
        while k < len(arrivals) and arrivals[k]["arrival"] <= now:
            queue.append(arrivals[k])
            k += 1
        # the head and whatever may go around it
        while queue:
            ns = s_fit(free, queue[0])
            if ns is None:
                break
            s_start(queue.pop(0), ns, now, free, ends, running, start, end)
        if policy == "easy" and queue:
            shadow = s_shadow(free, running, queue[0], now)
            for j in list(queue[1:]):
                if now + j["limit"] > shadow:
                    continue
                ns = s_fit(free, j)
                if ns is not None:
                    queue.remove(j)
                    s_start(j, ns, now, free, ends, running, start, end)
    return start, end


def s_start(j, ns, now, free, ends, running, start, end):
    for n in ns:
        free[n] -= j["gpn"]
    start[j["i"]] = now
    end[j["i"]] = now + j["run"]
    heapq.heappush(ends, (end[j["i"]], j["i"], ns, j["gpn"]))
    running.append((now + j["limit"], j["i"], ns, j["gpn"]))


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(math.ceil(len(v) * p / 100.0)) - 1))]


def figures(name, jobs, nodes, arrival, start, end):
    waits = [start[j["i"]] - arrival[j["i"]] for j in jobs]
    jct = [end[j["i"]] - arrival[j["i"]] for j in jobs]
    t0 = min(arrival.values())
    span = max(end.values()) - t0
    busy = sum(j["gpn"] * j["nodes"] * (end[j["i"]] - start[j["i"]])
               for j in jobs)
    print("  FIGURE %-6s queueing_delay_s p50=%.2f p95=%.2f p99=%.2f "
          "mean_jct_s=%.2f makespan_s=%.1f gpu_allocation=%.1f%%"
          % (name, pct(waits, 50), pct(waits, 95), pct(waits, 99),
             sum(jct) / len(jct), span,
             100.0 * busy / (nodes * GPUS_PER_NODE * span)))


def main():
    cmd, trace, njobs, compress, nodes = sys.argv[1:6]
    jobs, estimated = load(trace, int(njobs), float(compress))
    nodes = int(nodes)
    if cmd == "sim":
        print("  %d jobs of %s (%d of them with an estimated throughput), "
              "compressed %sx, on %d nodes of %d GPUs"
              % (len(jobs), os.path.basename(trace), estimated, compress,
                 nodes, GPUS_PER_NODE))
        arrival = {j["i"]: j["arrival"] for j in jobs}
        for policy in ("fifo", "easy"):
            start, end = simulate(jobs, nodes, policy)
            figures(policy, jobs, nodes, arrival, start, end)
    elif cmd == "replay":
        drover, cluster = sys.argv[6:8]
        t0 = time.monotonic()
        procs = []
        for j in sorted(jobs, key=lambda j: (j["arrival"], j["i"])):
            delay = t0 + j["arrival"] - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            argv = [drover, "job", "submit", "--cluster", cluster,
                    "--name", "t%d" % j["i"], "--gpus", str(j["gpn"]),
                    "--nodes", str(j["nodes"]),
                    "--time-limit", "%dms" % round(j["limit"] * 1000), "--",
                    "sleep", "%.3f" % j["run"]]
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
            procs = [p for p in procs if p.poll() is None]
        late = time.monotonic() - t0 - max(j["arrival"] for j in jobs)
        for p in procs:
            p.wait()
        print("  replay: %d submissions, the last %.0f ms after its arrival"
              % (len(jobs), late * 1000))
    elif cmd == "report":
        db = sqlite3.connect("file:%s?mode=ro" % sys.argv[6], uri=True)
        rows = {int(name[1:]): (sub / 1000.0, st / 1000.0, en / 1000.0, state)
                for name, sub, st, en, state in db.execute(
                    "SELECT name, submitted_at, started_at, ended_at, state "
                    "FROM jobs WHERE name LIKE 't%'")}
        bad = sum(1 for r in rows.values() if r[3] != "succeeded")
        if bad or len(rows) != len(jobs):
            print("  %d of %d jobs not succeeded" % (bad, len(jobs)))
        arrival = {i: r[0] for i, r in rows.items()}
        start = {i: r[1] for i, r in rows.items()}
        end = {i: r[2] for i, r in rows.items()}
        figures("drover", [j for j in jobs if j["i"] in rows], nodes,
                arrival, start, end)


if __name__ == "__main__":
    main()
