#!/usr/bin/env python3
"""drover sample batch-inference job: score a CSV with a train.py model.

    score.py --model model.json --input test.csv --output predictions.csv

The input is a CSV of feature columns, optionally with a header row and a
"label" column (as train.py --write-test-data writes it).  Rows are scored
in batches of --batch-size (1000); a progress line is printed per batch and
a summary at the end: rows scored, mean prediction, and accuracy (logistic)
or MSE (linear) when the input has labels.

Exit status: 0 on success, 2 on a bad model or input file.
"""

import argparse
import csv
import json
import math
import os
import sys
import time


class InputError(Exception):
    pass


def fail(msg):
    print("score.py: error: %s" % msg, file=sys.stderr, flush=True)
    sys.exit(2)


def is_number(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


def load_model(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise InputError("cannot read model %s: %s" % (path, e.strerror))
    try:
        m = json.loads(text)
    except ValueError as e:
        raise InputError("model %s is not valid JSON: %s" % (path, e))
    if not isinstance(m, dict):
        raise InputError("model %s: expected a JSON object" % path)
    if m.get("format") != "drover-sample-model":
        raise InputError("model %s: not a drover sample model "
                         "(format is %r)" % (path, m.get("format")))
    task = m.get("task")
    if task not in ("logistic", "linear"):
        raise InputError("model %s: unknown task %r" % (path, task))
    nf = m.get("features")
    w = m.get("weights")
    if not isinstance(nf, int) or isinstance(nf, bool) or nf < 1:
        raise InputError("model %s: bad 'features' %r" % (path, nf))
    if (not isinstance(w, list) or len(w) != nf
            or not all(is_number(v) for v in w)):
        raise InputError("model %s: 'weights' must be %d finite numbers"
                         % (path, nf))
    if not is_number(m.get("bias")):
        raise InputError("model %s: bad 'bias' %r" % (path, m.get("bias")))
    return m


def parse_float(s, where):
    try:
        v = float(s)
    except ValueError:
        raise InputError("%s: %r is not a number" % (where, s))
    if not math.isfinite(v):
        raise InputError("%s: %r is not finite" % (where, s))
    return v


def read_input(path, nf):
    """Returns (rows of features, labels or None)."""
    try:
        f = open(path, newline="")
    except OSError as e:
        raise InputError("cannot read input %s: %s" % (path, e.strerror))
    with f:
        records = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not records:
        raise InputError("input %s has no rows" % path)

    label_col = None
    first = records[0]
    try:
        [float(c) for c in first]
        header = None
    except ValueError:
        header = [c.strip().lower() for c in first]
        records = records[1:]
        if not records:
            raise InputError("input %s has a header but no rows" % path)

    ncols = len(records[0])
    if header is not None:
        if len(header) != ncols:
            raise InputError("input %s: header has %d columns, rows have %d"
                             % (path, len(header), ncols))
        if "label" in header:
            label_col = header.index("label")
    elif ncols == nf + 1:
        label_col = ncols - 1  # no header: a trailing label column
    nfeat = ncols - (1 if label_col is not None else 0)
    if nfeat != nf:
        raise InputError("input %s has %d feature columns, the model "
                         "expects %d" % (path, nfeat, nf))

    xs, ys = [], ([] if label_col is not None else None)
    first_line = 2 if header is not None else 1
    for i, r in enumerate(records):
        where = "%s line %d" % (path, i + first_line)
        if len(r) != ncols:
            raise InputError("%s: %d columns, expected %d"
                             % (where, len(r), ncols))
        vals = [parse_float(c, where) for c in r]
        if label_col is not None:
            ys.append(vals.pop(label_col))
        xs.append(vals)
    return xs, ys


def predict(model, batch):
    w, b = model["weights"], model["bias"]
    out = []
    for x in batch:
        z = b
        for wi, xi in zip(w, x):
            z += wi * xi
        if model["task"] == "logistic":
            if z >= 0:
                p = 1.0 / (1.0 + math.exp(-z))
            else:
                e = math.exp(z)
                p = e / (1.0 + e)
            out.append(p)
        else:
            out.append(z)
    return out


def main(argv):
    ap = argparse.ArgumentParser(description="batch inference with a "
                                 "train.py model")
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--batch-size", type=int, default=1000)
    a = ap.parse_args(argv)
    if a.batch_size < 1:
        ap.error("--batch-size must be >= 1")

    t0 = time.monotonic()
    try:
        model = load_model(a.model)
        xs, ys = read_input(a.input, model["features"])
    except InputError as e:
        fail(str(e))
    logistic = model["task"] == "logistic"
    n = len(xs)
    print("score: model %s (%s, %d features, trained loss %s), %d rows "
          "from %s%s" % (a.model, model["task"], model["features"],
                         ("%.4f" % model["final_loss"])
                         if is_number(model.get("final_loss")) else "?",
                         n, a.input, ", with labels" if ys is not None else ""),
          flush=True)

    d = os.path.dirname(os.path.abspath(a.output))
    try:
        os.makedirs(d, exist_ok=True)
        tmp = "%s.tmp.%d" % (a.output, os.getpid())
        out = open(tmp, "w", newline="")
    except OSError as e:
        fail("cannot write %s: %s" % (a.output, e.strerror))

    total = 0.0
    correct = 0
    sqerr = 0.0
    positives = 0
    nbatches = (n + a.batch_size - 1) // a.batch_size
    with out:
        wr = csv.writer(out, lineterminator="\n")
        wr.writerow(["row", "probability", "prediction"] if logistic
                    else ["row", "prediction"])
        for bi in range(nbatches):
            lo = bi * a.batch_size
            hi = min(n, lo + a.batch_size)
            preds = predict(model, xs[lo:hi])
            for k, p in enumerate(preds):
                i = lo + k
                total += p
                if logistic:
                    cls = 1 if p >= 0.5 else 0
                    positives += cls
                    wr.writerow([i, "%.6f" % p, cls])
                    if ys is not None and cls == int(round(ys[i])):
                        correct += 1
                else:
                    wr.writerow([i, "%.6f" % p])
                    if ys is not None:
                        sqerr += (p - ys[i]) ** 2
            print("batch %d/%d: rows %d-%d scored (%.0f%%)"
                  % (bi + 1, nbatches, lo, hi - 1, 100.0 * hi / n),
                  flush=True)
    os.replace(tmp, a.output)

    print("rows scored: %d" % n)
    if logistic:
        print("mean probability: %.4f" % (total / n))
        print("predicted positive: %d (%.1f%%)"
              % (positives, 100.0 * positives / n))
        if ys is not None:
            print("accuracy: %.4f (%d/%d)" % (correct / n, correct, n))
    else:
        print("mean prediction: %.4f" % (total / n))
        if ys is not None:
            print("mse: %.6f" % (sqerr / n))
    print("predictions written to %s in %.1f s"
          % (a.output, time.monotonic() - t0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
