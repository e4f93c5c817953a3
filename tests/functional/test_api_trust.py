"""Who may call POST /v1/, and what it accepts: real keystone, real nova,
the real novajoin-server (gunicorn + keystonemiddleware), real FreeIPA.

- A user named ``nova`` in a project named ``service`` of another keystone
  domain, without the ``service`` role, is refused (403) and IPA is
  untouched, even under the old name-based rule (policy sees ids and roles,
  never names); a rule its role meets serves the same token (the control
  proves the token itself is good).
- One request id (oslo.middleware, oslo.context) is in the answer header and
  on every log line of the enrollment, with the caller's as the global id.
- nova's real service user (``service`` role) still enrolls through nova's
  own DynamicJSON code.
- Names that are not RFC 1123 (trailing newline, ``a..b``, ``a.-b``), deeply
  nested JSON and wrongly typed fields are a 400 naming the problem, and
  nothing reaches IPA.
"""
import json
import re
import uuid

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.functional.novajoin_server import identity_conf
from tests.functional.novajoin_server import start_server
from tests.functional.test_server import instance
from tests.functional.test_server import join_of
from tests.functional.test_server import nova_call

# the former default rule, which trusted names
OLD_DEFAULT = '(user_name:nova and project_name:service) or role:service'


def _session(peers_env, username, password, domain_id, project='service'):
    return ks_session.Session(auth=v3.Password(
        auth_url=peers_env['KEYSTONE_URL'], username=username, password=password,
        user_domain_id=domain_id, project_name=project,
        project_domain_id=domain_id))


@pytest.fixture(scope='module')
def keystone_admin(peers_env):
    return _session(peers_env, 'admin', peers_env['ADMIN_PASSWORD'], 'default',
                    project='admin')


@pytest.fixture(scope='module')
def demo_project_id(keystone_admin, peers_env):
    url = peers_env['KEYSTONE_URL'] + '/projects?name=demo&domain_id=default'
    return keystone_admin.get(url).json()['projects'][0]['id']


@pytest.fixture(scope='module')
def namesake(keystone_admin, peers_env):
    """A domain of its own, project ``service`` in it, user ``nova`` in it with
    role member there (no service role); its token. Removed afterwards."""
    url = peers_env['KEYSTONE_URL']
    tag = uuid.uuid4().hex[:8]
    password = uuid.uuid4().hex
    domain = keystone_admin.post(url + '/domains', json={'domain': {
        'name': 'nj-trust-%s' % tag,
        'description': 'novajoin test_api_trust namesake'}}).json()['domain']
    made = []
    try:
        project = keystone_admin.post(url + '/projects', json={'project': {
            'name': 'service', 'domain_id': domain['id']}}).json()['project']
        made.append('/projects/%s' % project['id'])
        user = keystone_admin.post(url + '/users', json={'user': {
            'name': 'nova', 'domain_id': domain['id'],
            'password': password}}).json()['user']
        made.append('/users/%s' % user['id'])
        member = keystone_admin.get(url + '/roles?name=member').json()['roles'][0]
        keystone_admin.put(url + '/projects/%s/users/%s/roles/%s'
                           % (project['id'], user['id'], member['id']))
        sess = _session(peers_env, 'nova', password, domain['id'])
        access = sess.auth.get_access(sess)
        # the premise: same names as nova's, none of its roles
        assert access.username == 'nova' and access.project_name == 'service'
        assert access.project_domain_id == domain['id']
        assert 'service' not in access.role_names
        yield {'token': sess.get_token(), 'domain_id': domain['id'],
               'user_id': user['id']}
    finally:
        for path in reversed(made):
            keystone_admin.delete(url + path)
        keystone_admin.patch(url + '/domains/%s' % domain['id'],
                             json={'domain': {'enabled': False}})
        keystone_admin.delete(url + '/domains/%s' % domain['id'])


@pytest.fixture(scope='module')
def nova_token(peers_env):
    """A token of nova's real service user (service role, project service of
    Default): what nova's [vendordata_dynamic_auth] sends."""
    sess = _session(peers_env, 'nova', peers_env['NOVA_PASSWORD'], 'default')
    assert 'service' in sess.auth.get_access(sess).role_names
    return sess.get_token()


def _server(tmp_path_factory, name, ipa_env, peers_env, novajoin_identity,
            policy_rule=None):
    tmp = tmp_path_factory.mktemp(name)
    conf_lines = identity_conf(novajoin_identity, ipa_env)
    if policy_rule is not None:
        path = tmp / 'policy.yaml'
        path.write_text('"join:create": "%s"\n' % policy_rule)
        # a section of its own after [ipa]'s identity lines
        conf_lines = conf_lines + ['[oslo_policy]', 'policy_file = %s' % path]
    return start_server(tmp, name, ipa_env, peers_env, conf_lines)


@pytest.fixture(scope='module')
def server(tmp_path_factory, ipa_env, peers_env, novajoin_identity):
    # No image look-ups here (boot from volume: image-id ""), so no glance
    # stand-in: nothing shared with concurrent sessions' catalog entries.
    proc, url = _server(tmp_path_factory, 'trust', ipa_env, peers_env,
                        novajoin_identity)
    yield url, proc
    proc.stop()


def _body(project_id, hostname, **overrides):
    """nova's exact body (DESIGN.md 2) for a server that enrolls."""
    data = {'project-id': project_id, 'instance-id': str(uuid.uuid4()),
            'image-id': '', 'user-data': None, 'hostname': hostname,
            'metadata': {'ipa_enroll': 'true'}, 'boot-roles': 'member,reader'}
    data.update(overrides)
    return data


def _post(url, token, **kwargs):
    return requests.post(url + '/v1/', timeout=30, headers={
        'X-Auth-Token': token, 'Content-Type': 'application/json'}, **kwargs)


def _hosts_named(ipa_admin, unique):
    return [h['fqdn'][0] for h in ipa_admin.call('host_find', unique)['result']]


# -- who may call -------------------------------------------------------------

def test_namesake_nova_of_another_domain_is_403_and_ipa_untouched(
        server, namesake, ipa_admin, demo_project_id, unique, cleanup, ipa_env):
    url, proc = server
    cleanup.append('vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN']))   # if it leaked
    resp = _post(url, namesake['token'],
                 json=_body(demo_project_id, 'vm-%s' % unique))
    assert resp.status_code == 403, resp.text
    assert resp.json()['error']['message'] == (
        'policy join:create does not allow this caller')
    assert _hosts_named(ipa_admin, unique) == []
    # the audit line tells it from nova: its own user id and domain
    assert 'id %s, domain %s' % (namesake['user_id'], namesake['domain_id']) \
        in proc.log()


def test_control_a_rule_on_the_namesakes_role_admits_its_token(
        tmp_path_factory, ipa_env, peers_env, novajoin_identity, namesake,
        ipa_admin, demo_project_id, unique, cleanup):
    """The 403 above comes from the rule, not from a bad token: under a rule
    its role meets, the very same token gets a host and an OTP."""
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    proc, url = _server(tmp_path_factory, 'memberrule', ipa_env, peers_env,
                        novajoin_identity, policy_rule='role:member')
    try:
        resp = _post(url, namesake['token'],
                     json=_body(demo_project_id, 'vm-%s' % unique))
    finally:
        proc.stop()
    assert resp.status_code == 200, resp.text
    assert resp.json()['hostname'] == fqdn and resp.json()['ipaotp']
    assert _hosts_named(ipa_admin, unique) == [fqdn]


def test_the_old_name_based_default_no_longer_admits_the_namesake(
        tmp_path_factory, ipa_env, peers_env, novajoin_identity, namesake,
        nova_token, ipa_admin, demo_project_id, unique, cleanup):
    """The former default admitted whoever was called nova in a project
    called service. Policy credentials hold ids and roles, never names
    (oslo.context), so an operator who kept that rule admits nova by its
    role and the namesake not at all."""
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    proc, url = _server(tmp_path_factory, 'oldrule', ipa_env, peers_env,
                        novajoin_identity, policy_rule=OLD_DEFAULT)
    try:
        namesake_resp = _post(url, namesake['token'],
                              json=_body(demo_project_id, 'vm-%s' % unique))
        nova_resp = _post(url, nova_token,
                          json=_body(demo_project_id, 'vm-%s' % unique))
    finally:
        proc.stop()
    assert namesake_resp.status_code == 403, namesake_resp.text
    assert nova_resp.status_code == 200, nova_resp.text
    assert _hosts_named(ipa_admin, unique) == [fqdn]


def test_one_request_id_ties_the_log_lines_of_one_enrollment(
        server, nova_token, demo_project_id, ipa_admin, ipa_env, unique, cleanup):
    url, proc = server
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    caller_id = 'req-%s' % uuid.uuid4()     # as another OpenStack service sends
    resp = requests.post(url + '/v1/', timeout=30, json=_body(
        demo_project_id, 'vm-%s' % unique), headers={
            'X-Auth-Token': nova_token, 'X-OpenStack-Request-ID': caller_id})
    assert resp.status_code == 200, resp.text
    ours = resp.headers['x-openstack-request-id']
    assert re.fullmatch(r'req-[0-9a-f-]{36}', ours) and ours != caller_id
    lines = [line for line in proc.log().splitlines() if ours in line]
    # the enrollment's own lines: the host created (audit) and the answer
    assert any('created IPA host %s' % fqdn in line for line in lines), lines
    assert any('host %s' % fqdn in line and 'instance' in line
               for line in lines), lines
    assert all('[%s %s ' % (caller_id, ours) in line for line in lines)
    assert resp.json()['ipaotp'] not in proc.log()


def test_real_nova_service_user_still_enrolls_through_nova(server, ipa_admin, ipa_env,
                                                           unique, cleanup):
    url, _ = server
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    result, _ = nova_call(url, instance(unique, image_ref=''), mode='direct')
    answer = join_of(result, 'direct')
    assert answer['hostname'] == fqdn and answer['ipaotp']
    assert _hosts_named(ipa_admin, unique) == [fqdn]


def test_real_nova_body_with_user_data_and_image_is_served(
        server, nova_token, demo_project_id, ipa_admin, ipa_env, unique, cleanup):
    url, _ = server
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    body = _body(demo_project_id, 'vm-%s' % unique,
                 **{'user-data': 'IyEvYmluL3NoCmVjaG8gaGkK', 'boot-roles': ''})
    resp = _post(url, nova_token, json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()['hostname'] == fqdn


# -- what it accepts ------------------------------------------------------------

BAD = [
    ('trailing newline', lambda u: {'hostname': 'vm-%s\n' % u},
     "hostname 'vm-{u}\\n' is not a valid DNS label"),
    ('empty label', lambda u: {'hostname': 'vm-%s..b' % u},
     "hostname 'vm-{u}..b' has an empty label"),
    ('hyphen-led label', lambda u: {'hostname': 'vm-%s.-b' % u},
     "label of hostname 'vm-{u}.-b' '-b' is not a valid DNS label"),
    ('metadata array', lambda u: {'hostname': 'vm-%s' % u, 'metadata': []},
     'metadata must be an object of strings, not an array'),
    ('two trailing dots', lambda u: {'hostname': 'vm-%s.b..' % u},
     "hostname 'vm-{u}.b..' has an empty label"),
    ('metadata value boolean',
     lambda u: {'hostname': 'vm-%s' % u, 'metadata': {'ipa_enroll': True}},
     "metadata must be an object of strings; 'ipa_enroll' is a boolean"),
    ('hostname number',
     lambda u: {'hostname': 5, 'metadata': {'ipa_enroll': 'true', 'note': u}},
     'hostname must be a string, not a number'),
]


@pytest.mark.parametrize('case,overrides,message', BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_400_with_its_reason_and_nothing_in_ipa(
        server, nova_token, demo_project_id, ipa_admin, ipa_env, unique, cleanup,
        case, overrides, message):
    url, _ = server
    body = _body(demo_project_id, None)
    body.update(overrides(unique))
    cleanup.extend(['vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN']),
                    '%s.%s' % (body['hostname'], ipa_env['IPA_DOMAIN'])])
    resp = _post(url, nova_token, json=body)
    assert resp.status_code == 400, resp.text
    assert message.format(u=unique) in resp.json()['error']['message'], resp.text
    assert _hosts_named(ipa_admin, unique) == []


def test_deeply_nested_json_is_400_not_500(server, nova_token, demo_project_id,
                                           ipa_admin, unique):
    url, proc = server
    deep = b'[' * 100000 + b']' * 100000
    resp = _post(url, nova_token, data=deep)
    assert resp.status_code == 400, resp.text
    assert resp.json()['error']['message'] == (
        'body nests arrays/objects 100000 deep; at most 4 (nova sends an object '
        'of strings)')
    # nested inside a valid-looking body: same answer, nothing created
    nested = json.dumps(_body(demo_project_id, 'vm-%s' % unique))[:-1] + \
        ', "x": ' + '[' * 5000 + ']' * 5000 + '}'
    resp = _post(url, nova_token, data=nested)
    assert resp.status_code == 400 and 'nests arrays/objects 5001 deep' in \
        resp.json()['error']['message']
    assert _hosts_named(ipa_admin, unique) == []
    assert 'Traceback' not in proc.log()
