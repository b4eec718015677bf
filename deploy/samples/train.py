#!/usr/bin/env python3
"""drover sample training job: data-parallel SGD on a synthetic dataset.

A fixed seed generates a dataset from a known weight vector plus noise
(logistic regression by default, or linear regression with --task linear).
The training set is split into one shard per worker process; at every step
each worker computes the gradient of its part of the global mini-batch on
its own shard, the parent averages the gradients (weighted by sample count,
as an all-reduce would) and applies one SGD update, then sends the new
weights back.  That is data-parallel training, with the standard library
only so that it runs on any python3.

    train.py --workers 2 --epochs 15 --out model.json --write-test-data test.csv

Prints one line per epoch ("epoch 3/15 loss 0.1234"), then writes the model
as JSON to --out.
"""

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time


def default_workers():
    """DROVER_CPUS (the cpus the job was given) if set, else usable cpus."""
    for var in ("DROVER_CPUS", "DROVER_JOB_CPUS"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def make_dataset(seed, n, features, task):
    """Rows of (x, y) from a fixed seed; returns (rows, true_w, true_b)."""
    rng = random.Random(seed)
    true_w = [round(rng.uniform(-2.0, 2.0), 3) for _ in range(features)]
    true_b = round(rng.uniform(-0.5, 0.5), 3)
    rows = []
    for _ in range(n):
        x = [rng.gauss(0.0, 1.0) for _ in range(features)]
        z = sum(w * v for w, v in zip(true_w, x)) + true_b
        if task == "logistic":
            # label noise: the true logit plus logistic-ish noise
            y = 1.0 if z + rng.gauss(0.0, 0.5) > 0 else 0.0
        else:
            y = z + rng.gauss(0.0, 0.1)
        rows.append((x, y))
    return rows, true_w, true_b


def point_loss_grad(w, b, x, y, task, want_grad):
    z = b
    for wi, xi in zip(w, x):
        z += wi * xi
    if task == "logistic":
        p = sigmoid(z)
        eps = 1e-12
        loss = -(y * math.log(p + eps) + (1.0 - y) * math.log(1.0 - p + eps))
        err = p - y
    else:
        err = z - y
        loss = 0.5 * err * err
    return loss, (err if want_grad else 0.0)


def shard_gradient(shard, idx, w, b, task):
    """Sum of losses and gradients over shard[i] for i in idx."""
    gw = [0.0] * len(w)
    gb = 0.0
    loss = 0.0
    for i in idx:
        x, y = shard[i]
        l, err = point_loss_grad(w, b, x, y, task, True)
        loss += l
        gb += err
        for j, xj in enumerate(x):
            gw[j] += err * xj
    return loss, gw, gb, len(idx)


def worker_main(rank, shard, task, seed, conn):
    """One data-parallel worker: owns a shard, answers gradient requests."""
    order = list(range(len(shard)))
    try:
        while True:
            msg = conn.recv()
            kind = msg[0]
            if kind == "shuffle":  # start of an epoch
                random.Random(seed * 1000003 + rank * 7919 + msg[1]).shuffle(
                    order)
                conn.send(len(order))
            elif kind == "grad":  # ("grad", w, b, start, count)
                _, w, b, start, count = msg
                conn.send(shard_gradient(shard, order[start:start + count],
                                         w, b, task))
            elif kind == "loss":  # full-shard loss, no gradient
                _, w, b = msg
                total = 0.0
                for x, y in shard:
                    total += point_loss_grad(w, b, x, y, task, False)[0]
                conn.send((total, len(shard)))
            else:  # "stop"
                break
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        conn.close()


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="data-parallel SGD on a synthetic dataset")
    ap.add_argument("--workers", type=int, default=default_workers(),
                    help="worker processes (default: DROVER_CPUS or the "
                    "usable cpus, now %(default)s)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=None,
                    help="learning rate (default 0.5 logistic, 0.1 linear)")
    ap.add_argument("--batch-size", type=int, default=1000,
                    help="global mini-batch size, split across workers")
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--test-samples", type=int, default=5000)
    ap.add_argument("--features", type=int, default=8)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--task", choices=("logistic", "linear"),
                    default="logistic")
    ap.add_argument("--out", default="model.json",
                    help="where to write the model (JSON)")
    ap.add_argument("--write-test-data", metavar="FILE", default=None,
                    help="write a held-out test set (CSV with a label "
                    "column) for score.py")
    a = ap.parse_args(argv)
    if a.workers < 1 or a.epochs < 1 or a.batch_size < 1:
        ap.error("--workers, --epochs and --batch-size must be >= 1")
    if a.samples < a.workers or a.features < 1 or a.test_samples < 0:
        ap.error("need --samples >= --workers, --features >= 1")
    if a.lr is None:
        a.lr = 0.5 if a.task == "logistic" else 0.1
    if not (a.lr > 0 and math.isfinite(a.lr)):
        ap.error("--lr must be a positive number")
    return a


def write_json_atomic(path, obj):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv):
    a = parse_args(argv)
    t0 = time.monotonic()
    rows, true_w, true_b = make_dataset(a.seed, a.samples + a.test_samples,
                                        a.features, a.task)
    train, test = rows[:a.samples], rows[a.samples:]
    print("train: %d samples, %d features, task %s, %d workers, seed %d"
          % (len(train), a.features, a.task, a.workers, a.seed), flush=True)

    # shard the training set: worker r gets rows r, r+W, r+2W, ...
    shards = [train[r::a.workers] for r in range(a.workers)]
    conns, procs = [], []
    for r in range(a.workers):
        parent, child = mp.Pipe()
        p = mp.Process(target=worker_main,
                       args=(r, shards[r], a.task, a.seed, child),
                       daemon=True)
        p.start()
        child.close()
        conns.append(parent)
        procs.append(p)

    w = [0.0] * a.features
    b = 0.0
    # each worker's share of the global batch, proportional to its shard
    n = len(train)
    local = [max(1, round(a.batch_size * len(s) / n)) for s in shards]
    steps = max(math.ceil(len(s) / l) for s, l in zip(shards, local))
    loss = float("nan")
    try:
        for epoch in range(1, a.epochs + 1):
            for c in conns:
                c.send(("shuffle", epoch))
            for c in conns:
                c.recv()
            for step in range(steps):
                for c, l in zip(conns, local):
                    c.send(("grad", w, b, step * l, l))
                gw = [0.0] * a.features
                gb = 0.0
                cnt = 0
                for c in conns:  # the all-reduce: sum, then average
                    _, sw, sb, k = c.recv()
                    cnt += k
                    gb += sb
                    for j in range(a.features):
                        gw[j] += sw[j]
                if cnt == 0:
                    continue
                w = [wj - a.lr * g / cnt for wj, g in zip(w, gw)]
                b -= a.lr * gb / cnt
            for c in conns:
                c.send(("loss", w, b))
            tot = 0.0
            cnt = 0
            for c in conns:
                s, k = c.recv()
                tot += s
                cnt += k
            loss = tot / cnt
            print("epoch %d/%d loss %.4f" % (epoch, a.epochs, loss),
                  flush=True)
    finally:
        for c in conns:
            try:
                c.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        for p in procs:
            p.join(timeout=5)

    if not math.isfinite(loss):
        print("train: loss diverged (%r); try a smaller --lr" % loss,
              file=sys.stderr)
        return 1

    model = {
        "format": "drover-sample-model",
        "version": 1,
        "task": a.task,
        "features": a.features,
        "weights": w,
        "bias": b,
        "final_loss": loss,
        "seed": a.seed,
        "epochs": a.epochs,
        "lr": a.lr,
        "batch_size": a.batch_size,
        "workers": a.workers,
        "train_samples": len(train),
        "true_weights": true_w,
        "true_bias": true_b,
    }
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    write_json_atomic(a.out, model)
    print("model written to %s (final loss %.4f)" % (a.out, loss), flush=True)

    if a.write_test_data:
        d = os.path.dirname(os.path.abspath(a.write_test_data))
        os.makedirs(d, exist_ok=True)
        tmp = "%s.tmp.%d" % (a.write_test_data, os.getpid())
        with open(tmp, "w") as f:
            f.write(",".join(["x%d" % j for j in range(a.features)]
                             + ["label"]) + "\n")
            for x, y in test:
                lab = "%d" % y if a.task == "logistic" else "%.6f" % y
                f.write(",".join("%.6f" % v for v in x) + "," + lab + "\n")
        os.replace(tmp, a.write_test_data)
        print("test data written to %s (%d rows)"
              % (a.write_test_data, len(test)), flush=True)

    print("done in %.1f s" % (time.monotonic() - t0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
