"""A fault-injecting HTTP(S) reverse proxy between novajoin and a real peer.

``FaultProxy(upstream)`` listens on 127.0.0.1:``port`` (HTTP, or HTTPS with
``tls=``) and forwards each request to ``upstream`` (FreeIPA, keystone,
nova). At any time, from any thread, a test switches it to:

- ``passthrough()``: requests and answers go through unchanged (method, path,
  query, body, end-to-end headers; every ``Set-Cookie`` of an answer),
- ``delay(seconds)``: each request is held that long before it is forwarded
  (a slow peer),
- ``fail(status, body, after=0)``: each request (after the next ``after``)
  is answered with that status and is never forwarded (an Apache-style
  error page; keep-alive intact),
- ``down()`` / ``up()``: connections refused and open ones cut / served again,
  on the same port.

``requests`` counts the requests forwarded, ``failed`` the ones answered
with an injected error, so a test proves its fault was exercised.

Guarantees: hop-by-hop headers are not forwarded and each answer is
re-framed with Content-Length (a chunked upstream answer too); a request
held by ``delay`` when ``down()`` or ``close()`` cuts its connection is
dropped, never forwarded afterwards; nothing is logged (bodies and
Authorization carry secrets); all threads are daemon threads; one request
and one answer at a time are in memory per connection.
"""
import contextlib
import http
import http.client
import socket
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler

# RFC 9110 7.6.1, plus the ones this proxy answers itself (Expect) or
# re-frames (Content-Length).
HOP_BY_HOP = frozenset([
    'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate',
    'proxy-authorization', 'te', 'trailer', 'trailers', 'transfer-encoding',
    'upgrade', 'expect', 'content-length'])

ERROR_PAGE = '''<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>{code} {phrase}</title>
</head><body>
<h1>{phrase}</h1>
<p>{description}</p>
</body></html>
'''


def error_page(status):
    """The page Apache answers ``status`` with, more or less."""
    try:
        st = http.HTTPStatus(status)
        phrase, description = st.phrase, st.description
    except ValueError:
        phrase, description = 'Error', ''
    return ERROR_PAGE.format(code=status, phrase=phrase, description=description)


def _end_to_end(headers):
    """``headers`` (name, value) pairs without the hop-by-hop ones, including
    those the Connection header names."""
    named = set(HOP_BY_HOP)
    for name, value in headers:
        if name.lower() == 'connection':
            named.update(t.strip().lower() for t in value.split(','))
    return [(name, value) for name, value in headers if name.lower() not in named]


class _Upstream(http.client.HTTPSConnection):
    """HTTPS to an address, with the TLS server name (SNI, certificate check)
    given apart: the proxy reaches 127.0.0.1:443, FreeIPA's certificate
    names ipa.example.test."""

    def __init__(self, host, port, server_name, context, timeout):
        super().__init__(host, port, context=context, timeout=timeout)
        self._server_name = server_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock,
                                              server_hostname=self._server_name)


class _Handler(BaseHTTPRequestHandler):
    """One client connection; ``self.server`` is the FaultProxy."""

    protocol_version = 'HTTP/1.1'     # keep-alive: requests.Session reuses
    timeout = 300                     # an idle keep-alive connection ends
    disable_nagle_algorithm = True    # headers and body go as two writes

    def __init__(self, sock, address, proxy, cut):
        self.cut = cut
        super().__init__(sock, address, proxy)

    def log_message(self, *args):
        pass    # never log: paths are harmless, but bodies and headers are not

    def _proxy(self):
        body = self._read_body()
        if body is None:
            return
        mode, arg = self.server._current()
        if mode == 'delay' and self.cut.wait(arg):
            self.close_connection = True    # cut by down(): never forwarded
            return
        if mode == 'fail':
            self.server._count('failed')
            return self._answer(*arg)
        self.server._count('requests')
        try:
            status, reason, headers, answer = self.server._forward(
                self.command, self.path, self.headers.items(), body)
        except (OSError, http.client.HTTPException) as exc:
            # what Apache answers when its backend is unreachable
            self.server.last_error = '%s: %s' % (type(exc).__name__, exc)
            return self._answer(502, error_page(502), 'text/html; charset=iso-8859-1')
        self.send_response_only(status, reason)   # not send_response: no 2nd Date
        for name, value in _end_to_end(headers):
            self.send_header(name, value)
        # HEAD, 1xx, 204, 304 have no body: their Content-Length, if any, is
        # the upstream's, passed through
        if self.command == 'HEAD' or status < 200 or status in (204, 304):
            for name, value in headers:
                if name.lower() == 'content-length':
                    self.send_header(name, value)
            self.end_headers()
            return
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _read_body(self):
        """The request's body, de-chunked; None after answering a bad one."""
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            return self._read_chunked()
        length = self.headers.get('Content-Length')
        if length is None:
            return b''
        try:
            length = int(length)
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.send_error(400, 'Bad Content-Length')
            return None
        return self.rfile.read(length)

    def _read_chunked(self):
        parts = []
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b';', 1)[0], 16)
            except ValueError:
                self.send_error(400, 'Bad chunk')
                return None
            if size == 0:
                break
            parts.append(self.rfile.read(size))
            self.rfile.readline(65537)
        while self.rfile.readline(65537) not in (b'\r\n', b'\n', b''):
            pass    # trailers
        return b''.join(parts)

    def _answer(self, status, body, content_type):
        if isinstance(body, str):
            body = body.encode('latin-1', 'replace')
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    # every method goes through as it came (BaseHTTPRequestHandler: do_<METHOD>)
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _proxy  # noqa: N815


class FaultProxy:
    """127.0.0.1:``port`` forwarding HTTP/1.1 to ``upstream``.

    ``upstream``: base URL, 'https://127.0.0.1:443' or 'http://127.0.0.1:5000'
    (its path, if any, prefixes every request's). For https, ``server_name``
    is the TLS server name sent and checked (default: the URL's host) and
    ``ca`` the CA file verifying the upstream (default: the system's).
    ``tls``: {'cert', 'key'} (make_tls()'s) to serve HTTPS. ``timeout``:
    seconds for connecting to and each read from the upstream; an upstream
    that is unreachable or fails TLS is answered 502 (``last_error`` says
    why). The proxy listens from the start; ``close()`` or ``with`` ends it.
    """

    def __init__(self, upstream, server_name=None, ca=None, tls=None, timeout=60):
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme not in ('http', 'https'):
            raise ValueError('upstream must be an http(s) URL: %r' % upstream)
        self._scheme, self._host = parts.scheme, parts.hostname
        self._upstream_port = parts.port or (443 if parts.scheme == 'https' else 80)
        self._prefix = parts.path.rstrip('/')
        self._server_name = server_name or parts.hostname
        self._timeout = timeout
        self._client_tls = None
        if parts.scheme == 'https':
            self._client_tls = ssl.create_default_context(cafile=ca)
        self._server_tls = None
        if tls:
            self._server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._server_tls.load_cert_chain(tls['cert'], tls['key'])
        self.scheme = 'https' if tls else 'http'
        self.requests = 0
        self.failed = 0
        self.last_error = None
        self._mode = ('pass', None)
        self._pass_left = 0     # fail(after=N): requests still passed
        self._lock = threading.Lock()
        self._conns = {}        # client socket: its cut Event
        self._gen = 0           # bumped by down(): accepts of an older listener are cut
        self._closed = False
        self._server = None
        # like TCPForwarder: held bound while not listening, so a client is
        # refused and nobody else takes the port
        self._bound = self._bind(0)
        self.port = self._bound.getsockname()[1]
        self.up()

    @property
    def url(self):
        """scheme://127.0.0.1:port (with ``tls``, the certificate must name
        127.0.0.1; else use https://<its name>:port)."""
        return '%s://127.0.0.1:%d' % (self.scheme, self.port)

    # -- faults --------------------------------------------------------------

    def passthrough(self):
        with self._lock:
            self._mode = ('pass', None)
        return self

    def delay(self, seconds):
        with self._lock:
            self._mode = ('delay', float(seconds))
        return self

    def fail(self, status=503, body=None, content_type='text/html; charset=iso-8859-1',
             after=0):
        """Answer every request with ``status`` and ``body`` (str or bytes;
        default: an Apache-style page) without forwarding it; the first
        ``after`` requests from now on still pass (a fault in mid-run)."""
        with self._lock:
            self._mode = ('fail', (status, error_page(status) if body is None else body,
                                   content_type))
            self._pass_left = after
        return self

    def up(self):
        """Listen (again) on ``port``."""
        with self._lock:
            if self._closed:
                raise RuntimeError('FaultProxy is closed')
            if self._server is not None:
                return self
            server, self._bound = self._bound, None
            if server is None:
                server = self._bind(self.port)
            server.listen(64)
            self._server = server
            gen = self._gen
        threading.Thread(target=self._accept, args=(server, gen), daemon=True,
                         name='faultproxy-accept-%d' % self.port).start()
        return self

    def down(self):
        """Refuse new connections (the port stays reserved) and cut the open
        ones, requests held by ``delay`` included."""
        self._stop(rebind=True)
        return self

    def close(self):
        self._stop(rebind=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- internals -------------------------------------------------------------

    @staticmethod
    def _bind(port):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:
            sock.close()
            raise
        return sock

    def _stop(self, rebind):
        with self._lock:
            server, self._server = self._server, None
            bound, self._bound = self._bound, None
            conns, self._conns = self._conns, {}
            self._gen += 1
            self._closed = self._closed or not rebind
        for sock in (server, bound):
            if sock is not None:
                # close() alone leaves a thread blocked in accept() listening
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        for conn, cut in conns.items():
            cut.set()
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if rebind:
            with contextlib.suppress(OSError):   # taken meanwhile: up() says so
                bound = self._bind(self.port)
                with self._lock:
                    if self._server is None and self._bound is None and not self._closed:
                        self._bound, bound = bound, None
                if bound is not None:
                    bound.close()

    def _accept(self, server, gen):
        while True:
            try:
                conn, address = server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, address, gen),
                             daemon=True).start()

    def _serve(self, conn, address, gen):
        cut = threading.Event()
        try:
            if self._server_tls is not None:
                # handshake here, not in the accept loop: a stalled client
                # holds only its own thread
                conn.settimeout(10)
                conn = self._server_tls.wrap_socket(conn, server_side=True)
            with self._lock:
                if gen != self._gen:      # down() came between accept and here
                    raise OSError('cut')
                self._conns[conn] = cut
            _Handler(conn, address, self, cut)
        except (OSError, ValueError):
            pass    # cut by down(), or the client went away
        finally:
            with self._lock:
                self._conns.pop(conn, None)
            with contextlib.suppress(OSError):
                conn.close()

    def _current(self):
        with self._lock:
            if self._mode[0] == 'fail' and self._pass_left > 0:
                self._pass_left -= 1
                return ('pass', None)
            return self._mode

    def _count(self, name):
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def _forward(self, method, path, headers, body):
        """(status, reason, [(name, value)...], body) of the upstream's answer
        to one request, over a connection of its own."""
        if self._scheme == 'https':
            upstream = _Upstream(self._host, self._upstream_port, self._server_name,
                                 self._client_tls, self._timeout)
        else:
            upstream = http.client.HTTPConnection(self._host, self._upstream_port,
                                                  timeout=self._timeout)
        try:
            has_host = any(name.lower() == 'host' for name, _ in headers)
            upstream.putrequest(method, self._prefix + path, skip_host=has_host,
                                skip_accept_encoding=True)
            for name, value in _end_to_end(headers):
                upstream.putheader(name, value)
            if body or any(name.lower() in ('content-length', 'transfer-encoding')
                           for name, _ in headers):
                upstream.putheader('Content-Length', str(len(body)))
            upstream.endheaders(body or None)   # bytes: one write with the headers
            resp = upstream.getresponse()
            return resp.status, resp.reason, resp.getheaders(), resp.read()
        finally:
            upstream.close()
