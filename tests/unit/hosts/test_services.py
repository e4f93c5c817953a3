import json

import pytest

from novajoin.hosts import services
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


# -- who may ask for services, and where ------------------------------------

def rules(**kw):
    kw.setdefault('ipa_servers', ['ipa.example.test'])
    return services.ServiceRules(['undercloud'], **kw)


def wanted(*principals):
    return services.ServiceRequest(
        sorted({p.partition('/')[2] for p in principals}), sorted(principals))


def test_no_services_asked_passes_for_any_project():
    services.ServiceRules().check('anyone', 'vm.example.test', wanted())


def test_services_are_refused_to_projects_not_listed():
    with pytest.raises(services.Refused, match='service_projects'):
        services.ServiceRules().check('p', 'vm.example.test',
                                      wanted('HTTP/vm.internalapi.example.test'))
    rules().check('undercloud', 'vm.example.test',
                  wanted('HTTP/vm.internalapi.example.test'))


def test_subhost_names_longer_than_ipa_allows_are_a_bad_request():
    long_net = 'n' * 44     # vm.<44>.example.test: 60 characters
    principal = 'HTTP/vm.%s.example.test' % long_net
    with pytest.raises(BadRequest, match=r'is 60 characters long; IPA allows at most 59'):
        services.ServiceRules(['undercloud'], max_host_name_length=59).check(
            'undercloud', 'vm.example.test', wanted(principal))
    services.ServiceRules(['undercloud'], max_host_name_length=60).check(
        'undercloud', 'vm.example.test', wanted(principal))


@pytest.mark.parametrize('principal', ['krbtgt/x.example.test', 'ldap/x.example.test',
                                       'host/x.example.test', 'cifs/x.example.test',
                                       'http/x.example.test', 'nfs/x.example.test'])
def test_service_types_not_listed_are_refused(principal):
    with pytest.raises(services.Refused, match='service_types'):
        rules().check('undercloud', 'vm.example.test', wanted(principal))


@pytest.mark.parametrize('principal, why', [
    ('HTTP/gitlab.other.test', 'outside'),
    ('HTTP/example.test', 'outside'),                  # the apex
    ('HTTP/vip.example.test.evil.test', 'outside'),
    ('HTTP/ipa.example.test', 'IPA server'),
])
def test_subhosts_stay_inside_the_hosts_domain(principal, why):
    with pytest.raises(services.Refused, match=why):
        rules().check('undercloud', 'vm.example.test', wanted(principal))


def test_a_service_on_the_host_itself_and_deeper_subdomains_pass():
    rules().check('undercloud', 'vm.example.test', wanted(
        'HTTP/vm.example.test', 'HTTP/vm.internalapi.example.test',
        'haproxy/vip.example.test'))


def test_project_subdomain_confines_to_the_projects_own_subdomain():
    with pytest.raises(services.Refused, match='outside'):
        rules().check('undercloud', 'vm.demo.example.test',
                      wanted('HTTP/vip.other.example.test'))


@pytest.mark.parametrize('reserved', ['kadmin', 'KRBTGT', 'ldap', 'DNS', 'K'])
def test_reserved_types_cannot_be_allowed_by_configuration(reserved):
    with pytest.raises(ValueError, match='IPA itself uses'):
        services.ServiceRules(['p'], types=['HTTP', reserved])
