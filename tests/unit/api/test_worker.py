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


# -- one write per response ----------------------------------------------------

class Sock:
    """What the worker writes to: every call, in order."""

    def __init__(self):
        self.calls = []

    def sendall(self, data):
        self.calls.append(('sendall', bytes(data)))

    def send(self, data):
        self.calls.append(('send', bytes(data)))
        return len(data)

    def sendfile(self, *args, **kwargs):
        self.calls.append(('sendfile', args))

    def shutdown(self, how):
        self.calls.append(('shutdown', how))

    def close(self):
        self.calls.append(('close',))


def test_held_writes_leave_as_one_and_in_order():
    sock = Sock()
    held = worker.OneWrite(sock)
    held.sendall(b'HTTP/1.1 200 OK\r\n\r\n')
    held.sendall(memoryview(b'{"a": 1}'))
    assert sock.calls == []                        # nothing before the flush
    held.flush()
    held.flush()                                   # nothing twice
    assert sock.calls == [('sendall', b'HTTP/1.1 200 OK\r\n\r\n{"a": 1}')]
    held.sendall(b'head')
    held.sendfile('file')                          # what was held goes first
    held.sendall(b'x')
    held.send(b'y')
    assert sock.calls[1:] == [('sendall', b'head'), ('sendfile', ('file',)),
                              ('sendall', b'x'), ('send', b'y')]
    held.sendall(b'lost')
    held.discard()
    held.flush()
    held.shutdown(1)                               # the rest is the socket's
    assert sock.calls[5:] == [('shutdown', 1)]


def real_worker(app):
    """The worker with what gunicorn's handle_request reads, no arbiter."""
    from gunicorn import config
    w = worker.Worker.__new__(worker.Worker)
    w.cfg = config.Config()
    w.wsgi = app
    w.log = type('Log', (), {'access': lambda *a: None,
                             'exception': lambda *a: None,
                             'debug': lambda *a: None})()
    w.nr, w.max_requests, w.alive = 0, 1000, True
    w.keepalived_conns, w.max_keepalived = [], 10
    return w


def request(w):
    from gunicorn.http import parser
    return next(parser.RequestParser(
        w.cfg, iter([b'GET /v1/ HTTP/1.1\r\nHost: x\r\n\r\n']), ('127.0.0.1', 1)))


class Wire(Sock):
    """One end of a real socket pair, its writes recorded."""

    def __init__(self, sock):
        super().__init__()
        self.sock = sock

    def sendall(self, data):
        super().sendall(data)
        self.sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def handled(app):
    """(what handle_request returned or raised, the writes, what the peer
    received, whether conn.sock was given back)."""
    import socket
    w = real_worker(app)
    ours, peer = socket.socketpair()
    peer.shutdown(socket.SHUT_WR)                  # the request is parsed already
    conn = Conn()
    conn.sock, conn.client, conn.server = Wire(ours), ('127.0.0.1', 1), ('x', 80)
    wire = conn.sock
    try:
        outcome = w.handle_request(request(w), conn)
    except StopIteration as exc:                   # gunicorn: close it
        outcome = exc
    ours.close()
    received = b''
    while True:
        data = peer.recv(65536)
        if not data:
            break
        received += data
    peer.close()
    return outcome, wire.calls, received, conn.sock is wire


def test_gunicorn_sends_a_response_in_one_write():
    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', '32')])
        return [b'{"hostname": ', b'"vm1.example.test"}']
    outcome, calls, received, given_back = handled(app)
    assert outcome is True and given_back           # kept alive, same socket
    assert calls == [('sendall', received)]         # headers and body together
    head, _, body = received.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200 OK')
    assert body == b'{"hostname": "vm1.example.test"}'


def test_a_response_that_fails_half_way_sends_nothing():
    """Killed or failing mid-answer: no headers without their body, so the
    load balancer may retry elsewhere."""
    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', '32')])
        yield b'{"hostname": '
        raise RuntimeError('broken mid-answer')
    outcome, calls, received, given_back = handled(app)
    assert isinstance(outcome, StopIteration) and given_back
    assert received == b''                          # the connection just ends
