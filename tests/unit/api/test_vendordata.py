"""POST /v1/ through the whole Flask app (auth replaced by fixed identities):
policy join:create, strict bodies (400, nothing sent to IPA), answers, errors."""
import flask
import pytest

from novajoin import join

from novajoin import policy
from novajoin.api import create_app
from novajoin.ipa import errors
from tests.unit.conftest import body

# What keystonemiddleware puts in the environ for each caller (ids, names,
# domains and roles, as for the peers' keystone).
NOVA = {'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_USER_NAME': 'nova',
        'HTTP_X_USER_ID': 'nova-id', 'HTTP_X_USER_DOMAIN_ID': 'default',
        'HTTP_X_USER_DOMAIN_NAME': 'Default', 'HTTP_X_PROJECT_NAME': 'service',
        'HTTP_X_PROJECT_ID': 'service-id', 'HTTP_X_PROJECT_DOMAIN_ID': 'default',
        'HTTP_X_PROJECT_DOMAIN_NAME': 'Default', 'HTTP_X_ROLES': 'admin,service'}
# nova's name in a project called service, in another domain, no service role.
NAMESAKE = {**NOVA, 'HTTP_X_USER_ID': 'other-id', 'HTTP_X_USER_DOMAIN_ID': 'evil',
            'HTTP_X_USER_DOMAIN_NAME': 'evil', 'HTTP_X_PROJECT_ID': 'evil-service',
            'HTTP_X_PROJECT_DOMAIN_ID': 'evil', 'HTTP_X_PROJECT_DOMAIN_NAME': 'evil',
            'HTTP_X_ROLES': 'member,reader'}
# nova's own user and project, but only admin: the default needs the role.
NOVA_ADMIN_ONLY = {**NOVA, 'HTTP_X_ROLES': 'admin,member,reader'}
SERVICE_ROLE = {**NOVA, 'HTTP_X_USER_NAME': 'placement',
                'HTTP_X_USER_ID': 'placement-id', 'HTTP_X_ROLES': 'service'}
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


@pytest.mark.parametrize('identity,status', [
    (NOVA, 200), (SERVICE_ROLE, 200), (NAMESAKE, 403), (NOVA_ADMIN_ONLY, 403),
    (TENANT, 403), (INVALID, 401)])
def test_policy_join_create_admits_the_service_role_not_a_name(client_as, fake_ipa,
                                                               identity, status):
    resp = client_as(identity).post('/v1/', json=body())
    assert resp.status_code == status
    if status != 200:
        assert resp.json['error']['code'] == status
        assert not fake_ipa.ipa.hosts
        assert not set(fake_ipa.ipa.calls) - {'env'}


def test_refusal_log_tells_a_namesake_from_nova(client_as, caplog):
    client_as(NAMESAKE).post('/v1/', json=body())
    line = [r.getMessage() for r in caplog.records if 'refused' in r.getMessage()][0]
    assert 'nova (id other-id, domain evil)' in line
    assert 'service (id evil-service, domain evil)' in line


@pytest.fixture
def policy_file(conf, tmp_path):
    def write(rule):
        path = tmp_path / 'policy.yaml'
        path.write_text('"join:create": "%s"\n' % rule)
        policy.enforcer(conf)   # registers [oslo_policy]
        conf.set_override('policy_file', str(path), group='oslo_policy')
    return write


def test_policy_file_can_change_the_rule(client_as, policy_file):
    policy_file('role:vendordata')
    assert client_as(NOVA).post('/v1/', json=body()).status_code == 403
    assert client_as({**TENANT, 'HTTP_X_ROLES': 'vendordata'}).post(
        '/v1/', json=body()).status_code == 200


def test_a_rule_on_names_admits_nobody(client_as, policy_file, fake_ipa):
    # nova's name is anybody's to take: a rule can only see ids and roles
    policy_file('user_name:nova and project_name:service')
    for identity in (NOVA, NAMESAKE):
        assert client_as(identity).post('/v1/', json=body()).status_code == 403
    assert not fake_ipa.ipa.hosts


def test_operator_can_pin_nova_by_user_id(client_as, policy_file):
    policy_file('role:service and user_id:nova-id')
    assert client_as(NOVA).post('/v1/', json=body()).status_code == 200
    assert client_as(SERVICE_ROLE).post('/v1/', json=body()).status_code == 403


def test_operator_can_pin_the_project_domain(client_as, policy_file):
    policy_file('role:service and project_domain_id:default')
    assert client_as(NOVA).post('/v1/', json=body()).status_code == 200
    other = {**NOVA, 'HTTP_X_PROJECT_DOMAIN_ID': 'evil'}
    assert client_as(other).post('/v1/', json=body()).status_code == 403


@pytest.mark.parametrize('user_data', [None, 'IyEvYmluL3NoCmVjaG8gaGkK'])
@pytest.mark.parametrize('image_id', ['', 'c0ffee00-1234-4abc-8def-0123456789ab'])
def test_nova_exact_body_is_served(client_as, fake_ipa, user_data, image_id):
    nova_body = body(**{'user-data': user_data, 'image-id': image_id})
    resp = client_as().post('/v1/', json=nova_body)
    assert resp.status_code == 200 and resp.json['hostname'].startswith('vm1.')


@pytest.mark.parametrize('data,message', [
    (b'{"project-id": ', 'not valid JSON'),
    (b'[]', 'must be a JSON object, not an array'),
    (b'"x"', 'must be a JSON object, not a string'),
    (b'null', 'must be a JSON object, not null'),
    (b'', 'not valid JSON'),
    (b'[' * 100000 + b']' * 100000, 'nests arrays/objects 100000 deep; at most 4'),
    (b'[' * 100000, 'nests arrays/objects 100000 deep'),
    (b'{"metadata": {"a": {"b": {"c": {"d": "e"}}}}}', 'nests arrays/objects 5 deep'),
    (b'{"hostname": "vm1", "hostname": "vm2"}', "the key 'hostname' twice"),
    (b'{"metadata": {"ipa_enroll": NaN}}', 'NaN, which is not JSON'),
    (b'{"hostname": "vm\xe9"}', 'not UTF-8'),
])
def test_malformed_bodies_are_400(client_as, fake_ipa, data, message):
    resp = client_as().post('/v1/', data=data, content_type='application/json')
    assert resp.status_code == 400 and message in resp.json['error']['message']
    assert fake_ipa.ipa.calls == []


@pytest.mark.parametrize('overrides,message', [
    ({'hostname': 'bad_name'}, 'not a valid DNS label'),
    ({'hostname': 'x' * 64}, 'at most 63'),
    ({'hostname': 'web\n'}, "hostname 'web\\n' is not a valid DNS label"),
    ({'hostname': 'web.example.test\n'}, 'is not a valid DNS label'),
    ({'hostname': 'a..b'}, "hostname 'a..b' has an empty label"),
    ({'hostname': 'a.-b'}, "label of hostname 'a.-b' '-b' is not a valid DNS label"),
    ({'hostname': 'vm1.example.test..'}, 'has an empty label'),
    ({'hostname': 'web\u212a'}, 'ASCII'),
    ({'hostname': 5}, 'hostname must be a string, not a number'),
    ({'instance-id': '../../etc'}, 'not a UUID'),
    ({'project-id': 'c2f4e9d07a6b4d0e8f1a2b3c4d5e6f70\n'}, 'not a keystone project id'),
    ({'metadata': []}, 'metadata must be an object of strings, not an array'),
    ({'metadata': {'ipa_enroll': True}}, "'ipa_enroll' is a boolean"),
    ({'metadata': {'k': 1}}, "'k' is a number"),
    ({'boot-roles': ['member']}, 'boot-roles must be a string, not an array'),
    ({'user-data': 5}, 'user-data must be a string, not a number'),
    ({'metadata': {'ipa_enroll': 'true', 'compact_service_HTTP': '[1]'}},
     'JSON list of strings'),
])
def test_bad_values_are_400_and_never_reach_ipa_as_names(client_as, fake_ipa, overrides,
                                                         message):
    resp = client_as().post('/v1/', json=body(**overrides))
    assert resp.status_code == 400, resp.json
    assert message in resp.json['error']['message']
    assert not set(fake_ipa.ipa.calls) - {'env'}


def test_huge_body_is_refused(client_as, fake_ipa):
    resp = client_as().post('/v1/', data=b'{"a": "' + b'x' * (2 << 20) + b'"}',
                            content_type='application/json')
    assert resp.status_code == 400 and 'too large' in resp.json['error']['message']
    assert fake_ipa.ipa.calls == []


def test_huge_chunked_body_is_refused_without_a_length(client_as, fake_ipa):
    class Endless:
        """A chunked body with no end: only MAX_BODY + 1 bytes may be read."""
        read_bytes = 0

        def read(self, size=-1):
            assert 0 < size <= 64 * 1024
            self.read_bytes += size
            return b'x' * size

    stream = Endless()
    # as gunicorn hands over a chunked body: no CONTENT_LENGTH, input ends
    # where the chunks end (wsgi.input_terminated)
    resp = client_as().post('/v1/', content_type='application/json',
                            headers={'Transfer-Encoding': 'chunked'},
                            environ_overrides={'wsgi.input': stream,
                                               'wsgi.input_terminated': True,
                                               'CONTENT_LENGTH': ''})
    assert resp.status_code == 400 and 'too large' in resp.json['error']['message']
    assert stream.read_bytes == (1 << 20) + 1


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

    def handle(self, req, caller=None, arrived=None):
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


@pytest.mark.parametrize('exc', [
    join.Overloaded('the request waited 4.2 s for a free thread'),
    errors.IPABusy('IPA busy: no free slot for host_add before the deadline'),
])
def test_load_shedding_is_a_503_logged_as_a_warning(client_as, caplog, exc):
    resp = client_as(enroller=Failing(exc)).post('/v1/', json=body())
    assert resp.status_code == 503
    assert resp.json['error']['message'] == str(exc)
    shed = [r for r in caplog.records if '-> 503' in r.getMessage()]
    assert shed and all(r.levelname == 'WARNING' for r in shed)
    text = client_as().get('/metrics').data.decode()
    assert 'novajoin_vendordata_requests_total{outcome="shed"}' in text


def test_otp_is_never_logged(client_as, caplog):
    caplog.set_level('DEBUG')
    otp = client_as().post('/v1/', json=body()).json['ipaotp']
    assert otp not in caplog.text


def test_unknown_paths_and_methods_are_json(client_as):
    c = client_as()
    assert c.get('/v1/').status_code == 405
    resp = c.get('/nope')
    assert resp.status_code == 404 and resp.json['error']['code'] == 404


def test_metrics_need_no_identity(client_as):
    # /healthcheck is answered before the Flask app: see test_health.py
    c = client_as(INVALID)      # no identity needed
    c2 = client_as()
    c2.post('/v1/', json=body())
    text = c.get('/metrics').data.decode()
    assert 'novajoin_vendordata_requests_total{outcome="enrolled"}' in text
    assert 'novajoin_ipa_call_seconds_bucket' in text


def test_a_host_whose_otp_secret_was_dropped_is_a_500_naming_the_fix(
        client_as, make_enroller):
    from novajoin import otp
    assert client_as().post('/v1/', json=body()).status_code == 200
    rotated = make_enroller(otps=otp.OTPSource('r' * 40))    # SECRET dropped
    resp = client_as(enroller=rotated).post('/v1/', json=body())
    assert resp.status_code == 500
    assert 'previous_otp_secrets' in resp.json['error']['message']
