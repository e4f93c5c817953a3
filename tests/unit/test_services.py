import json

import pytest

from novajoin import services
from novajoin.validation import BadRequest


def req(metadata):
    return services.requested_services(metadata, 'ctl0', 'example.test')


def test_nothing_requested():
    assert not req({'ipa_enroll': 'true'})


def test_compact_services_make_subhosts_per_network():
    r = req({'compact_service_HTTP': json.dumps(['internalapi', 'storage']),
             'compact_service_rabbitmq': json.dumps(['internalapi'])})
    assert r.subhosts == ['ctl0.internalapi.example.test', 'ctl0.storage.example.test']
    assert r.principals == ['HTTP/ctl0.internalapi.example.test',
                            'HTTP/ctl0.storage.example.test',
                            'rabbitmq/ctl0.internalapi.example.test']


def test_legacy_compact_services_and_managed_services():
    r = req({'compact_services': json.dumps({'HTTP': ['ctlplane']}),
             'managed_service_haproxy': 'haproxy/overcloud.internalapi.example.test'})
    assert r.subhosts == ['ctl0.ctlplane.example.test', 'overcloud.internalapi.example.test']
    assert 'haproxy/overcloud.internalapi.example.test' in r.principals


@pytest.mark.parametrize('metadata,message', [
    ({'compact_services': '{bad'}, 'not valid JSON'),
    ({'compact_services': '[1]'}, 'JSON object'),
    ({'compact_service_HTTP': '"internalapi"'}, 'JSON list of strings'),
    ({'compact_service_HTTP': '["bad_net"]'}, 'network name'),
    ({'compact_service_b@d': '["net"]'}, 'service name'),
    ({'managed_service_x': 'no-slash'}, 'must be <service>/<host fqdn>'),
    ({'managed_service_x': 'HTTP/bad_host.example.test'}, 'not a valid DNS label'),
])
def test_bad_service_metadata_is_a_bad_request(metadata, message):
    with pytest.raises(BadRequest, match=message):
        req(metadata)
