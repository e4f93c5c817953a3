"""gunicorn's gthread worker: when each request reached this process, and
one write per response.

gthread accepts connections in its main thread and queues them for its
thread pool; time spent in that queue is invisible to the application, yet
it counts against nova's 5 s read timeout. This worker records when a
connection was handed to the pool (accepted, or readable again on a kept-
alive connection) and exposes it to the request's thread as ``arrived_at()``,
so that the request's deadline starts there and a request that already waited
too long is answered 503 at once instead of being worked on for nobody.

It also sends each response in one write. gunicorn writes the status line
and headers, then the body, in two ``sendall`` calls; a replica killed
between the two (``kill -9``, OOM) leaves the load balancer holding headers
without a body, which it has already passed on and so cannot retry on
another replica: nova gets a truncated answer and no OTP (seen in
tests/functional/test_faults.py). Held until the request is handled, a
response leaves whole or not at all, and an unanswered request is one a load
balancer retries (HAProxy's ``retry-on empty-response``). novajoin's answers
are a few KiB, so holding them costs nothing.

Only gthread's ``enqueue_req``, ``handle`` and ``handle_request(req, conn)``
with ``conn.sock`` are relied on (gunicorn >= 20); without the first two
``arrived_at()`` is None and the deadline starts in the app.
"""
import threading
import time

from gunicorn.workers import gthread

_local = threading.local()


def arrived_at():
    """time.monotonic() when this thread's request reached the worker, or None."""
    return getattr(_local, 'arrived', None)


class Worker(gthread.ThreadWorker):

    def enqueue_req(self, conn):
        conn.novajoin_arrived = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        _local.arrived = getattr(conn, 'novajoin_arrived', None)
        try:
            return super().handle(conn)
        finally:
            _local.arrived = None

    def handle_request(self, req, conn):
        sock = conn.sock
        held = conn.sock = OneWrite(sock)
        try:
            keepalive = super().handle_request(req, conn)
        except BaseException:
            # a response that failed half-way goes nowhere: gunicorn answers
            # 500 on the real socket when nothing was sent, else closes it
            held.discard()
            raise
        finally:
            conn.sock = sock
        held.flush()
        return keepalive


class OneWrite:
    """A socket whose ``sendall`` data is held until ``flush()``: one
    response, one write. Everything else goes to the socket itself; what
    writes around the held data (``send``: "100 Continue"; ``sendfile``)
    sends it first, so the bytes keep their order."""

    def __init__(self, sock):
        self._sock = sock
        self._held = []

    def sendall(self, data):
        self._held.append(bytes(data))

    def send(self, data):
        self.flush()
        return self._sock.send(data)

    def sendfile(self, *args, **kwargs):
        self.flush()
        return self._sock.sendfile(*args, **kwargs)

    def flush(self):
        if self._held:
            data, self._held = b''.join(self._held), []
            self._sock.sendall(data)

    def discard(self):
        self._held = []

    def __getattr__(self, name):
        return getattr(self._sock, name)
