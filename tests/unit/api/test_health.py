"""GET /healthcheck (oslo.middleware's Healthcheck, before auth) and GET
/metrics, through the whole app as create_app wires it."""
import socket

import pytest
from keystonemiddleware import auth_token

from novajoin import join
from novajoin import otp
from novajoin.api import create_app
from novajoin.ipa import IPAClient
from novajoin.ipa.auth import PasswordAuth
from tests.unit.conftest import SECRET
from tests.unit.conftest import body


class Unused:
    """An Enroller stand-in for requests that must never reach it."""

    def handle(self, *args, **kwargs):
        raise AssertionError('the enroller was called')


@pytest.fixture
def disable_file(conf, tmp_path):
    path = tmp_path / 'healthcheck_disable'
    conf.set_override('disable_by_file_path', str(path), group='healthcheck')
    return path


@pytest.fixture
def keystone_conf(conf):
    """conf with keystonemiddleware auth_token on; it never reaches keystone
    here: a request without a token is refused before that."""
    conf.set_override('auth_enabled', True, group='api')
    # registered by auth_token when it loads; now, to set one of them first
    conf.register_opts(auth_token.list_opts()[0][1], group='keystone_authtoken')
    conf.set_override('www_authenticate_uri', 'http://keystone.example.test/identity',
                      group='keystone_authtoken')
    return conf


def test_healthcheck_answers_200_without_a_token_when_auth_is_on(
        keystone_conf, disable_file):
    client = create_app(keystone_conf, enroller=Unused()).test_client()
    assert client.post('/v1/', json=body()).status_code == 401   # auth is on
    resp = client.get('/healthcheck')
    assert resp.status_code == 200 and resp.data == b'OK'
    assert resp.headers['x-openstack-request-id'].startswith('req-')


def test_metrics_are_served_without_a_token_when_auth_is_on(keystone_conf):
    client = create_app(keystone_conf, enroller=Unused()).test_client()
    resp = client.get('/metrics')
    assert resp.status_code == 200
    assert 'novajoin_vendordata_requests_total' in resp.data.decode()


def test_the_disable_file_drains_the_replica_until_it_is_removed(
        make_client, disable_file):
    client = make_client(enroller=Unused())
    assert client.get('/healthcheck').status_code == 200
    disable_file.touch()
    resp = client.get('/healthcheck')
    assert resp.status_code == 503 and resp.data == b'DISABLED BY FILE'
    assert client.head('/healthcheck').status_code == 503
    disable_file.unlink()
    assert client.get('/healthcheck').status_code == 200
    assert client.head('/healthcheck').status_code == 204   # oslo.middleware's


def test_the_healthcheck_shows_anonymous_callers_no_internals(
        make_client, disable_file):
    resp = make_client(enroller=Unused()).get(
        '/healthcheck', headers={'Accept': 'application/json'})
    assert resp.json == {'detailed': False, 'reasons': ['OK']}


def _closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_an_ipa_that_is_down_does_not_fail_the_healthcheck(conf, disable_file):
    ipa = IPAClient(['127.0.0.1:%d' % _closed_port()], PasswordAuth('admin', 'x'),
                    scheme='http', retries=1, retry_backoff=0.01)
    enroller = join.Enroller(ipa, otp.OTPSource(SECRET), join.IPAIdentity(ipa),
                             servers=['ipa.example.test'])
    client = create_app(conf, enroller=enroller).test_client()
    assert client.post('/v1/', json=body()).status_code == 503   # nova is told
    assert client.get('/healthcheck').status_code == 200         # still in the LB
