"""Unit-test fixtures: the in-memory IPA stand-in behind HTTP, and a wired app.

The stand-in makes these tests fast; the functional suite proves the same
behaviour against the real FreeIPA.
"""
import time

import pytest

from novajoin import conf as conf_pkg
from novajoin import join
from novajoin import otp
from novajoin.api import create_app
from novajoin.dev.fake_ipa import FakeIPA
from novajoin.dev.fake_ipa import FakeIPAServer
from novajoin.hosts import services
from novajoin.ipa import IPAClient
from novajoin.ipa.auth import PasswordAuth

SECRET = 'unit-test-secret-that-is-long-enough-0123456789'
INSTANCE = '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'
PROJECT = 'c2f4e9d07a6b4d0e8f1a2b3c4d5e6f70'


@pytest.fixture(scope='session')
def _fake_ipa_server():
    server = FakeIPAServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_ipa(_fake_ipa_server):
    """The shared stand-in server, with an empty directory for this test."""
    _fake_ipa_server.ipa = FakeIPA()
    return _fake_ipa_server


@pytest.fixture
def lose_first_answer(fake_ipa, monkeypatch):
    """``lose(method, how)``: the stand-in runs the next ``method`` request,
    then loses its answer (``how``: 'timeout', sleeping past a 0.3 s read
    timeout, or 'bad-gateway', a proxy's 502 after IPA's work)."""
    from werkzeug.wrappers import Response

    def lose(method, how='bad-gateway'):
        original = fake_ipa._route
        lost = []

        def route(request):
            resp = original(request)
            if not lost and method.encode() in request.get_data():
                lost.append(request)
                if how == 'timeout':
                    time.sleep(0.8)
                else:
                    return Response('bad gateway', status=502)
            return resp
        monkeypatch.setattr(fake_ipa, '_route', route)
        return lost
    return lose


@pytest.fixture
def ipa_client(fake_ipa):
    return IPAClient([fake_ipa.address], PasswordAuth('admin', 'Secret123'),
                     scheme='http', retries=1, retry_backoff=0.01)


class StubImages:
    """Image properties by id; counts look-ups."""

    def __init__(self, images=None, error=None):
        self.images = images or {}
        self.error = error
        self.lookups = []

    def properties(self, image_id):
        self.lookups.append(image_id)
        if self.error:
            raise self.error
        return self.images.get(image_id, {})


class StubProjects:
    def __init__(self, names):
        self.names = names

    def name(self, project_id):
        return self.names[project_id]


@pytest.fixture
def images():
    return StubImages()


@pytest.fixture
def make_enroller(ipa_client, images):
    def make(**kwargs):
        kwargs.setdefault('images', images)
        kwargs.setdefault('servers', ['ipa.example.test'])
        # PROJECT is the undercloud here: it may ask for TripleO services
        kwargs.setdefault('service_rules', services.ServiceRules(
            [PROJECT], ipa_servers=kwargs['servers']))
        otps = kwargs.pop('otps', None) or otp.OTPSource(SECRET)
        return join.Enroller(ipa_client, otps, join.IPAIdentity(ipa_client),
                             **kwargs)
    return make


@pytest.fixture
def conf():
    c = conf_pkg.new_conf()
    c([], project='novajoin', default_config_files=[])
    c.set_override('auth_enabled', False, group='api')
    c.set_override('otp_secret', SECRET, group='join')
    return c


@pytest.fixture
def make_client(conf, make_enroller):
    """A Flask test client around create_app(conf) with a given Enroller."""
    def make(enroller=None, **kwargs):
        app = create_app(conf, enroller=enroller or make_enroller(**kwargs))
        return app.test_client()
    return make


def body(**overrides):
    """nova's exact request body (DESIGN.md 2), with overrides."""
    data = {'project-id': PROJECT, 'instance-id': INSTANCE, 'image-id': '',
            'user-data': None, 'hostname': 'vm1',
            'metadata': {'ipa_enroll': 'True'}, 'boot-roles': 'member,reader'}
    data.update(overrides)
    return data
