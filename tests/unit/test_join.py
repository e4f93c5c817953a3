"""Enroller behaviour: the decision, naming, OTP stability, ownership, services."""
import json
import time
import uuid

import pytest

from novajoin import join
from novajoin import otp as otp_mod
from novajoin.hosts import rearm
from novajoin.hosts import records as ownership
from novajoin.dev.fake_ipa import IPAFault
from novajoin.ipa import errors
from novajoin.validation import BadRequest
from novajoin.validation import VendordataRequest
from tests.unit.conftest import INSTANCE
from tests.unit.conftest import PROJECT
from tests.unit.conftest import SECRET
from tests.unit.conftest import StubImages
from tests.unit.conftest import StubProjects
from tests.unit.conftest import body

IMAGE = 'c0ffee00-1234-4abc-8def-0123456789ab'
OTHER = '11111111-2222-4333-8444-555555555555'


def request(**overrides):
    return VendordataRequest.from_json(body(**overrides))


def test_enrolls_with_metadata_and_answers_the_join_fields(make_enroller, fake_ipa):
    answer = make_enroller().handle(request(metadata={'ipa_enroll': 'TRUE',
                                                      'ipa_hostclass': 'web'}))
    assert answer['hostname'] == 'vm1.example.test'
    assert answer['krb_realm'] == 'EXAMPLE.TEST'
    assert answer['ipa_domain'] == 'example.test'
    assert answer['ipa_server'] == ['ipa.example.test']
    host = fake_ipa.ipa.hosts['vm1.example.test']
    assert host['_password'] == answer['ipaotp']
    assert 'web' in host['userclass']
    assert ownership.owner_of(host) == (INSTANCE, PROJECT, 'default')


def test_the_host_add_carries_the_hostclass_and_the_owner_values_in_userclass(
        make_enroller, fake_ipa):
    from novajoin import otp
    from tests.unit.conftest import SECRET
    values = ownership.owner_values(INSTANCE, PROJECT, 'default',
                                    key=otp.key_id(SECRET))
    make_enroller().handle(request(metadata={'ipa_enroll': 'TRUE',
                                             'ipa_hostclass': 'web'}))
    host = fake_ipa.ipa.hosts['vm1.example.test']
    assert host['userclass'] == ['web'] + values
    # the description repeats the record, for people
    assert host['description'] == [values[0]]
    # without a host class: the three novajoin values only
    make_enroller().handle(request(hostname='vm2', **{'instance-id': OTHER}))
    assert fake_ipa.ipa.hosts['vm2.example.test']['userclass'] == (
        ownership.owner_values(OTHER, PROJECT, 'default',
                               key=otp.key_id(SECRET)))


def test_first_fetch_is_one_ipa_call(make_enroller, fake_ipa):
    enroller = make_enroller()
    enroller.identity.get()
    fake_ipa.ipa.calls.clear()
    enroller.handle(request())
    assert fake_ipa.ipa.calls == ['host_add']


def test_repeated_fetch_same_otp_and_no_write(make_enroller, fake_ipa):
    worker = make_enroller(answer_ttl=0)     # IPA asked every time
    first = worker.handle(request())
    fake_ipa.ipa.calls.clear()
    assert worker.handle(request()) == first
    assert fake_ipa.ipa.calls == ['host_show']       # one read, nothing else
    before = json.dumps(fake_ipa.ipa.hosts, sort_keys=True)
    fake_ipa.ipa.calls.clear()
    other = make_enroller(answer_ttl=0)      # another worker or replica
    assert other.handle(request()) == first
    # It does not know the host: its add is refused (DuplicateEntry), then it
    # reads the host. IPA is unchanged.
    assert [c for c in fake_ipa.ipa.calls if c != 'env'] == ['host_add', 'host_show']
    assert json.dumps(fake_ipa.ipa.hosts, sort_keys=True) == before
    fake_ipa.ipa.calls.clear()
    other.handle(request())
    assert fake_ipa.ipa.calls == ['host_show']


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_same_request_again_is_answered_from_memory_within_the_ttl(
        make_enroller, fake_ipa):
    clock = Clock()
    worker = make_enroller(answer_ttl=15, clock=clock)
    first = worker.handle(request())
    fake_ipa.ipa.calls.clear()
    clock.now += 14
    assert worker.handle(request()) == first
    assert fake_ipa.ipa.calls == []                  # no IPA at all
    # the copy handed out is not the cached object itself
    worker.handle(request())['ipaotp'] = 'changed'
    assert worker.handle(request()) == first
    clock.now += 2                                   # past the TTL: IPA again
    assert worker.handle(request()) == first
    assert fake_ipa.ipa.calls == ['host_show']


def test_a_request_that_differs_in_anything_is_not_answered_from_memory(
        make_enroller, fake_ipa):
    worker = make_enroller(answer_ttl=15)
    worker.handle(request())
    fake_ipa.ipa.calls.clear()
    # another instance asking for the same host name: IPA decides (409)
    with pytest.raises(join.Conflict):
        worker.handle(request(**{'instance-id': str(uuid.uuid4())}))
    assert fake_ipa.ipa.calls
    fake_ipa.ipa.calls.clear()
    worker.handle(request(metadata={'ipa_enroll': 'true',
                                    'ipa_host_location': 'rack 2'}))
    assert fake_ipa.ipa.calls == ['host_show']


def test_an_enrolled_hosts_answer_is_not_remembered(make_enroller, fake_ipa):
    worker = make_enroller(answer_ttl=15)
    created = worker.handle(request())['ipaotp']
    fake_ipa.ipa.enroll('vm1.example.test', created)
    worker = make_enroller(answer_ttl=15)       # knows nothing yet
    assert 'ipaotp' not in worker.handle(request())
    fake_ipa.ipa.calls.clear()
    assert 'ipaotp' not in worker.handle(request())
    assert fake_ipa.ipa.calls == ['host_show']       # asked IPA again


def test_a_request_that_waited_too_long_to_arrive_is_shed_without_ipa(
        make_enroller, fake_ipa):
    worker = make_enroller(request_deadline=4.5)
    with pytest.raises(join.Overloaded, match='waited 4.[0-9] s'):
        worker.handle(request(), arrived=time.monotonic() - 4.0)
    assert fake_ipa.ipa.calls == []


def test_the_deadline_starts_when_the_request_arrived(make_enroller, fake_ipa,
                                                      monkeypatch):
    worker = make_enroller(request_deadline=4.5)
    deadlines = []
    original = worker.ipa.call

    def call(method, *args, deadline=None, **options):
        deadlines.append(deadline)
        return original(method, *args, deadline=deadline, **options)
    monkeypatch.setattr(worker.ipa, 'call', call)
    arrived = time.monotonic() - 2.0
    assert worker.handle(request(), arrived=arrived)['ipaotp']
    assert deadlines and all(d == arrived + 4.5 for d in deadlines)


def test_refusals_and_failures_are_not_remembered(make_enroller, fake_ipa,
                                                  monkeypatch):
    worker = make_enroller(answer_ttl=15)
    original = fake_ipa.ipa.run

    def down(method, args, options):
        raise RuntimeError('IPA exploded')
    monkeypatch.setattr(fake_ipa.ipa, 'run', down)
    with pytest.raises(errors.IPAError):
        worker.handle(request())
    monkeypatch.setattr(fake_ipa.ipa, 'run', original)
    answer = worker.handle(request())                # asked IPA: it works now
    assert answer['ipaotp'] and fake_ipa.ipa.calls.count('host_add') == 1


@pytest.mark.parametrize('metadata', [{}, {'ipa_enroll': 'false'},
                                      {'ipa_enroll': 'yes-please'}])
def test_not_enrolling_answers_empty_and_touches_nothing(make_enroller, fake_ipa,
                                                         metadata):
    assert make_enroller().handle(request(metadata=metadata)) == {}
    assert fake_ipa.ipa.calls == [] and not fake_ipa.ipa.hosts


def test_image_property_decides_only_when_metadata_is_silent(make_enroller, fake_ipa):
    images = StubImages({IMAGE: {'ipa_enroll': 'True', 'os_distro': 'rhel',
                                 'os_version': '9.4'}})
    enroller = make_enroller(images=images)
    answer = enroller.handle(request(metadata={}, **{'image-id': IMAGE}))
    assert answer['ipaotp']
    assert fake_ipa.ipa.hosts['vm1.example.test']['nsosversion'] == ['rhel 9.4']
    assert images.lookups == [IMAGE]   # once per request, though used twice
    # metadata ipa_enroll=false wins over the image, without asking glance
    assert enroller.handle(request(metadata={'ipa_enroll': 'false'},
                                   **{'image-id': IMAGE})) == {}
    assert images.lookups == [IMAGE]


def test_metadata_true_needs_no_glance_and_survives_its_failure(make_enroller, fake_ipa):
    from novajoin.openstack import UpstreamError
    images = StubImages(error=UpstreamError('glance down'))
    answer = make_enroller(images=images).handle(request(**{'image-id': IMAGE}))
    assert answer['ipaotp']          # OS version is best effort
    assert 'nsosversion' not in fake_ipa.ipa.hosts['vm1.example.test']


def test_glance_failure_when_it_must_decide_is_an_upstream_error(make_enroller):
    from novajoin.openstack import UpstreamError
    enroller = make_enroller(images=StubImages(error=UpstreamError('glance down')))
    with pytest.raises(UpstreamError):
        enroller.handle(request(metadata={}, **{'image-id': IMAGE}))


def test_squatted_name_is_a_conflict_and_changes_nothing(make_enroller, fake_ipa):
    make_enroller().handle(request())
    before = json.dumps(fake_ipa.ipa.hosts, sort_keys=True)
    fake_ipa.ipa.calls.clear()
    with pytest.raises(join.Conflict, match='belongs to another instance'):
        make_enroller().handle(request(**{'instance-id': OTHER}))
    assert [c for c in fake_ipa.ipa.calls if c != 'env'] == ['host_add', 'host_show']
    assert json.dumps(fake_ipa.ipa.hosts, sort_keys=True) == before


def test_host_not_made_by_novajoin_is_a_conflict(make_enroller, fake_ipa):
    fake_ipa.ipa.cmd_host_add('vm1.example.test', description='the mail server')
    with pytest.raises(join.Conflict, match='another owner'):
        make_enroller().handle(request())


def test_a_refetch_after_the_guest_rewrote_its_description_gets_its_otp(
        make_enroller, fake_ipa):
    # An enrolled-to-be host may rewrite its own description (IPA's default
    # ACI); its owner is in userclass, which it cannot write.
    first = make_enroller().handle(request())
    fake_ipa.ipa.cmd_host_mod('vm1.example.test',
                              description=ownership.owner_record(
                                  OTHER, 'project-b', 'default'))
    fake_ipa.ipa.calls.clear()
    assert make_enroller().handle(request()) == first
    assert 'host_mod' not in fake_ipa.ipa.calls
    # and the instance the description names gets nothing from it
    with pytest.raises(join.Conflict, match='belongs to another instance'):
        make_enroller().handle(request(**{'instance-id': OTHER,
                                          'project-id': 'project-b'}))


def test_a_host_whose_userclass_names_another_instance_is_a_conflict(
        make_enroller, fake_ipa):
    from novajoin import otp
    from tests.unit.conftest import SECRET
    key = otp.key_id(SECRET)
    # the description names the requesting instance: not believed
    fake_ipa.ipa.cmd_host_add(
        'vm1.example.test', force=True, userpassword='other-otp',
        userclass=ownership.owner_values(OTHER, PROJECT, 'default', key=key),
        description=ownership.owner_record(INSTANCE, PROJECT, 'default',
                                           key=key))
    before = json.dumps(fake_ipa.ipa.hosts, sort_keys=True)
    with pytest.raises(join.Conflict, match='belongs to another instance'):
        make_enroller().handle(request())
    assert json.dumps(fake_ipa.ipa.hosts, sort_keys=True) == before


def test_a_record_in_the_description_alone_is_a_conflict(make_enroller,
                                                         fake_ipa):
    # forged, or written by novajoin 2.0 development builds and not adopted yet
    fake_ipa.ipa.cmd_host_add(
        'vm1.example.test', force=True, userpassword='some-otp',
        description=ownership.owner_record(INSTANCE, PROJECT, 'default'))
    with pytest.raises(join.Conflict, match='another owner'):
        make_enroller().handle(request())
    assert fake_ipa.ipa.hosts['vm1.example.test']['_password'] == 'some-otp'


def test_enrolled_host_answers_without_otp(make_enroller, fake_ipa):
    otp = make_enroller().handle(request())['ipaotp']
    fake_ipa.ipa.enroll('vm1.example.test', otp)
    answer = make_enroller().handle(request())
    assert 'ipaotp' not in answer and answer['hostname'] == 'vm1.example.test'


def test_the_ca_goes_with_the_otp_only(make_enroller, fake_ipa):
    pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    first = make_enroller(ca_cert=pem).handle(request())
    assert first['ipa_ca_cert'] == pem
    fake_ipa.ipa.enroll('vm1.example.test', first['ipaotp'])
    assert 'ipa_ca_cert' not in make_enroller(ca_cert=pem).handle(request())
    assert 'ipa_ca_cert' not in make_enroller().handle(request(hostname='vm2'))


def test_a_host_an_administrator_disabled_is_never_armed_again(make_enroller,
                                                               fake_ipa, caplog):
    otp = make_enroller().handle(request())['ipaotp']
    # IPA's host-disable acts on a host with keys (the guest enrolled)
    fake_ipa.ipa.enroll('vm1.example.test', otp)
    fake_ipa.ipa.cmd_host_disable('vm1.example.test')
    fake_ipa.ipa.calls.clear()
    with pytest.raises(join.Refused, match='disabled by an administrator'):
        make_enroller().handle(request())
    host = fake_ipa.ipa.hosts['vm1.example.test']
    assert not host.get('_password')
    assert 'host_mod' not in fake_ipa.ipa.calls
    assert any(r.name == 'novajoin.audit' and 'disabled' in r.getMessage()
               for r in caplog.records)


def test_race_with_another_replica_resolves_to_the_same_answer(make_enroller, fake_ipa):
    enroller = make_enroller()
    winner = enroller.handle(request())
    # the other replica saw NotFound, then its host_add hit DuplicateEntry
    fake_ipa.ipa.fail_next.append(IPAFault(4001, 'NotFound', 'not found'))
    assert enroller.handle(request()) == winner


@pytest.mark.parametrize('hostname,fqdn', [
    ('VM-01', 'vm-01.example.test'),
    ('vm1.example.test', 'vm1.example.test'),      # nova 2.94 FQDN in our domain
    ('vm1.elsewhere.org', 'vm1.example.test'),     # only the short name is used
    ('vm1.', 'vm1.example.test'),                  # an absolute name
])
def test_fqdn(make_enroller, hostname, fqdn):
    assert make_enroller().handle(request(hostname=hostname))['hostname'] == fqdn


def test_configured_domain(make_enroller):
    answer = make_enroller(domain='Cloud.Example.Test').handle(request())
    assert answer['hostname'] == 'vm1.cloud.example.test'
    assert answer['ipa_domain'] == 'example.test'


def test_project_subdomain(make_enroller):
    enroller = make_enroller(project_subdomain=True,
                             projects=StubProjects({PROJECT: 'Team Red'}))
    assert enroller.handle(request())['hostname'] == 'vm1.team-red.example.test'


def test_project_subdomain_needs_keystone(make_enroller):
    with pytest.raises(ValueError, match='project_subdomain'):
        make_enroller(project_subdomain=True, projects=None)


@pytest.mark.parametrize('hostname,message', [
    ('-bad', 'not a valid DNS label'), ('x' * 64, 'at most 63'),
    ('under_score', 'not a valid DNS label')])
def test_bad_hostname_is_refused_before_ipa(make_enroller, fake_ipa, hostname, message):
    # Built directly: from_json already refuses these, and this checks the
    # enroller's own guard (it is also reached from notify's sync path).
    unchecked = VendordataRequest(PROJECT, INSTANCE, None, hostname,
                                  {'ipa_enroll': 'True'}, [])
    with pytest.raises(BadRequest, match=message):
        make_enroller().handle(unchecked)
    assert fake_ipa.ipa.calls == ['env']   # the realm, nothing about the host


def test_fqdn_over_253_is_refused(make_enroller, fake_ipa):
    domain = '.'.join(['d' * 50] * 5)   # 254 characters before 'vm1.'
    with pytest.raises(BadRequest, match='at most 253'):
        make_enroller(domain=domain).handle(request())
    assert 'host_show' not in fake_ipa.ipa.calls


def test_host_name_longer_than_ipa_allows_is_400_before_ipa(make_enroller, fake_ipa):
    # 'vm1.' + 61 = 65 characters: valid DNS, over IPA's default 64
    domain = 'd' * 48 + '.example.test'
    enroller = make_enroller(domain=domain)
    enroller.identity.get()
    fake_ipa.ipa.calls.clear()
    with pytest.raises(BadRequest, match=r'65 characters long; IPA allows at most 64'):
        enroller.handle(request())
    assert fake_ipa.ipa.calls == []
    answer = make_enroller(domain=domain, max_host_name_length=65).handle(request())
    assert answer['hostname'] == 'vm1.' + domain


def test_subhost_name_longer_than_ipa_allows_is_400_before_ipa(make_enroller, fake_ipa):
    enroller = make_enroller()
    enroller.identity.get()
    fake_ipa.ipa.calls.clear()
    network = 'n' * 49     # vm1.<49>.example.test: 66 characters
    with pytest.raises(BadRequest, match=r"'vm1\.n+\.example\.test' is 66 characters"):
        enroller.handle(request(metadata={'ipa_enroll': 'true',
                                          'compact_service_HTTP': '["%s"]' % network}))
    assert fake_ipa.ipa.calls == []


def test_boot_roles_gate(make_enroller, fake_ipa):
    enroller = make_enroller(required_boot_roles=['ipa-enroller', 'admin'])
    with pytest.raises(join.Refused, match='none of the roles admin, ipa-enroller'):
        enroller.handle(request())
    assert not fake_ipa.ipa.hosts
    assert enroller.handle(request(**{'boot-roles': 'member,ipa-enroller'}))['ipaotp']


def test_hostclass_policy(make_enroller):
    enroller = make_enroller(allowed_hostclasses=['web'],
                             project_hostclasses={PROJECT: 'db|cache'})
    for cls in ('web', 'db'):
        assert enroller.handle(request(metadata={'ipa_enroll': 'true',
                                                 'ipa_hostclass': cls}))
    with pytest.raises(join.Refused, match="host class 'admin-only' is not allowed"):
        enroller.handle(request(metadata={'ipa_enroll': 'true',
                                          'ipa_hostclass': 'admin-only'}))
    with pytest.raises(BadRequest, match='ipa_hostclass'):
        enroller.handle(request(metadata={'ipa_enroll': 'true',
                                          'ipa_hostclass': 'a b;c'}))


def test_host_location(make_enroller, fake_ipa):
    make_enroller().handle(request(metadata={'ipa_enroll': 'true',
                                             'ipa_host_location': 'Rack 12, DC-1'}))
    assert fake_ipa.ipa.hosts['vm1.example.test']['nshostlocation'] == ['Rack 12, DC-1']


def test_services_in_one_batch(make_enroller, fake_ipa):
    metadata = {'ipa_enroll': 'true',
                'compact_service_HTTP': '["internalapi", "storage"]',
                'managed_service_haproxy': 'haproxy/overcloud.example.test'}
    make_enroller().handle(request(metadata=metadata))
    ipa = fake_ipa.ipa
    assert ipa.calls.count('batch') == 2   # subhost checks, then all the adds
    for sub in ('vm1.internalapi.example.test', 'vm1.storage.example.test',
                'overcloud.example.test'):
        assert ownership.is_subhost(ipa.hosts[sub])
        assert 'vm1.example.test' in ipa.hosts[sub]['managedby_host']
    service = ipa.services['HTTP/vm1.internalapi.example.test@EXAMPLE.TEST']
    assert 'vm1.example.test' in service['managedby_host']
    assert 'haproxy/overcloud.example.test@EXAMPLE.TEST' in ipa.services


def test_shared_vip_host_between_two_instances(make_enroller, fake_ipa):
    metadata = {'ipa_enroll': 'true',
                'managed_service_haproxy': 'haproxy/overcloud.example.test'}
    make_enroller().handle(request(metadata=metadata))
    make_enroller().handle(request(metadata=metadata, hostname='vm2',
                                   **{'instance-id': OTHER}))
    managers = fake_ipa.ipa.hosts['overcloud.example.test']['managedby_host']
    assert {'vm1.example.test', 'vm2.example.test'} <= set(managers)


def test_service_on_a_host_novajoin_did_not_make_is_a_conflict(make_enroller, fake_ipa):
    fake_ipa.ipa.cmd_host_add('mail.example.test', description='mail server')
    with pytest.raises(join.Conflict, match='was not made by novajoin'):
        make_enroller().handle(request(metadata={
            'ipa_enroll': 'true', 'managed_service_x': 'HTTP/mail.example.test'}))
    assert 'vm1.example.test' not in fake_ipa.ipa.hosts


def test_refused_service_link_rolls_back_the_host(make_enroller, fake_ipa, monkeypatch):
    ipa = fake_ipa.ipa
    original = ipa.cmd_service_add_host

    def refuse(principal, host=(), **kw):
        result = original(principal, host=host, **kw)
        result['failed'] = {'managedby': {'host': [[host[0], 'Insufficient access']]}}
        return result
    monkeypatch.setattr(ipa, 'cmd_service_add_host', refuse)
    with pytest.raises(errors.IPACommandError, match='Insufficient access'):
        make_enroller().handle(request(metadata={
            'ipa_enroll': 'true', 'compact_service_HTTP': '["internalapi"]'}))
    # everything the request made is gone: the next fetch starts again, and
    # no subhost is left for anyone to claim
    assert 'vm1.example.test' not in ipa.hosts
    assert 'vm1.internalapi.example.test' not in ipa.hosts
    assert not ipa.services


def test_ipa_down_is_unavailable(make_enroller):
    from tests.functional.peers import free_port
    from novajoin.ipa import IPAClient
    from novajoin.ipa.auth import PasswordAuth
    dead = IPAClient(['127.0.0.1:%d' % free_port()], PasswordAuth('a', 'b'),
                     scheme='http', retries=1, retry_backoff=0.01)
    enroller = join.Enroller(dead, make_enroller().otps, join.IPAIdentity(dead))
    with pytest.raises(errors.IPAUnavailable):
        enroller.handle(request())


@pytest.mark.parametrize('hostname', ['a..b', 'a.-b', 'web\n', 'web\n.x.org',
                                      'vm1..', '.vm1', 'a_b', '-a', 'x' * 64])
def test_a_malformed_hostname_is_refused_never_reshaped(make_enroller, fake_ipa,
                                                        hostname):
    with pytest.raises(BadRequest):
        make_enroller().handle(request(hostname=hostname))
    assert not fake_ipa.ipa.hosts


SERVICES = {'ipa_enroll': 'true', 'compact_service_HTTP': '["internalapi"]'}


def test_services_are_refused_to_a_project_not_in_service_projects(
        make_enroller, fake_ipa):
    from novajoin.hosts import services
    enroller = make_enroller(service_rules=services.ServiceRules(['undercloud']))
    with pytest.raises(join.Refused, match='service_projects'):
        enroller.handle(request(metadata=SERVICES))
    assert not fake_ipa.ipa.hosts and not fake_ipa.ipa.services
    # without services the same project enrolls
    assert enroller.handle(request())['ipaotp']


@pytest.mark.parametrize('value, why', [
    ('krbtgt/vm1.example.test', 'not allowed'),
    ('ldap/vip.example.test', 'not allowed'),
    ('cifs/vip.example.test', 'not allowed'),
    ('HTTP/gitlab.other.test', 'outside example.test'),
    ('HTTP/example.test', 'outside example.test'),
    ('HTTP/ipa.example.test', 'is an IPA server'),
])
def test_privileged_types_and_names_outside_the_domain_are_refused(
        make_enroller, fake_ipa, value, why):
    with pytest.raises(join.Refused, match=why):
        make_enroller().handle(request(metadata={
            'ipa_enroll': 'true', 'managed_service_x': value}))
    assert not fake_ipa.ipa.hosts and not fake_ipa.ipa.services


def test_reserved_service_types_cannot_be_configured():
    from novajoin.hosts import services
    with pytest.raises(ValueError, match='kadmin'):
        services.ServiceRules(['p'], types=['HTTP', 'kadmin'])


def test_another_projects_subhost_is_a_conflict_and_stays_unchanged(
        make_enroller, fake_ipa):
    from novajoin.hosts import services
    rules = services.ServiceRules([PROJECT, 'project-b'])
    vip = {'ipa_enroll': 'true', 'managed_service_x': 'HTTP/ctl.example.test'}
    make_enroller(service_rules=rules).handle(request(metadata=vip))
    before = json.dumps(fake_ipa.ipa.hosts['ctl.example.test'], sort_keys=True)
    with pytest.raises(join.Conflict, match='another project'):
        make_enroller(service_rules=rules).handle(request(
            metadata=vip, hostname='intruder',
            **{'instance-id': OTHER, 'project-id': 'project-b'}))
    assert json.dumps(fake_ipa.ipa.hosts['ctl.example.test'],
                      sort_keys=True) == before
    assert 'intruder.example.test' not in fake_ipa.ipa.hosts


def _vip_made_meanwhile(ipa, monkeypatch, project):
    # Another instance's enrollment creates the shared VIP host after this
    # request read IPA (the VIP was missing) and before its batch adds it.
    original = ipa.cmd_host_add

    def racing(fqdn, **kw):
        if fqdn == 'vm1.example.test':
            monkeypatch.setattr(ipa, 'cmd_host_add', original)
            values = ownership.subhost_values(project, 'default')
            original('vip.example.test', force=True, description=values[0],
                     userclass=values)
        return original(fqdn, **kw)
    monkeypatch.setattr(ipa, 'cmd_host_add', racing)


VIP = {'ipa_enroll': 'true', 'managed_service_x': 'HTTP/vip.example.test'}


def test_a_shared_vip_another_instance_of_the_project_made_meanwhile_is_linked(
        make_enroller, fake_ipa, monkeypatch):
    ipa = fake_ipa.ipa
    _vip_made_meanwhile(ipa, monkeypatch, PROJECT)
    answer = make_enroller().handle(request(metadata=VIP))
    assert answer['ipaotp'] == ipa.hosts['vm1.example.test']['_password']
    assert 'vm1.example.test' in ipa.hosts['vip.example.test']['managedby_host']
    assert 'vm1.example.test' in ipa.services[
        'HTTP/vip.example.test@EXAMPLE.TEST']['managedby_host']


def test_a_vip_another_project_made_meanwhile_undoes_the_enrollment(
        make_enroller, fake_ipa, monkeypatch):
    ipa = fake_ipa.ipa
    _vip_made_meanwhile(ipa, monkeypatch, 'project-b')
    with pytest.raises(errors.IPAUnavailable, match='meanwhile'):
        make_enroller().handle(request(metadata=VIP))
    assert set(ipa.hosts) == {'vip.example.test'}
    assert 'vm1.example.test' not in ipa.hosts['vip.example.test']['managedby_host']
    assert not ipa.services
    # the next fetch says whose it is
    with pytest.raises(join.Conflict, match='another project'):
        make_enroller().handle(request(metadata=VIP))


def test_a_failing_call_undoes_every_subhost_service_and_link(make_enroller,
                                                              fake_ipa):
    ipa = fake_ipa.ipa
    # the VIP host exists (this project's) and is managed by another host
    rules_meta = {'ipa_enroll': 'true', 'managed_service_x': 'HTTP/vip.example.test'}
    make_enroller().handle(request(metadata=rules_meta, hostname='first',
                                   **{'instance-id': OTHER}))
    vip_before = json.dumps(ipa.hosts['vip.example.test'], sort_keys=True)
    services_before = json.dumps(ipa.services, sort_keys=True)
    original = ipa.cmd_host_add_managedby

    def refuse(fqdn, host=(), **kw):
        if fqdn == 'vm1.storage.example.test':
            raise IPAFault(2100, 'ACIError', 'Insufficient access')
        return original(fqdn, host=host, **kw)
    ipa.cmd_host_add_managedby = refuse
    metadata = dict(rules_meta, compact_service_HTTP='["internalapi", "storage"]')
    with pytest.raises(errors.IPACommandError, match='Insufficient access'):
        make_enroller().handle(request(metadata=metadata))
    assert set(ipa.hosts) == {'first.example.test', 'vip.example.test'}
    assert json.dumps(ipa.hosts['vip.example.test'], sort_keys=True) == vip_before
    assert json.dumps(ipa.services, sort_keys=True) == services_before


# -- rotating the OTP secret ---------------------------------------------------

ROTATED = 'rotated-secret-that-is-long-enough-0123456789'


def test_after_rotation_an_unenrolled_host_keeps_its_otp_and_new_hosts_get_new(
        make_enroller, fake_ipa):
    from novajoin import otp
    from tests.unit.conftest import SECRET
    first = make_enroller().handle(request())
    assert records_key(fake_ipa, 'vm1.example.test') == otp.key_id(SECRET)
    rotated = make_enroller(otps=otp.OTPSource(ROTATED, previous=[SECRET]))
    assert rotated.handle(request())['ipaotp'] == first['ipaotp']
    other = rotated.handle(request(hostname='vm2', **{'instance-id': OTHER}))
    assert other['ipaotp'] == fake_ipa.ipa.hosts['vm2.example.test']['_password']
    assert other['ipaotp'] != otp.OTPSource(SECRET).otp('vm2.example.test', OTHER)
    assert records_key(fake_ipa, 'vm2.example.test') == otp.key_id(ROTATED)


def test_a_host_from_before_key_ids_gets_the_oldest_secrets_otp(make_enroller,
                                                                fake_ipa):
    from novajoin import otp
    from tests.unit.conftest import SECRET
    legacy = otp.OTPSource(SECRET).otp('vm1.example.test', INSTANCE)
    values = ownership.owner_values(INSTANCE, PROJECT, 'default')   # no key=
    fake_ipa.ipa.cmd_host_add('vm1.example.test', force=True, userpassword=legacy,
                              description=values[0], userclass=values)
    rotated = make_enroller(otps=otp.OTPSource(ROTATED, previous=[SECRET]))
    assert rotated.handle(request())['ipaotp'] == legacy


def test_a_host_whose_secret_was_dropped_is_an_error_naming_the_fix(make_enroller,
                                                                    fake_ipa):
    from novajoin import otp
    make_enroller().handle(request())
    with pytest.raises(otp.UnknownKey, match='previous_otp_secrets'):
        make_enroller(otps=otp.OTPSource(ROTATED)).handle(request())


def records_key(fake_ipa, fqdn):
    return ownership.otp_key_of(fake_ipa.ipa.hosts[fqdn])


# -- after a rebuild: the OTP of the reset (novajoin.hosts.rearm) ------------

REQ = 'req-0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6b'


def _reset(ipa_client, otps, started):
    """What novajoin-notify does on the instance's rebuild.end."""
    host = ipa_client.call('host_show', 'vm1.example.test', all=True)['result']
    return rearm.rearm(ipa_client, otps, host, INSTANCE,
                       rearm.Rebuild(REQ, started))


def test_after_a_rebuild_the_host_answers_the_new_otp(make_enroller, fake_ipa,
                                                      ipa_client):
    otps = otp_mod.OTPSource(SECRET)
    enroller = make_enroller(otps=otps, answer_ttl=0)
    created = enroller.handle(request())['ipaotp']
    # before the guest enrolls, every fetch answers the creation OTP
    assert created == otps.otp('vm1.example.test', INSTANCE)
    assert make_enroller().handle(request())['ipaotp'] == created
    fake_ipa.ipa.enroll('vm1.example.test', created, at=time.time() - 3600)
    assert 'ipaotp' not in enroller.handle(request())

    assert _reset(ipa_client, otps, time.time() - 60) == 'reset'
    answer = enroller.handle(request())
    new = otps.otp('vm1.example.test', INSTANCE, otps.key_id, generation=REQ)
    assert answer['ipaotp'] == new != created
    # every worker and replica answers the same; the host is not written
    fake_ipa.ipa.calls.clear()
    assert make_enroller().handle(request())['ipaotp'] == new
    assert [c for c in fake_ipa.ipa.calls if c not in ('env', 'host_add',
                                                       'host_show')] == []
    # the new guest enrolls with it; then no OTP again
    fake_ipa.ipa.enroll('vm1.example.test', new)
    assert 'ipaotp' not in enroller.handle(request())


def test_after_a_rebuild_and_a_rotation_the_otp_is_still_the_resets(
        make_enroller, fake_ipa, ipa_client):
    before = otp_mod.OTPSource(SECRET)
    created = make_enroller(otps=before).handle(request())['ipaotp']
    fake_ipa.ipa.enroll('vm1.example.test', created, at=time.time() - 3600)
    _reset(ipa_client, before, time.time() - 60)
    # the secret is rotated before the new guest fetches its join data
    rotated = otp_mod.OTPSource('n' * 40, previous=[SECRET])
    answer = make_enroller(otps=rotated).handle(request())
    assert answer['ipaotp'] == before.otp('vm1.example.test', INSTANCE,
                                          generation=REQ)


def test_a_host_half_way_through_a_rebuild_reset_is_a_503_not_a_refusal(
        make_enroller, fake_ipa):
    ipa = fake_ipa.ipa
    enroller = make_enroller(answer_ttl=0)
    enroller.handle(request(metadata={'ipa_enroll': 'true'}))
    fqdn = 'vm1.example.test'
    ipa.enroll(fqdn, ipa.hosts[fqdn]['_password'])
    ipa.cmd_host_mod(fqdn, addattr=['userclass=' + ownership.rebuild_record(
        'req-0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6b', enroller.otps.key_id)])
    ipa.cmd_host_disable(fqdn)          # the reset, before its password
    with pytest.raises(errors.IPAUnavailable):
        enroller.handle(request(metadata={'ipa_enroll': 'true'}))


@pytest.mark.parametrize('servers, names', [
    (['ipa.example.test:8443', 'ipa.example.test'], ['ipa.example.test']),
    (['ipa2.example.test:443', 'ipa.example.test:8443', 'ipa2.example.test'],
     ['ipa2.example.test', 'ipa.example.test']),
])
def test_guests_get_ipa_host_names_without_ports_or_duplicates(
        make_enroller, fake_ipa, servers, names):
    answer = make_enroller(servers=servers).handle(request())
    assert answer['ipa_server'] == names


def test_an_ipa_server_given_with_a_port_is_still_never_a_subhost(make_enroller, fake_ipa):
    enroller = make_enroller(servers=['ipa.example.test:8443'])
    with pytest.raises(join.Refused, match='is an IPA server'):
        enroller.handle(request(metadata={
            'ipa_enroll': 'true', 'managed_service_x': 'HTTP/ipa.example.test'}))
    assert not fake_ipa.ipa.hosts and not fake_ipa.ipa.services
