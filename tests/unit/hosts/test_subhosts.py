"""Which existing subhosts a project's host may manage; the link calls."""
import pytest

from novajoin.hosts import records
from novajoin.hosts import subhosts
from novajoin.hosts.errors import Conflict

CLOUD = records.Cloud('cloud-a')


def test_missing_lists_absent_names_and_accepts_own_project_subhosts(
        ipa_client, fake_ipa):
    fake_ipa.ipa.cmd_host_add('sub.example.test',
                              description=records.subhost_record('p1', 'cloud-a'))
    assert subhosts.missing(ipa_client, CLOUD, 'p1', []) == []
    assert subhosts.missing(ipa_client, CLOUD, 'p1', [
        'sub.example.test', 'new.example.test']) == ['new.example.test']


@pytest.mark.parametrize('description, why', [
    ('mail server', 'was not made by novajoin'),
    ('novajoin: subhost', 'older novajoin'),
    (records.subhost_record('p2', 'cloud-a'), 'another project'),
    (records.subhost_record('p1', 'cloud-b'), 'another cloud'),
    (records.owner_record('8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90', 'p1',
                          'cloud-a'), 'was not made by novajoin as a service host'),
])
def test_a_subhost_not_of_this_project_and_cloud_is_a_conflict(
        ipa_client, fake_ipa, description, why):
    fake_ipa.ipa.cmd_host_add('taken.example.test', description=description)
    with pytest.raises(Conflict, match=why):
        subhosts.missing(ipa_client, CLOUD, 'p1',
                         ['new.example.test', 'taken.example.test'])


def test_link_calls_record_the_project_and_never_link_the_host_to_itself():
    record = records.subhost_record('p1', 'cloud-a')
    calls = subhosts.link_calls('vm.example.test', ['s.example.test'],
                                ['HTTP/s.example.test', 'nfs/vm.example.test'],
                                ['s.example.test', 'vm.example.test'], record)
    assert calls == [
        ('host_add', ['s.example.test'], {'force': True, 'description': record}),
        ('service_add', ['HTTP/s.example.test'], {'force': True}),
        ('service_add', ['nfs/vm.example.test'], {'force': True}),
        ('service_add_host', ['HTTP/s.example.test'], {'host': ['vm.example.test']}),
        ('host_add_managedby', ['s.example.test'], {'host': ['vm.example.test']})]
