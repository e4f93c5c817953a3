import pytest

from novajoin import validation
from novajoin.validation import BadRequest
from novajoin.validation import VendordataRequest
from tests.unit.conftest import body


@pytest.mark.parametrize('label', ['a', 'vm1', 'web-01', 'x' * 63, '0abc'])
def test_valid_labels(label):
    assert validation.check_label(label) == label


@pytest.mark.parametrize('label,why', [
    ('', 'empty'), ('-vm', 'not a valid DNS label'), ('vm-', 'not a valid'),
    ('v_m', 'not a valid'), ('v.m', 'not a valid'), ('x' * 64, 'at most 63'),
    ('vm\u00e9', 'not a valid')])
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


def test_dns_label_from_project_name():
    assert validation.dns_label_from('My Project_1') == 'my-project-1'
    assert validation.dns_label_from('-x-') == 'x'
    assert len(validation.dns_label_from('p' * 100)) == 63
    with pytest.raises(BadRequest):
        validation.dns_label_from('***')


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


@pytest.mark.parametrize('overrides,message', [
    ({'instance-id': None}, 'instance-id is missing'),
    ({'instance-id': 'not-a-uuid'}, 'instance-id .* is not a UUID'),
    ({'instance-id': 5}, 'instance-id must be a string'),
    ({'project-id': ''}, 'project-id is empty'),
    ({'project-id': 'a b'}, 'not a keystone project id'),
    ({'image-id': 'x'}, 'image-id .* is not a UUID'),
    ({'hostname': None}, 'hostname is missing'),
    ({'metadata': {'a': 1}}, 'metadata must be an object of strings'),
    ({'metadata': ['x']}, 'metadata must be an object of strings'),
    ({'boot-roles': ['a']}, 'boot-roles must be a string'),
])
def test_bad_bodies_are_refused_with_the_reason(overrides, message):
    with pytest.raises(BadRequest, match=message):
        VendordataRequest.from_json(body(**overrides))


def test_body_must_be_an_object():
    with pytest.raises(BadRequest, match='JSON object'):
        VendordataRequest.from_json([1, 2])
