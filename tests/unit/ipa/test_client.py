"""IPAClient behaviour against the JSON-RPC stand-in (the wire is FreeIPA's)."""
import logging
import threading
import time

import pytest
import requests

from novajoin.ipa import IPAClient
from novajoin.ipa import errors
from novajoin.ipa.auth import PasswordAuth
from novajoin.ipa.client import server_host
from tests.functional.peers import free_port


def client(servers, **kwargs):
    kwargs.setdefault('retries', 1)
    kwargs.setdefault('retry_backoff', 0.01)
    return IPAClient(servers, PasswordAuth('admin', 'Secret123'), scheme='http',
                     **kwargs)


def test_call_returns_result_and_maps_errors(fake_ipa):
    c = client([fake_ipa.address])
    assert c.call('host_add', 'a.example.test', force=True)['value'] == 'a.example.test'
    with pytest.raises(errors.DuplicateEntry) as exc:
        c.call('host_add', 'a.example.test')
    assert exc.value.code == 4002 and not exc.value.transient
    with pytest.raises(errors.NotFound):
        c.call('host_show', 'b.example.test')
    with pytest.raises(errors.IPACommandError) as exc:
        c.call('no_such_command')
    assert exc.value.code == 905
    assert fake_ipa.ipa.calls.count('host_add') == 2   # command errors: no retry


def test_api_version_is_sent(fake_ipa, monkeypatch):
    seen = []
    original = fake_ipa.ipa.run
    monkeypatch.setattr(fake_ipa.ipa, 'run',
                        lambda m, a, o: seen.append(o) or original(m, a, o))
    client([fake_ipa.address], api_version='2.251').call('ping')
    assert seen == [{'version': '2.251'}]


def test_batch_returns_results_and_errors_in_order(fake_ipa):
    c = client([fake_ipa.address])
    c.call('host_add', 'a.example.test', force=True)
    out = c.batch([('host_show', ['a.example.test'], {}),
                   ('host_show', ['b.example.test'], {}),
                   ('host_add', ['a.example.test'], {'force': True})])
    assert out[0]['result']['fqdn'] == ['a.example.test']
    assert isinstance(out[1], errors.NotFound)
    assert isinstance(out[2], errors.DuplicateEntry)
    assert c.stats['round_trips'] == 2 and c.stats['writes'] == 2
    assert c.batch([]) == []


def test_session_cookie_is_reused_and_renewed_on_401(fake_ipa, monkeypatch):
    logins = []
    auth = PasswordAuth('admin', 'Secret123')
    original = auth.login
    monkeypatch.setattr(auth, 'login', lambda *a: logins.append(1) or original(*a))
    c = IPAClient([fake_ipa.address], auth, scheme='http')
    for _ in range(3):
        c.call('ping')
    assert len(logins) == 1
    fake_ipa._sessions.clear()            # the server forgot the session
    c.call('ping')
    assert len(logins) == 2


def test_wrong_password_is_an_auth_error_without_retries(fake_ipa):
    c = IPAClient([fake_ipa.address], PasswordAuth('admin', 'wrong'),
                  scheme='http', retries=3)
    with pytest.raises(errors.IPAAuthError, match='invalid-password'):
        c.call('ping')


def test_failover_to_the_next_server_and_stay_there(fake_ipa):
    dead = '127.0.0.1:%d' % free_port()
    c = client([dead, fake_ipa.address])
    c.call('ping')
    assert c.servers[c._preferred] == fake_ipa.address
    c.call('ping')
    assert c.stats['ping'] == 2


class TwoServers:
    """``_post`` of an IPAClient over servers 'a' and 'b': 'a' fails while
    it is down; ``tried``: the servers asked, in order."""

    def __init__(self, monkeypatch, c):
        self.down = True
        self.tried = []
        monkeypatch.setattr(c, '_post', self.post)

    def post(self, server, method, data, deadline):
        self.tried.append(server)
        if server == 'a' and self.down:
            raise errors.IPAUnavailable('a is down')
        return {'result': server}


def test_the_first_server_is_tried_again_after_the_failback_interval(
        monkeypatch, caplog):
    now = [0.0]
    c = client(['a', 'b'], failback_interval=300, clock=lambda: now[0])
    ipa = TwoServers(monkeypatch, c)
    c.call('ping')
    assert ipa.tried == ['a', 'b']                  # failed over
    now[0] = 299
    c.call('ping')
    assert ipa.tried[2:] == ['b']                   # stays there meanwhile
    now[0] = 301
    c.call('ping')
    assert ipa.tried[3:] == ['a', 'b']              # one probe: still down
    c.call('ping')
    assert ipa.tried[5:] == ['b']                   # no probe till 601
    ipa.down = False
    now[0] = 602
    with caplog.at_level(logging.INFO, logger='novajoin.ipa.client'):
        c.call('ping')
    assert ipa.tried[6:] == ['a'] and c._preferred == 0
    assert 'IPA: now using a' in caplog.text
    now[0] = 10000
    c.call('ping')
    assert ipa.tried[7:] == ['a']


def test_no_failback_with_an_interval_of_zero(monkeypatch):
    now = [0.0]
    c = client(['a', 'b'], failback_interval=0, clock=lambda: now[0])
    ipa = TwoServers(monkeypatch, c)
    c.call('ping')
    ipa.down = False
    now[0] = 1e6
    c.call('ping')
    assert ipa.tried == ['a', 'b', 'b']


def test_failback_interval_comes_from_the_ipa_options(conf):
    conf.set_override('failback_interval', 42, group='ipa')
    conf.set_override('servers', ['a', 'b'], group='ipa')
    conf.set_override('auth_method', 'password', group='ipa')
    conf.set_override('user', 'admin', group='ipa')
    conf.set_override('password', 'x', group='ipa')
    assert IPAClient.from_conf(conf).failback_interval == 42


def test_all_servers_down_is_unavailable_after_bounded_retries(monkeypatch):
    c = client(['127.0.0.1:%d' % free_port()], retries=2, retry_backoff=0.01)
    attempts = []
    original = c._post
    monkeypatch.setattr(c, '_post', lambda *a: attempts.append(1) or original(*a))
    with pytest.raises(errors.IPAUnavailable) as exc:
        c.call('ping')
    assert exc.value.transient and len(attempts) == 3


def test_http_5xx_is_transient_and_retried(fake_ipa, monkeypatch):
    from werkzeug.wrappers import Response
    original = fake_ipa._route
    state = {'n': 0}

    def flaky(request):
        state['n'] += 1
        if state['n'] == 2:   # the first JSON call after login
            return Response('overloaded', status=503)
        return original(request)
    monkeypatch.setattr(fake_ipa, '_route', flaky)
    c = client([fake_ipa.address])
    c.call('host_add', 'x.example.test', force=True)   # login, 503, login?, ok
    assert 'x.example.test' in fake_ipa.ipa.hosts


@pytest.mark.parametrize('how', ['timeout', 'bad-gateway'])
def test_a_command_error_after_a_lost_answer_says_it_was_resent(
        fake_ipa, lose_first_answer, how):
    c = client([fake_ipa.address], read_timeout=0.3)
    c.call('host_add', 'x.example.test', force=True)
    lose_first_answer('host_del', how)
    with pytest.raises(errors.NotFound) as exc:
        c.call('host_del', 'x.example.test')      # ran, answer lost, retried
    assert exc.value.resent
    assert 'x.example.test' not in fake_ipa.ipa.hosts
    c.call('host_add', 'y.example.test', force=True)
    lose_first_answer('host_del', how)
    (result,) = c.batch([('host_del', ['y.example.test'], {})])
    assert isinstance(result, errors.NotFound) and result.resent


def test_a_command_error_after_a_refused_connection_was_not_resent(fake_ipa):
    c = client(['127.0.0.1:%d' % free_port(), fake_ipa.address])
    with pytest.raises(errors.NotFound) as exc:
        c.call('host_del', 'never.example.test')  # the first server: refused
    assert not exc.value.resent
    with pytest.raises(errors.NotFound) as exc:
        c.call('host_del', 'never.example.test')  # straight to the second
    assert not exc.value.resent


def test_deadline_bounds_retries(monkeypatch):
    c = client(['127.0.0.1:%d' % free_port()], retries=50, retry_backoff=0.05)
    start = time.monotonic()
    with pytest.raises(errors.IPAUnavailable):
        c.call('ping', deadline=time.monotonic() + 0.3)
    # it gave up because of the deadline, not after 50 retries
    assert c.stats['round_trips'] == 1 and time.monotonic() - start < 5


def test_calls_in_flight_are_capped(fake_ipa, monkeypatch):
    state = {'now': 0, 'peak': 0}
    lock = threading.Lock()
    original = fake_ipa.ipa.run

    def slow(method, args, options):
        with lock:
            state['now'] += 1
            state['peak'] = max(state['peak'], state['now'])
        time.sleep(0.05)
        with lock:
            state['now'] -= 1
        return {'summary': 'pong'} if method == 'ping' else original(method, args, options)
    monkeypatch.setattr(fake_ipa.ipa, 'run', slow)

    def peak(max_in_flight):
        state['peak'] = 0
        c = client([fake_ipa.address], max_in_flight=max_in_flight)
        c.call('env')   # log in first
        threads = [threading.Thread(target=c.call, args=('ping',)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return state['peak']
    assert peak(2) == 2
    assert peak(8) > 2          # the measurement does see concurrency


def test_no_free_slot_before_the_deadline_is_busy(fake_ipa, monkeypatch):
    c = client([fake_ipa.address], max_in_flight=1)
    c.call('ping')              # log in
    gate, held = threading.Event(), threading.Event()
    original = fake_ipa.ipa.run

    def slow(method, args, options):
        if method == 'env':
            held.set()
            gate.wait(5)
        return original(method, args, options)
    monkeypatch.setattr(fake_ipa.ipa, 'run', slow)
    holder = threading.Thread(target=c.call, args=('env',))
    holder.start()              # someone else holds the only slot
    assert held.wait(5)
    try:
        with pytest.raises(errors.IPAUnavailable, match='busy'):
            c.call('ping', deadline=time.monotonic() + 0.1)
    finally:
        gate.set()
        holder.join(5)
    assert fake_ipa.ipa.calls.count('ping') == 1   # the shed call was never sent


def test_ca_file_wins_over_requests_ca_bundle(monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/ssl/certs/ca-certificates.crt')
    c = IPAClient(['ipa.example.test'], PasswordAuth('a', 'b'), ca_file='/tmp/ca.crt')
    assert c.verify == '/tmp/ca.crt' and c._session.trust_env is False
    assert IPAClient(['x'], PasswordAuth('a', 'b'), verify=False).verify is False


def test_no_server_configured():
    with pytest.raises(ValueError, match='servers'):
        IPAClient([], PasswordAuth('a', 'b'))


def test_no_secret_in_logs(fake_ipa, caplog):
    caplog.set_level(logging.DEBUG)
    c = client([fake_ipa.address])
    c.call('host_add', 'a.example.test', force=True, userpassword='TopSecretOTP123')
    c2 = IPAClient([fake_ipa.address], PasswordAuth('admin', 'WrongPass987'),
                   scheme='http')
    with pytest.raises(errors.IPAAuthError):
        c2.call('ping')
    text = caplog.text + ''.join(str(r.args) for r in caplog.records)
    assert 'TopSecretOTP123' not in text and 'WrongPass987' not in text
    assert 'Secret123' not in text


# -- [ipa] servers with a port: JSON-RPC goes to the port, IPA sees its name --

@pytest.mark.parametrize('server, host', [
    ('ipa.example.test', 'ipa.example.test'),
    ('ipa.example.test:8443', 'ipa.example.test'),
    ('ipa.example.test:443', 'ipa.example.test'),
    ('IPA.Example.Test:8443', 'IPA.Example.Test'),
    ('[2001:db8::1]:8443', '[2001:db8::1]'),
    ('[2001:db8::1]', '[2001:db8::1]'),
])
def test_server_host_drops_a_port_and_keeps_the_name(server, host):
    assert server_host(server) == host


class Reply:
    """What requests hands back: a status, headers, maybe JSON."""

    def __init__(self, status, body=None):
        self.status_code = status
        self.headers = {}
        self._body = body

    def json(self):
        if self._body is None:
            raise ValueError('no JSON')
        return self._body


PONG = {'result': {'summary': 'IPA server version 4.12.2'}, 'error': None,
        'id': 0, 'principal': 'admin@EXAMPLE.TEST', 'version': '4.12.2'}


class RecordingSession:
    """The client's requests.Session: answers in turn, records every POST."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.posts = []

    def post(self, url, data=None, headers=None, **kwargs):
        self.posts.append({'url': url, 'headers': dict(headers or {}),
                           'data': data})
        return self.replies.pop(0)


def https_client(servers, auth=None, *replies):
    c = IPAClient(servers, auth or PasswordAuth('admin', 'Secret123'), retries=0)
    c._session = RecordingSession(*replies)
    return c


def test_json_rpc_goes_to_the_port_with_a_referer_of_the_host_name_alone():
    c = https_client(['ipa.example.test:8443'], None, Reply(200, PONG))
    try:
        assert c.call('ping')['summary'].startswith('IPA server')
    finally:
        c.close()
    [post] = c._session.posts
    assert post['url'] == 'https://ipa.example.test:8443/ipa/session/json'
    assert post['headers']['Referer'] == 'https://ipa.example.test/ipa'


def test_a_server_without_a_port_has_the_same_referer():
    c = https_client(['ipa.example.test'], None, Reply(200, PONG))
    try:
        c.call('ping')
    finally:
        c.close()
    [post] = c._session.posts
    assert post['url'] == 'https://ipa.example.test/ipa/session/json'
    assert post['headers']['Referer'] == 'https://ipa.example.test/ipa'


def test_the_json_path_is_the_auth_methods():
    class NegotiateAuth:       # KerberosAuth's wire shape, without a keytab
        json_path = '/ipa/json'

        def request_auth(self):
            return None

        def describe(self):
            return 'keytab'
    c = https_client(['ipa.example.test:8443'], NegotiateAuth(), Reply(200, PONG))
    try:
        c.call('ping')
    finally:
        c.close()
    [post] = c._session.posts
    assert post['url'] == 'https://ipa.example.test:8443/ipa/json'
    assert post['headers']['Referer'] == 'https://ipa.example.test/ipa'


def test_a_401_logs_in_on_the_port_with_the_host_names_referer_then_calls_again():
    c = https_client(['ipa.example.test:8443'], None,
                     Reply(401), Reply(200), Reply(200, PONG))
    try:
        c.call('ping')
    finally:
        c.close()
    first, login, again = c._session.posts
    assert login['url'] == 'https://ipa.example.test:8443/ipa/session/login_password'
    assert login['headers']['Referer'] == 'https://ipa.example.test/ipa'
    assert login['data'] == {'user': 'admin', 'password': 'Secret123'}
    for post in (first, again):
        assert post['url'] == 'https://ipa.example.test:8443/ipa/session/json'
        assert post['headers']['Referer'] == 'https://ipa.example.test/ipa'


def test_failover_sends_each_server_its_own_referer():
    class DownThenUp(RecordingSession):
        def post(self, url, **kwargs):
            reply = super().post(url, **kwargs)
            if 'ipa1' in url:
                raise requests.exceptions.ConnectionError('refused')
            return reply
    c = IPAClient(['ipa1.example.test:8443', 'ipa2.example.test:9443'],
                  PasswordAuth('admin', 'Secret123'), retries=1, retry_backoff=0)
    c._session = DownThenUp(Reply(200, PONG), Reply(200, PONG))
    try:
        c.call('ping')
    finally:
        c.close()
    assert [(p['url'], p['headers']['Referer']) for p in c._session.posts] == [
        ('https://ipa1.example.test:8443/ipa/session/json',
         'https://ipa1.example.test/ipa'),
        ('https://ipa2.example.test:9443/ipa/session/json',
         'https://ipa2.example.test/ipa')]


def test_an_entry_with_an_empty_port_still_sends_the_host_names_referer():
    # 'ipa.example.test:' in [ipa] servers: requests reaches port 443, but
    # IPA checks Referer.startswith('https://ipa.example.test/ipa')
    c = https_client(['ipa.example.test:'], None, Reply(200, PONG))
    try:
        c.call('ping')
    finally:
        c.close()
    [post] = c._session.posts
    assert post['headers']['Referer'] == 'https://ipa.example.test/ipa'
