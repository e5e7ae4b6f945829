"""A byte-counting TCP relay between the benchmark's clients and the server.

The local Clerk server counts requests but not bytes, so every client of
the benchmark (clerkfs, the @clerk/backend peer, the curl peer) talks to
this relay instead, and the relay forwards each connection to the server
unchanged, one upstream connection per client connection, counting the
bytes that pass in each direction: HTTP request and response headers and
bodies, as they travel on the wire (TCP/IP framing excluded).

    relay = CountingRelay("127.0.0.1", server.port)
    relay.start()             # relay.base is http://127.0.0.1:PORT
    relay.reset()
    ...
    sent, received = relay.counts()
    relay.stop()

It runs as threads of the benchmark process: one accepting thread and two
pumps per connection.  On loopback it adds a fraction of a millisecond per
request, which is small against the simulated latency.
"""

import socket
import threading

CHUNK = 256 * 1024


class CountingRelay:
    """Relays 127.0.0.1:<port> to an upstream address, counting bytes."""

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(512)
        self.port = self.listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._sent = 0          # client -> server
        self._received = 0      # server -> client
        self._connections = 0
        self._closing = False
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._accept_loop,
                                        name="relay-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._closing = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()

    def reset(self):
        with self._lock:
            self._sent = self._received = self._connections = 0

    def counts(self):
        """(bytes sent to the server, bytes received from it, connections)
        since the last reset."""
        with self._lock:
            return self._sent, self._received, self._connections

    # ---- relaying ------------------------------------------------------

    def _accept_loop(self):
        while not self._closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._open, args=(client,),
                             name="relay-conn", daemon=True).start()

    def _open(self, client):
        try:
            server = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._connections += 1
        done = threading.Barrier(2, action=lambda: _close(client, server))
        threading.Thread(target=self._pump, args=(server, client, False, done),
                         name="relay-down", daemon=True).start()
        self._pump(client, server, True, done)

    def _pump(self, source, sink, upstream, done):
        """Copies source to sink until EOF, then half-closes sink."""
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        try:
            while True:
                n = source.recv_into(buf)
                if n == 0:
                    break
                sink.sendall(view[:n])
                self._add(n, upstream)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        try:
            done.wait()
        except threading.BrokenBarrierError:
            pass

    def _add(self, n, upstream):
        with self._lock:
            if upstream:
                self._sent += n
            else:
                self._received += n


def _close(*sockets):
    for sock in sockets:
        try:
            sock.close()
        except OSError:
            pass
