"""gunicorn's gthread worker, plus when each request reached this process.

gthread accepts connections in its main thread and queues them for its
thread pool; time spent in that queue is invisible to the application, yet
it counts against nova's 5 s read timeout. This worker records when a
connection was handed to the pool (accepted, or readable again on a kept-
alive connection) and exposes it to the request's thread as ``arrived_at()``,
so that the request's deadline starts there and a request that already waited
too long is answered 503 at once instead of being worked on for nobody.

Only gthread's ``enqueue_req`` and ``handle`` are relied on (gunicorn >= 20);
without them ``arrived_at()`` is None and the deadline starts in the app.
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
