"""Adoption of novajoin 1.x hosts: owned when exactly one live server is
named so, everything else listed and left alone; dry run by default."""
import json
import time
import uuid

import pytest

from novajoin.hosts import records
from novajoin.hosts import store
from novajoin.notify import adopt
from tests.unit.conftest import PROJECT

LEGACY = records.LEGACY_1X_DESCRIPTION
VM = '0b6e7f1c-3a2d-4e5f-8a9b-1c2d3e4f5a6b'
OTHER = '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a'
PROJECT_B = 'project-b'


class StubServers:
    """nova's servers of every project, as Servers.details() gives them."""

    def __init__(self, *servers):
        self.servers = list(servers)

    def details(self):
        return [dict(s) for s in self.servers]


def server(instance, hostname, project=PROJECT, metadata=None, created=None):
    return {'id': instance, 'project': project, 'hostname': hostname,
            'metadata': metadata or {}, 'created': created}


def legacy_host(ipa, fqdn, otp='1x-random-otp', enrolled=False):
    """What novajoin 1.x's add_host left: its description, a random OTP."""
    ipa.cmd_host_add(fqdn, force=True, description=LEGACY, userpassword=otp)
    # IPA's time-based ipaUniqueID: the host was made now
    ipa.hosts[fqdn]['ipauniqueid'] = [str(uuid.uuid1())]
    if enrolled:
        ipa.hosts[fqdn]['_keytab'] = True
        ipa.hosts[fqdn]['_password'] = None


def legacy_subhost(ipa, fqdn, *managers):
    ipa.cmd_host_add(fqdn, force=True)          # 1.x gave subhosts no description
    ipa.cmd_host_add_managedby(fqdn, host=list(managers))


@pytest.fixture
def adopter(ipa_client, make_enroller):
    def make(*servers):
        return adopt.Adopter(ipa_client, StubServers(*servers), make_enroller())
    return make


def test_a_legacy_host_named_after_one_live_server_is_owned_and_armed(
        adopter, ipa, make_enroller):
    legacy_host(ipa, 'vm1.example.test')
    report = adopter(server(VM, 'vm1'), server(OTHER, 'vm2')).run(apply=True)
    host = ipa.hosts['vm1.example.test']
    assert records.owner_of(host) == (VM, PROJECT, 'default')
    # not enrolled yet: the OTP is now the one novajoin answers that instance
    assert host['_password'] == make_enroller().otps.otp('vm1.example.test', VM)
    assert [fqdn for fqdn, _ in report.adopted] == ['vm1.example.test']


def test_an_enrolled_legacy_host_keeps_its_keys_and_gets_no_password(adopter, ipa):
    legacy_host(ipa, 'vm1.example.test', enrolled=True)
    adopter(server(VM, 'vm1')).run(apply=True)
    host = ipa.hosts['vm1.example.test']
    assert records.owner_of(host) == (VM, PROJECT, 'default')
    assert host['_keytab'] and host['_password'] is None


def test_the_dry_run_is_the_default_and_changes_nothing(adopter, ipa):
    legacy_host(ipa, 'vm1.example.test')
    before = json.dumps(ipa.hosts, sort_keys=True)
    ipa.calls.clear()
    report = adopter(server(VM, 'vm1')).run()
    assert json.dumps(ipa.hosts, sort_keys=True) == before
    assert 'host_mod' not in ipa.calls
    assert report.lines() == ['adopt vm1.example.test: instance %s of project %s, '
                              'not enrolled yet: OTP set to the one novajoin '
                              'answers' % (VM, PROJECT)]


@pytest.mark.parametrize('servers, why', [
    ([], 'no live nova server'),
    ([server(VM, 'vm1'), server(OTHER, 'vm1', project=PROJECT_B)],
     '2 live nova servers'),
    ([server(VM, 'vm10')], 'no live nova server'),
    ([server(VM, None)], 'no live nova server'),
    ([server(VM, 'vm1\n')], 'no live nova server'),
], ids=['no server', 'two servers', 'another name', 'no hostname',
        'malformed hostname'])
def test_a_legacy_host_without_exactly_one_server_is_listed_and_untouched(
        adopter, ipa, servers, why):
    legacy_host(ipa, 'vm1.example.test')
    before = json.dumps(ipa.hosts, sort_keys=True)
    report = adopter(*servers).run(apply=True)
    assert json.dumps(ipa.hosts, sort_keys=True) == before
    assert not report.adopted
    assert [(fqdn, why in text) for fqdn, text in report.left] == [
        ('vm1.example.test', True)]


def test_a_host_made_before_its_server_existed_is_an_older_instances(
        adopter, ipa):
    # a tenant named a new server after a leftover 1.x host of a deleted one
    legacy_host(ipa, 'vm1.example.test')
    before = json.dumps(ipa.hosts, sort_keys=True)
    report = adopter(server(VM, 'vm1', created=time.time() + 3600)).run(apply=True)
    assert json.dumps(ipa.hosts, sort_keys=True) == before
    assert report.left == [('vm1.example.test', 'made before server %s existed: '
                            'the host of an older instance' % VM)]
    # within the clocks' skew, or made after the server: its host
    for created in (time.time() + 60, time.time() - 86400):
        assert adopter(server(VM, 'vm1', created=created)).run().adopted


def test_only_the_exact_1x_description_is_adopted(adopter, ipa):
    for fqdn, description in [
            ('admin.example.test', 'IPA host for OpenStack, made by hand'),
            ('mine.example.test', 'admin: IPA host for OpenStack'),
            ('owned.example.test', records.owner_record(OTHER, PROJECT,
                                                        'default'))]:
        ipa.cmd_host_add(fqdn, force=True, description=description)
    ipa.hosts['owned.example.test']['userclass'] = records.owner_values(
        OTHER, PROJECT, 'default')
    before = json.dumps(ipa.hosts, sort_keys=True)
    report = adopter(server(VM, 'admin'), server(VM, 'mine'),
                     server(OTHER, 'owned')).run(apply=True)
    assert json.dumps(ipa.hosts, sort_keys=True) == before
    assert not report.adopted and not report.left


SERVICES = {'compact_service_HTTP': '["internalapi"]',
            'managed_service_vip': 'HTTP/vip.example.test'}


def test_subhosts_the_metadata_asks_for_are_adopted_for_the_project(adopter, ipa):
    legacy_host(ipa, 'vm1.example.test', enrolled=True)
    legacy_host(ipa, 'vm2.example.test', enrolled=True)
    legacy_subhost(ipa, 'vm1.internalapi.example.test', 'vm1.example.test')
    legacy_subhost(ipa, 'vip.example.test', 'vm1.example.test', 'vm2.example.test')
    report = adopter(server(VM, 'vm1', metadata=SERVICES),
                     server(OTHER, 'vm2', metadata={
                         'managed_service_vip': 'HTTP/vip.example.test'})
                     ).run(apply=True)
    for sub in ('vm1.internalapi.example.test', 'vip.example.test'):
        assert records.subhost_owner(ipa.hosts[sub]) == (PROJECT, 'default')
    assert sorted(f for f, _ in report.adopted) == [
        'vip.example.test', 'vm1.example.test', 'vm1.internalapi.example.test',
        'vm2.example.test']


def test_a_subhost_shared_with_another_projects_host_is_left(adopter, ipa):
    legacy_host(ipa, 'vm1.example.test', enrolled=True)
    legacy_host(ipa, 'vm2.example.test', enrolled=True)
    legacy_subhost(ipa, 'vip.example.test', 'vm1.example.test', 'vm2.example.test')
    vip = {'managed_service_vip': 'HTTP/vip.example.test'}
    report = adopter(server(VM, 'vm1', metadata=vip),
                     server(OTHER, 'vm2', project=PROJECT_B, metadata=vip)
                     ).run(apply=True)
    assert not records.description(ipa.hosts['vip.example.test'])
    assert ('vip.example.test', 'also managed by vm2.example.test, not adopted '
            'for project %s' % PROJECT) in report.left


def test_a_subhost_not_managed_by_the_host_or_with_a_description_is_left(
        adopter, ipa):
    legacy_host(ipa, 'vm1.example.test', enrolled=True)
    ipa.cmd_host_add('vm1.internalapi.example.test', force=True)   # unlinked
    ipa.cmd_host_add('vip.example.test', force=True, description='the admin\'s')
    ipa.cmd_host_add_managedby('vip.example.test', host=['vm1.example.test'])
    adopter(server(VM, 'vm1', metadata=SERVICES)).run(apply=True)
    assert not records.description(ipa.hosts['vm1.internalapi.example.test'])
    assert records.description(ipa.hosts['vip.example.test']) == 'the admin\'s'


def test_an_adopted_host_is_then_removed_like_any_novajoin_host(
        adopter, ipa, host_ops):
    legacy_host(ipa, 'vm1.example.test', enrolled=True)
    legacy_subhost(ipa, 'vm1.internalapi.example.test', 'vm1.example.test')
    adopter(server(VM, 'vm1', metadata=SERVICES)).run(apply=True)
    assert [h['fqdn'][0] for h in host_ops.owned_by(VM)] == ['vm1.example.test']
    host_ops.remove('vm1.example.test')
    assert 'vm1.example.test' not in ipa.hosts
    assert 'vm1.internalapi.example.test' not in ipa.hosts


def test_the_otp_never_appears_in_a_described_call():
    line = store.describe(('host_mod', ['vm1.example.test'],
                           {'userpassword': 's3cret-otp', 'description': 'd'}))
    assert 's3cret-otp' not in line and 'userpassword=***' in line


# -- records novajoin 2.0 development builds kept in the description -------------------

def described_host(ipa, fqdn, record, enrolled=True, classes=()):
    """A host as novajoin 2.0 development builds made it: the record in the description
    only (a guest could have rewritten it)."""
    ipa.cmd_host_add(fqdn, force=True, description=record)
    if classes:
        ipa.hosts[fqdn]['userclass'] = list(classes)
    ipa.hosts[fqdn]['_keytab'] = enrolled


def test_a_description_record_nova_confirms_moves_to_userclass(adopter, ipa):
    key = '0123abcd'
    described_host(ipa, 'vm1.example.test',
                   records.owner_record(VM, PROJECT, 'default', key),
                   classes=['webserver'])
    report = adopter(server(VM, 'vm1')).run(apply=True)
    host = ipa.hosts['vm1.example.test']
    assert records.owner_of(host) == (VM, PROJECT, 'default')
    assert records.otp_key_of(host) == key     # its OTP stays derivable
    assert host['userclass'][0] == 'webserver'
    assert records.instance_index(VM, 'default') in host['userclass']
    assert [fqdn for fqdn, _ in report.adopted] == ['vm1.example.test']


def test_a_description_naming_another_instance_is_left(adopter, ipa):
    # vm2's guest rewrote its description to claim vm1's instance
    described_host(ipa, 'vm1.example.test',
                   records.owner_record(VM, PROJECT, 'default'))
    described_host(ipa, 'vm2.example.test',
                   records.owner_record(VM, PROJECT, 'default'))
    report = adopter(server(VM, 'vm1'), server(OTHER, 'vm2')).run(apply=True)
    assert records.owner_of(ipa.hosts['vm2.example.test']) is None
    assert records.owner_of(ipa.hosts['vm1.example.test']) == (VM, PROJECT,
                                                               'default')
    assert [fqdn for fqdn, _ in report.left] == ['vm2.example.test']


def test_a_description_naming_another_project_is_left(adopter, ipa):
    described_host(ipa, 'vm1.example.test',
                   records.owner_record(VM, PROJECT_B, 'default'))
    report = adopter(server(VM, 'vm1')).run(apply=True)
    assert records.owner_of(ipa.hosts['vm1.example.test']) is None
    assert 'nova says' in report.left[0][1]


def test_a_described_subhost_moves_only_when_its_managers_are_the_project(
        adopter, ipa):
    described_host(ipa, 'vm1.example.test',
                   records.owner_record(VM, PROJECT, 'default'))
    described_host(ipa, 'vm2.example.test',
                   records.owner_record(OTHER, PROJECT_B, 'default'))
    for name, managers in (('sub1.example.test', ['vm1.example.test']),
                           ('sub2.example.test', ['vm1.example.test',
                                                  'vm2.example.test'])):
        described_host(ipa, name, records.subhost_record(PROJECT, 'default'),
                       enrolled=False)
        ipa.cmd_host_add_managedby(name, host=managers)
    report = adopter(server(VM, 'vm1'),
                     server(OTHER, 'vm2', project=PROJECT_B)).run(apply=True)
    assert records.subhost_owner(ipa.hosts['sub1.example.test']) == (
        PROJECT, 'default')
    assert records.subhost_owner(ipa.hosts['sub2.example.test']) is None
    assert dict(report.left)['sub2.example.test'].endswith('vm2.example.test')


def test_moving_description_records_is_a_dry_run_by_default(adopter, ipa):
    described_host(ipa, 'vm1.example.test',
                   records.owner_record(VM, PROJECT, 'default'))
    before = json.dumps(ipa.hosts, sort_keys=True)
    report = adopter(server(VM, 'vm1')).run()
    assert json.dumps(ipa.hosts, sort_keys=True) == before
    assert [fqdn for fqdn, _ in report.adopted] == ['vm1.example.test']
