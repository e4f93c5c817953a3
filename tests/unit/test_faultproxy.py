"""tests/functional/faultproxy.py against a stdlib upstream in a thread (no
peers): what passes through unchanged, and each fault, exercised and counted.
"""
import http.client
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
import requests

from tests.functional.faultproxy import FaultProxy
from tests.functional.novajoin_server import make_tls


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _handle(self):
        length = int(self.headers.get('Content-Length', 0))
        body = self.rfile.read(length)
        self.server.seen.append((self.command, self.path, self.headers, body))
        if self.path == '/chunked':
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            for part in (b'first ', b'second ', b'third'):
                self.wfile.write(b'%x\r\n%s\r\n' % (len(part), part))
            self.wfile.write(b'0\r\n\r\n')
            return
        answer = json.dumps({'echo': body.decode()}).encode()
        self.send_response(201, 'Made It')
        self.send_header('Content-Type', 'application/json')
        self.send_header('Set-Cookie', 'ipa_session=abc; Path=/ipa; Secure')
        self.send_header('Set-Cookie', 'other=xyz; Path=/')
        self.send_header('WWW-Authenticate', 'Negotiate')
        self.send_header('Connection', 'keep-alive')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(answer)

    do_GET = do_POST = do_HEAD = do_DELETE = _handle  # noqa: N815

    def log_message(self, *args):
        pass


def _serve(tls=None):
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Upstream)
    server.daemon_threads = True
    server.seen = []
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls['cert'], tls['key'])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def upstream():
    server = _serve()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream):
    with FaultProxy('http://127.0.0.1:%d' % upstream.server_port, timeout=10) as p:
        yield p


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    """The upstream's (ipa.example.test only, like FreeIPA's) and the
    proxy's own, each with its throwaway CA."""
    return (make_tls(tmp_path_factory.mktemp('upstream'), names=('DNS:ipa.example.test',)),
            make_tls(tmp_path_factory.mktemp('front'),
                     names=('DNS:ipa.example.test', 'DNS:localhost', 'IP:127.0.0.1')))


def test_passthrough_keeps_method_path_body_headers_and_cookies(proxy, upstream):
    with requests.Session() as session:
        resp = session.post(proxy.url + '/ipa/session/json?a=1&b=two',
                            data=b'{"method": "ping"}', timeout=10, headers={
                                'Authorization': 'Negotiate c2VjcmV0',
                                'Cookie': 'ipa_session=old',
                                'Referer': 'https://ipa.example.test/ipa',
                                'Content-Type': 'application/json',
                                'X-Custom': 'kept'})
        again = session.delete(proxy.url + '/other', timeout=10)
    assert resp.status_code == 201 and resp.reason == 'Made It'
    assert resp.json() == {'echo': '{"method": "ping"}'}
    assert resp.raw.headers.getlist('Set-Cookie') == [
        'ipa_session=abc; Path=/ipa; Secure', 'other=xyz; Path=/']
    assert resp.headers['WWW-Authenticate'] == 'Negotiate'
    assert resp.headers['Content-Type'] == 'application/json'
    assert again.status_code == 201
    (method, path, headers, body), second = upstream.seen
    assert (method, path, body) == ('POST', '/ipa/session/json?a=1&b=two',
                                    b'{"method": "ping"}')
    for name, value in (('Authorization', 'Negotiate c2VjcmV0'),
                        ('Cookie', 'ipa_session=old'),
                        ('Referer', 'https://ipa.example.test/ipa'),
                        ('Content-Type', 'application/json'), ('X-Custom', 'kept'),
                        ('Content-Length', '18'), ('Host', '127.0.0.1:%d' % proxy.port)):
        assert headers[name] == value
    assert 'Connection' not in headers and 'Keep-Alive' not in headers
    assert second[:2] == ('DELETE', '/other')
    assert proxy.requests == 2 and proxy.failed == 0


def test_keep_alive_and_chunked_answers_are_reframed(proxy):
    conn = http.client.HTTPConnection('127.0.0.1', proxy.port, timeout=10)
    try:
        for _ in range(2):          # the same client connection, twice
            conn.request('GET', '/chunked')
            resp = conn.getresponse()
            assert resp.read() == b'first second third'
            assert resp.getheader('Transfer-Encoding') is None
            assert resp.getheader('Content-Length') == '18'
            assert resp.getheader('Connection') is None
        conn.request('HEAD', '/x')
        resp = conn.getresponse()
        assert resp.status == 201 and resp.read() == b''
        assert resp.getheader('Content-Length') == str(len(json.dumps({'echo': ''})))
        conn.request('GET', '/chunked')
        assert conn.getresponse().read() == b'first second third'
    finally:
        conn.close()
    assert proxy.requests == 4


def test_a_chunked_request_body_is_forwarded_with_a_length(proxy, upstream):
    resp = requests.post(proxy.url + '/x', data=iter([b'ab', b'cd']), timeout=10)
    assert resp.json() == {'echo': 'abcd'}
    assert upstream.seen[0][2]['Content-Length'] == '4'
    assert 'Transfer-Encoding' not in upstream.seen[0][2]


def test_delay_holds_each_request(proxy, upstream):
    proxy.delay(0.5)
    start = time.monotonic()
    assert requests.get(proxy.url + '/slow', timeout=10).status_code == 201
    assert time.monotonic() - start >= 0.5
    proxy.passthrough()
    assert requests.get(proxy.url + '/fast', timeout=10).status_code == 201
    assert proxy.requests == 2 and len(upstream.seen) == 2


def test_down_drops_a_request_held_by_delay(proxy, upstream):
    proxy.delay(30)
    errors = []

    def call():
        try:
            requests.post(proxy.url + '/held', data=b'x', timeout=10)
        except requests.ConnectionError as exc:
            errors.append(exc)
    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)
    proxy.down()
    caller.join(10)
    assert not caller.is_alive() and len(errors) == 1
    proxy.passthrough().up()
    time.sleep(0.2)
    assert upstream.seen == [] and proxy.requests == 0


def test_fail_answers_without_forwarding_and_keeps_the_connection(proxy, upstream):
    proxy.fail(503)
    conn = http.client.HTTPConnection('127.0.0.1', proxy.port, timeout=10)
    try:
        for _ in range(2):
            conn.request('POST', '/ipa/session/json', body=b'{"secret": 1}')
            resp = conn.getresponse()
            page = resp.read().decode()
            assert resp.status == 503
            assert resp.getheader('Content-Type').startswith('text/html')
            assert 'Service Unavailable' in page
        proxy.fail(500, body='boom')
        conn.request('GET', '/')
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (500, b'boom')
        proxy.passthrough()
        conn.request('GET', '/back')
        assert conn.getresponse().status == 201
    finally:
        conn.close()
    assert proxy.failed == 3 and proxy.requests == 1
    assert [s[1] for s in upstream.seen] == ['/back']


def test_down_refuses_and_cuts_then_up_serves_on_the_same_port(proxy):
    port = proxy.port
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    conn.request('GET', '/')
    assert conn.getresponse().read()
    with requests.Session() as session:
        assert session.get(proxy.url, timeout=10).status_code == 201
        proxy.down()
        with pytest.raises((OSError, http.client.HTTPException)):
            conn.request('GET', '/')     # the open connection was cut
            conn.getresponse()
        with pytest.raises(requests.ConnectionError):
            session.get(proxy.url, timeout=10)
        with pytest.raises(requests.ConnectionError):
            requests.get(proxy.url, timeout=10)
        # the port stays reserved while down
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(('127.0.0.1', port))
        proxy.down()                     # twice is harmless
        proxy.up()
        assert proxy.port == port
        assert session.get(proxy.url, timeout=10).status_code == 201
    conn.close()
    assert proxy.requests == 3


def test_close_ends_it(upstream):
    with FaultProxy('http://127.0.0.1:%d' % upstream.server_port) as proxy:
        assert requests.get(proxy.url, timeout=10).status_code == 201
    with pytest.raises(requests.ConnectionError):
        requests.get(proxy.url, timeout=10)
    with pytest.raises(RuntimeError):
        proxy.up()


def test_tls_on_both_sides(certs):
    upstream_tls, front_tls = certs
    server = _serve(upstream_tls)
    try:
        with FaultProxy('https://127.0.0.1:%d' % server.server_port,
                        server_name='ipa.example.test', ca=upstream_tls['ca'],
                        tls=front_tls, timeout=10) as proxy:
            resp = requests.post('https://localhost:%d/ipa/json' % proxy.port,
                                 data=b'hi', verify=front_tls['ca'], timeout=10)
            assert resp.status_code == 201 and resp.json() == {'echo': 'hi'}
            assert proxy.url.startswith('https://')
            assert requests.get(proxy.url, verify=front_tls['ca'],
                                timeout=10).status_code == 201
            # the proxy's certificate is not trusted by the upstream's CA
            with pytest.raises(requests.exceptions.SSLError):
                requests.get(proxy.url, verify=upstream_tls['ca'], timeout=10)
        assert [s[1] for s in server.seen] == ['/ipa/json', '/']
        # the upstream is verified: another name is refused, nothing forwarded
        with FaultProxy('https://127.0.0.1:%d' % server.server_port,
                        server_name='other.example.test', ca=upstream_tls['ca'],
                        timeout=10) as proxy:
            resp = requests.get(proxy.url + '/nope', timeout=10)
            assert resp.status_code == 502
            assert 'certificate' in proxy.last_error.lower() or \
                'hostname' in proxy.last_error.lower()
        assert len(server.seen) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_fail_after_lets_the_next_requests_through_then_fails_each(proxy,
                                                                   upstream):
    assert requests.get(proxy.url + '/before', timeout=10).status_code == 201
    proxy.fail(503, after=2)
    statuses = [requests.get(proxy.url + '/n%d' % i, timeout=10).status_code
                for i in range(4)]
    assert statuses == [201, 201, 503, 503]
    assert [s[1] for s in upstream.seen] == ['/before', '/n0', '/n1']
    assert proxy.requests == 3 and proxy.failed == 2
    proxy.passthrough()
    assert requests.get(proxy.url + '/back', timeout=10).status_code == 201
    assert [s[1] for s in upstream.seen][-1] == '/back'
    assert proxy.requests == 4 and proxy.failed == 2
