#!/usr/bin/env python3
"""tcp_proxy.py LISTEN_PORT TARGET_PORT - a TCP proxy on loopback for
partition tests.

Every connection to 127.0.0.1:LISTEN_PORT is relayed to 127.0.0.1:TARGET_PORT.
A test makes a partition by freezing the proxy (kill -STOP PID): the
connections stay open but nothing crosses in either direction, as when a
network path drops packets; kill -CONT releases what was held.  It writes
"ready" on stdout once it listens, and runs until killed (at most
--max-seconds, 600 by default, so that a forgotten proxy ends by itself).
Only loopback addresses are ever used.
"""
import selectors
import socket
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: tcp_proxy.py LISTEN_PORT TARGET_PORT [--max-seconds N]")
    lport, tport = int(sys.argv[1]), int(sys.argv[2])
    max_s = 600
    if len(sys.argv) == 5 and sys.argv[3] == "--max-seconds":
        max_s = int(sys.argv[4])
    sel = selectors.DefaultSelector()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", lport))
    lsock.listen(64)
    lsock.setblocking(False)
    sel.register(lsock, selectors.EVENT_READ, None)
    print("ready", flush=True)
    peer = {}
    deadline = time.monotonic() + max_s

    def close(s):
        for x in (s, peer.get(s)):
            if x is None:
                continue
            try:
                sel.unregister(x)
            except (KeyError, ValueError):
                pass
            x.close()
            peer.pop(x, None)

    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            if s is lsock:
                c, _ = lsock.accept()
                u = socket.create_connection(("127.0.0.1", tport))
                for x in (c, u):
                    x.setblocking(True)
                    sel.register(x, selectors.EVENT_READ, None)
                peer[c], peer[u] = u, c
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data or s not in peer:
                close(s)
                continue
            try:
                peer[s].sendall(data)
            except OSError:
                close(s)


if __name__ == "__main__":
    main()
