"""novajoin.api.worker: gunicorn's gthread worker that records arrival times."""
import time

from gunicorn import util
from gunicorn.workers import gthread

from novajoin.api import worker


class Conn:
    pass


def test_gunicorn_loads_it_as_a_gthread_worker():
    cls = util.load_class('novajoin.api.worker.Worker')
    assert cls is worker.Worker and issubclass(cls, gthread.ThreadWorker)


def test_the_arrival_is_known_while_the_request_is_handled_and_only_then(
        monkeypatch):
    seen = []
    monkeypatch.setattr(gthread.ThreadWorker, 'enqueue_req',
                        lambda self, conn: None)
    monkeypatch.setattr(gthread.ThreadWorker, 'handle',
                        lambda self, conn: seen.append(worker.arrived_at()))
    w = worker.Worker.__new__(worker.Worker)      # no gunicorn arbiter here
    conn = Conn()
    before = time.monotonic()
    w.enqueue_req(conn)
    w.handle(conn)
    assert before <= seen[0] <= time.monotonic()
    assert worker.arrived_at() is None            # cleared after the request
    w.handle(Conn())                              # never queued: unknown
    assert seen[1] is None
