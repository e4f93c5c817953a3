"""Which existing subhosts a project's host may manage; the link calls."""
import pytest

from novajoin.hosts import records
from novajoin.hosts import subhosts
from novajoin.hosts.errors import Conflict

CLOUD = records.Cloud('cloud-a')
IID = '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'


def test_missing_lists_absent_names_and_accepts_own_project_subhosts(
        ipa_client, fake_ipa):
    values = records.subhost_values('p1', 'cloud-a')
    fake_ipa.ipa.cmd_host_add('sub.example.test', description=values[0],
                              userclass=values)
    # its description rewritten (a subhost's keys are on the project's
    # hosts): still the project's
    fake_ipa.ipa.cmd_host_add('vip.example.test', userclass=values,
                              description=records.subhost_record('p2', 'cloud-a'))
    assert subhosts.missing(ipa_client, CLOUD, 'p1', []) == []
    assert subhosts.missing(ipa_client, CLOUD, 'p1', [
        'sub.example.test', 'new.example.test', 'vip.example.test']) == [
        'new.example.test']


@pytest.mark.parametrize('userclass, description, why', [
    ([], 'mail server', 'was not made by novajoin'),
    # a record in the description alone: a claim anyone on the host may write
    ([], records.subhost_record('p1', 'cloud-a'),
     'was not made by novajoin as a service host'),
    (['web'], records.subhost_record('p1', 'cloud-a'),
     'was not made by novajoin as a service host'),
    (['novajoin: subhost'], 'novajoin: subhost', 'older novajoin'),
    (records.subhost_values('p2', 'cloud-a'), None, 'another project'),
    # the description claims this project; userclass says another
    (records.subhost_values('p2', 'cloud-a'),
     records.subhost_record('p1', 'cloud-a'), 'another project'),
    (records.subhost_values('p1', 'cloud-b'), None, 'another cloud'),
    (records.owner_values(IID, 'p1', 'cloud-a'), None,
     'was not made by novajoin as a service host'),
    # two different records: none
    ([records.subhost_record('p1', 'cloud-a'),
      records.subhost_record('p2', 'cloud-a')], None,
     'was not made by novajoin as a service host'),
], ids=['foreign', 'described only', 'described, hostclass', 'older novajoin',
        'another project', 'another project, description rewritten',
        'another cloud', 'an instance host', 'two records'])
def test_a_subhost_not_of_this_project_and_cloud_is_a_conflict(
        ipa_client, fake_ipa, userclass, description, why):
    # the description repeats the record, as novajoin writes it, unless given
    attrs = {'userclass': userclass} if userclass else {}
    description = description or (userclass[0] if userclass else None)
    if description:
        attrs['description'] = description
    fake_ipa.ipa.cmd_host_add('taken.example.test', **attrs)
    with pytest.raises(Conflict, match=why):
        subhosts.missing(ipa_client, CLOUD, 'p1',
                         ['new.example.test', 'taken.example.test'])


def test_link_calls_record_the_project_and_never_link_the_host_to_itself():
    values = records.subhost_values('p1', 'cloud-a')
    calls = subhosts.link_calls('vm.example.test', ['s.example.test'],
                                ['HTTP/s.example.test', 'nfs/vm.example.test'],
                                ['s.example.test', 'vm.example.test'], values)
    assert calls == [
        ('host_add', ['s.example.test'], {
            'force': True, 'description': records.subhost_record('p1', 'cloud-a'),
            'userclass': [records.subhost_record('p1', 'cloud-a'),
                          records.cloud_index('cloud-a')]}),
        ('service_add', ['HTTP/s.example.test'], {'force': True}),
        ('service_add', ['nfs/vm.example.test'], {'force': True}),
        ('service_add_host', ['HTTP/s.example.test'], {'host': ['vm.example.test']}),
        ('host_add_managedby', ['s.example.test'], {'host': ['vm.example.test']})]
