"""POST /v1/ through the whole Flask app (auth replaced by fixed identities)."""
import flask
import pytest

from novajoin import policy
from novajoin.api import create_app
from novajoin.ipa import errors
from tests.unit.conftest import body

NOVA = {'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_USER_NAME': 'nova',
        'HTTP_X_PROJECT_NAME': 'service', 'HTTP_X_ROLES': 'admin,member'}
SERVICE_ROLE = {'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_USER_NAME': 'placement',
                'HTTP_X_PROJECT_NAME': 'service', 'HTTP_X_ROLES': 'service'}
TENANT = {'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_USER_NAME': 'demo',
          'HTTP_X_PROJECT_NAME': 'demo', 'HTTP_X_ROLES': 'member,reader'}
INVALID = {'HTTP_X_IDENTITY_STATUS': 'Invalid'}


class As:
    """Stands where keystonemiddleware stands: sets the identity headers."""

    def __init__(self, app, identity):
        self.app, self.identity = app, identity

    def __call__(self, environ, start_response):
        environ.update(self.identity)
        return self.app(environ, start_response)


@pytest.fixture
def client_as(conf, make_enroller):
    def make(identity=NOVA, enroller=None, **kwargs):
        app = create_app(conf, enroller=enroller or make_enroller(**kwargs))
        app.wsgi_app = As(flask.Flask.wsgi_app.__get__(app), identity)
        return app.test_client()
    return make


def test_enroll_then_same_answer(client_as, fake_ipa):
    c = client_as()
    first = c.post('/v1/', json=body())
    assert first.status_code == 200
    assert set(first.json) == {'hostname', 'krb_realm', 'ipaotp', 'ipa_domain',
                               'ipa_server'}
    again = c.post('/v1', json=body())     # nova may be configured without '/'
    assert again.status_code == 200 and again.json == first.json


def test_not_enrolling_is_200_empty_object(client_as):
    resp = client_as().post('/v1/', json=body(metadata={}))
    assert resp.status_code == 200 and resp.json == {}


@pytest.mark.parametrize('identity,status', [(NOVA, 200), (SERVICE_ROLE, 200),
                                             (TENANT, 403), (INVALID, 401)])
def test_policy_join_create(client_as, fake_ipa, identity, status):
    resp = client_as(identity).post('/v1/', json=body())
    assert resp.status_code == status
    if status != 200:
        assert resp.json['error']['code'] == status
        assert not fake_ipa.ipa.hosts


def test_policy_file_can_change_the_rule(client_as, conf, tmp_path):
    path = tmp_path / 'policy.yaml'
    path.write_text('"join:create": "role:vendordata"\n')
    policy.enforcer(conf)   # registers [oslo_policy]
    conf.set_override('policy_file', str(path), group='oslo_policy')
    assert client_as(NOVA).post('/v1/', json=body()).status_code == 403
    assert client_as({**TENANT, 'HTTP_X_ROLES': 'vendordata'}).post(
        '/v1/', json=body()).status_code == 200


@pytest.mark.parametrize('data,message', [
    (b'{"project-id": ', 'not valid JSON'),
    (b'[]', 'JSON object'),
    (b'', 'not valid JSON'),
])
def test_malformed_bodies_are_400(client_as, fake_ipa, data, message):
    resp = client_as().post('/v1/', data=data, content_type='application/json')
    assert resp.status_code == 400 and message in resp.json['error']['message']
    assert fake_ipa.ipa.calls == []


@pytest.mark.parametrize('overrides,message', [
    ({'hostname': 'bad_name'}, 'not a valid DNS label'),
    ({'hostname': 'x' * 64}, 'at most 63'),
    ({'instance-id': '../../etc'}, 'not a UUID'),
    ({'metadata': {'ipa_enroll': 'true', 'compact_service_HTTP': '[1]'}},
     'JSON list of strings'),
])
def test_bad_values_are_400_and_never_reach_ipa_as_names(client_as, fake_ipa, overrides,
                                                         message):
    resp = client_as().post('/v1/', json=body(**overrides))
    assert resp.status_code == 400, resp.json
    assert message in resp.json['error']['message']
    assert not set(fake_ipa.ipa.calls) - {'env'}


def test_huge_body_is_refused(client_as):
    resp = client_as().post('/v1/', data=b'{"a": "' + b'x' * (2 << 20) + b'"}',
                            content_type='application/json')
    assert resp.status_code == 400 and 'too large' in resp.json['error']['message']


def test_conflict_is_409(client_as):
    c = client_as()
    assert c.post('/v1/', json=body()).status_code == 200
    other = body(**{'instance-id': '11111111-2222-4333-8444-555555555555'})
    resp = c.post('/v1/', json=other)
    assert resp.status_code == 409 and 'belongs to another' in resp.json['error']['message']


def test_refused_is_403(client_as):
    resp = client_as(required_boot_roles=['ipa']).post('/v1/', json=body())
    assert resp.status_code == 403 and 'none of the roles' in resp.json['error']['message']


class Failing:
    def __init__(self, exc):
        self.exc = exc

    def handle(self, req, caller=None):
        raise self.exc


@pytest.mark.parametrize('exc,status', [
    (errors.IPAUnavailable('all IPA servers down'), 503),
    (errors.ACIError('Insufficient access', code=2100), 502),
    (RuntimeError('bug'), 500),
])
def test_failures_are_5xx_with_a_log_line(client_as, caplog, exc, status):
    resp = client_as(enroller=Failing(exc)).post('/v1/', json=body())
    assert resp.status_code == status
    assert resp.json['error']['code'] == status
    assert any(r.levelname == 'ERROR' for r in caplog.records)


def test_otp_is_never_logged(client_as, caplog):
    caplog.set_level('DEBUG')
    otp = client_as().post('/v1/', json=body()).json['ipaotp']
    assert otp not in caplog.text


def test_unknown_paths_and_methods_are_json(client_as):
    c = client_as()
    assert c.get('/v1/').status_code == 405
    resp = c.get('/nope')
    assert resp.status_code == 404 and resp.json['error']['code'] == 404


def test_healthcheck_and_metrics(client_as):
    c = client_as(INVALID)      # no identity needed
    assert c.get('/healthcheck').json == {'status': 'ok'}
    c2 = client_as()
    c2.post('/v1/', json=body())
    text = c.get('/metrics').data.decode()
    assert 'novajoin_vendordata_requests_total{outcome="enrolled"}' in text
    assert 'novajoin_ipa_call_seconds_bucket' in text
