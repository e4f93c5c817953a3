"""novajoin.validation: whole-string patterns, names never reshaped, bounded
JSON, nova's types."""
import json

import pytest

from novajoin import validation
from novajoin.validation import BadRequest
from novajoin.validation import VendordataRequest
from tests.unit.conftest import body

KELVIN = '\u212a'   # str.lower() makes it an ASCII "k"


@pytest.mark.parametrize('label', ['a', 'vm1', 'web-01', 'x' * 63, '0abc'])
def test_valid_labels(label):
    assert validation.check_label(label) == label


@pytest.mark.parametrize('label,why', [
    ('', 'empty'), ('-vm', 'not a valid DNS label'), ('vm-', 'not a valid'),
    ('v_m', 'not a valid'), ('v.m', 'not a valid'), ('x' * 64, 'at most 63'),
    ('vm\u00e9', 'not a valid'), ('vm\n', 'not a valid'), ('vm ', 'not a valid'),
    ('\nvm', 'not a valid'), (5, 'must be a string')])
def test_invalid_labels_name_the_problem(label, why):
    with pytest.raises(BadRequest, match=why):
        validation.check_label(label)


def test_fqdn_is_lowercased_and_bounded():
    assert validation.check_fqdn('VM1.Example.Test.') == 'vm1.example.test'
    ok = '.'.join(['a' * 63] * 3) + '.' + 'b' * 61   # 253 characters
    assert validation.check_fqdn(ok) == ok
    with pytest.raises(BadRequest, match='254 characters long; at most 253'):
        validation.check_fqdn(ok + 'b')
    with pytest.raises(BadRequest, match='not fully qualified'):
        validation.check_fqdn('vm1')


def test_fqdn_one_trailing_dot_of_an_absolute_name_is_dropped():
    assert validation.check_fqdn('vm1.example.test.') == 'vm1.example.test'


@pytest.mark.parametrize('fqdn,why', [
    ('vm1.example.test..', 'empty label'),
    ('a..b', 'empty label'),
    ('.a.b', 'empty label'),
    ('.', 'not a host name'),
    ('a.', 'not fully qualified'),
    ('a.-b', 'not a valid DNS label'),
    ('a-.b', 'not a valid DNS label'),
    ('-a.b', 'not a valid DNS label'),
    ('a.b-', 'not a valid DNS label'),
    ('web\n.example.test', 'not a valid DNS label'),
    ('web.example.test\n', 'not a valid DNS label'),
    ('web.example.test.\n', 'not a valid DNS label'),
    ('web .example.test', 'not a valid DNS label'),
    ('web_1.example.test', 'not a valid DNS label'),
    ('web%s.example.test' % KELVIN, 'ASCII'),
    ('', 'empty'),
    (None, 'must be a string'),
    (['a.b'], 'must be a string'),
])
def test_fqdn_that_is_not_rfc1123_is_refused_never_reshaped(fqdn, why):
    with pytest.raises(BadRequest, match=why):
        validation.check_fqdn(fqdn, 'hostname')


@pytest.mark.parametrize('name,expected', [
    ('vm1', 'vm1'), ('VM-1', 'vm-1'), ('vm1.example.test', 'vm1.example.test'),
    ('vm1.example.test.', 'vm1.example.test'), ('vm1.', 'vm1')])
def test_hostname_is_a_label_or_a_name_of_labels(name, expected):
    assert validation.check_hostname(name) == expected


@pytest.mark.parametrize('name,why', [
    ('web\n', 'not a valid DNS label'), ('a..b', 'empty label'),
    ('a.-b', 'not a valid DNS label'), ('vm1..', 'empty label'),
    ('-vm', 'not a valid DNS label'), ('x' * 64, 'at most 63'),
    ('vm' + KELVIN, 'ASCII'), ('.', 'not a host name'), (5, 'must be a string'),
    ('a.' * 127 + 'bb', 'at most 253')])
def test_hostname_that_is_not_rfc1123_is_refused(name, why):
    with pytest.raises(BadRequest, match=why):
        validation.check_hostname(name)


@pytest.mark.parametrize('name', ['HTTP', 'haproxy', 'neutron_ovn', 'libvirt-vnc'])
def test_valid_service_names(name):
    assert validation.check_service_name(name) == name


@pytest.mark.parametrize('name', ['HTTP\n', '1http', '', 'a' * 64, 'ht tp', 'HTTP/x',
                                  None])
def test_service_name_must_match_whole_string(name):
    with pytest.raises(BadRequest, match='service name .* is not valid'):
        validation.check_service_name(name)


def test_dns_label_from_project_name():
    assert validation.dns_label_from('My Project_1') == 'my-project-1'
    assert validation.dns_label_from('-x-') == 'x'
    assert len(validation.dns_label_from('p' * 100)) == 63
    with pytest.raises(BadRequest):
        validation.dns_label_from('***')


# -- the JSON body ------------------------------------------------------------

@pytest.mark.parametrize('text,depth', [
    ('"x"', 0), ('{}', 1), ('{"metadata": {}}', 2), ('[[1], {"a": [2]}]', 3),
    ('{"a": "[[[[{{{{"}', 1), (r'{"a": "\"[[[", "b": {}}', 2),
    ('[' * 100000 + ']' * 100000, 100000)])
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert validation.json_depth(text) == depth


def test_nova_body_parses():
    raw = json.dumps(body(**{'user-data': 'IyEvYmluL3NoCg=='})).encode()
    assert validation.parse_json_body(raw) == body(**{'user-data': 'IyEvYmluL3NoCg=='})


@pytest.mark.parametrize('raw,message', [
    (b'[' * 100000 + b']' * 100000, 'nests arrays/objects 100000 deep; at most 4'),
    (b'{"a": [[[[1]]]]}', 'nests arrays/objects 5 deep'),
    (b'{"a": 1, "a": 2}', "the key 'a' twice"),
    (b'{"a": NaN}', 'NaN, which is not JSON'),
    (b'{"a": -Infinity}', '-Infinity, which is not JSON'),
    (b'{"a": "\xff"}', 'not UTF-8'),
    (b'{"project-id": ', 'not valid JSON'),
    (b'', 'not valid JSON'),
    (b'{"a": "' + b'x' * validation.MAX_BODY + b'"}', 'too large'),
])
def test_bad_json_bodies_are_bad_requests_with_the_reason(raw, message):
    with pytest.raises(BadRequest, match=message):
        validation.parse_json_body(raw)


def test_body_at_the_size_limit_parses():
    raw = b'"' + b'x' * (validation.MAX_BODY - 2) + b'"'
    assert len(validation.parse_json_body(raw)) == validation.MAX_BODY - 2


# -- nova's fields --------------------------------------------------------------

def test_request_from_nova_body():
    req = VendordataRequest.from_json(body(**{'image-id': 'C0FFEE00-1234-4abc-8def-0123456789ab'}))
    assert req.instance_id == '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'
    assert req.image_id == 'c0ffee00-1234-4abc-8def-0123456789ab'
    assert req.boot_roles == ['member', 'reader']
    assert req.metadata == {'ipa_enroll': 'True'}


def test_boot_from_volume_and_empty_fields():
    req = VendordataRequest.from_json(body(**{'image-id': '', 'boot-roles': '',
                                              'metadata': {}}))
    assert req.image_id is None and req.boot_roles == [] and req.metadata == {}


@pytest.mark.parametrize('user_data', [None, '', 'IyEvYmluL3NoCmVjaG8gaGkK'])
def test_user_data_may_be_null_or_a_string(user_data):
    req = VendordataRequest.from_json(body(**{'user-data': user_data}))
    assert req.hostname == 'vm1'


def test_hostname_as_nova_sends_it_is_kept_as_sent():
    for name in ('vm1', 'web-01.example.test', 'Web-01.Example.Test.'):
        assert VendordataRequest.from_json(body(hostname=name)).hostname == name


def test_keys_nova_may_add_later_are_ignored():
    req = VendordataRequest.from_json(dict(body(), **{'new-field': {'x': [1]}}))
    assert req.hostname == 'vm1'


@pytest.mark.parametrize('overrides,message', [
    ({'instance-id': None}, 'instance-id is missing'),
    ({'instance-id': 'not-a-uuid'}, 'instance-id .* is not a UUID'),
    ({'instance-id': 5}, 'instance-id must be a string, not a number'),
    ({'instance-id': '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90\n'}, 'is not a UUID'),
    ({'instance-id': '{8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90}'}, 'is not a UUID'),
    ({'instance-id': 'urn:uuid:8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'}, 'is not a UUID'),
    ({'instance-id': '8a3c2f0e5b7d4c1e9f6a2d4b8e1c7a90'}, 'is not a UUID'),
    ({'project-id': ''}, 'project-id is empty'),
    ({'project-id': 'a b'}, 'not a keystone project id'),
    ({'project-id': 'c2f4e9d07a6b4d0e8f1a2b3c4d5e6f70\n'}, 'not a keystone project id'),
    ({'project-id': ['x']}, 'project-id must be a string, not an array'),
    ({'image-id': 'x'}, 'image-id .* is not a UUID'),
    ({'image-id': 0}, 'image-id must be a string, not a number'),
    ({'hostname': None}, 'hostname is missing'),
    ({'hostname': ''}, 'hostname is empty'),
    ({'hostname': 5}, 'hostname must be a string, not a number'),
    ({'hostname': True}, 'hostname must be a string, not a boolean'),
    ({'hostname': 'web\n'}, 'not a valid DNS label'),
    ({'hostname': 'a..b'}, 'empty label'),
    ({'hostname': 'a.-b'}, 'not a valid DNS label'),
    ({'hostname': 'web' + KELVIN}, 'ASCII'),
    ({'user-data': 5}, 'user-data must be a string, not a number'),
    ({'user-data': {'a': 'b'}}, 'user-data must be a string, not an object'),
    ({'metadata': {'a': 1}}, "metadata must be an object of strings; 'a' is a number"),
    ({'metadata': {'a': None}}, "'a' is null"),
    ({'metadata': {'a': ['x']}}, "'a' is an array"),
    ({'metadata': {'a': {'b': 'c'}}}, "'a' is an object"),
    ({'metadata': ['x']}, 'metadata must be an object of strings, not an array'),
    ({'metadata': []}, 'metadata must be an object of strings, not an array'),
    ({'metadata': ''}, 'metadata must be an object of strings, not a string'),
    ({'metadata': 0}, 'metadata must be an object of strings, not a number'),
    ({'metadata': False}, 'metadata must be an object of strings, not a boolean'),
    ({'boot-roles': ['a']}, 'boot-roles must be a string, not an array'),
    ({'boot-roles': 5}, 'boot-roles must be a string, not a number'),
    ({'boot-roles': False}, 'boot-roles must be a string, not a boolean'),
])
def test_bad_bodies_are_refused_with_the_reason(overrides, message):
    with pytest.raises(BadRequest, match=message):
        VendordataRequest.from_json(body(**overrides))


@pytest.mark.parametrize('value,kind', [([1, 2], 'an array'), ('x', 'a string'),
                                        (5, 'a number'), (None, 'null')])
def test_body_must_be_an_object(value, kind):
    with pytest.raises(BadRequest, match='must be a JSON object, not %s' % kind):
        VendordataRequest.from_json(value)


def test_missing_or_null_metadata_is_empty():
    data = body()
    del data['metadata']
    assert VendordataRequest.from_json(data).metadata == {}
    assert VendordataRequest.from_json(body(metadata=None)).metadata == {}
