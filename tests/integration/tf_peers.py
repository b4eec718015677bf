"""One task of a TensorFlow-shaped job, without TensorFlow (not packaged
in Debian 12): it reads TF_CONFIG as MultiWorkerMirroredStrategy would,
listens on its own address:port from the cluster spec and connects to
every other task's, an all-to-all exchange that proves every address and
port works and names the task it should.  Standard library only.

Prints "tf task TYPE INDEX of W workers P ps at ADDR:PORT: peers N ok"
and exits 0 once it has reached every peer and every peer has reached it.
"""
import json
import os
import socket
import sys
import threading
import time

cfg = json.loads(os.environ["TF_CONFIG"])
assert cfg["environment"] == "cloud", cfg
cluster, task = cfg["cluster"], cfg["task"]
me = (task["type"], int(task["index"]))
tasks = [(t, i) for t in ("worker", "ps") for i in range(len(cluster.get(t, [])))]
assert me in tasks, (me, tasks)
assert set(cluster) <= {"worker", "ps"}, cluster


def addr(t):
    host, port = cluster[t[0]][t[1]].rsplit(":", 1)
    return host, int(port)


def name(t):
    return "%s:%d" % t


peers = [t for t in tasks if t != me]
served = set()
lock = threading.Lock()
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(addr(me))
srv.listen(64)


def serve():
    while True:
        c, _ = srv.accept()
        with c:
            f = c.makefile("rw")
            who = f.readline().strip()
            f.write(name(me) + "\n")
            f.flush()
            with lock:
                served.add(who)


threading.Thread(target=serve, daemon=True).start()
deadline = time.time() + 90
for p in peers:
    while True:
        try:
            with socket.create_connection(addr(p), timeout=5) as c:
                f = c.makefile("rw")
                f.write(name(me) + "\n")
                f.flush()
                got = f.readline().strip()
            break
        except OSError:
            if time.time() > deadline:
                sys.exit("task %s: cannot reach %s at %s" % (name(me), name(p), addr(p)))
            time.sleep(0.2)
    if got != name(p):
        sys.exit("task %s: %s:%d answered as %r, not %s" % ((name(me),) + addr(p) + (got, name(p))))
while True:
    with lock:
        if served >= {name(p) for p in peers}:
            break
    if time.time() > deadline:
        sys.exit("task %s: not reached by %s" % (name(me), sorted({name(p) for p in peers} - served)))
    time.sleep(0.1)
print("tf task %s %d of %d workers %d ps at %s:%d: peers %d ok" % (
    me[0], me[1], len(cluster["worker"]), len(cluster.get("ps", [])),
    addr(me)[0], addr(me)[1], len(peers)), flush=True)
# stay until the others are done with us too (they may still be checking)
time.sleep(1)
