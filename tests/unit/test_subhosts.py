import pytest

from novajoin import ownership
from novajoin import subhosts


def test_missing_and_foreign(ipa_client, fake_ipa):
    fake_ipa.ipa.cmd_host_add('sub.example.test', description=ownership.SUBHOST)
    fake_ipa.ipa.cmd_host_add('mail.example.test', description='mail server')
    assert subhosts.missing(ipa_client, []) == []
    assert subhosts.missing(ipa_client, ['sub.example.test', 'new.example.test']) == [
        'new.example.test']
    with pytest.raises(subhosts.ForeignHost, match='mail.example.test'):
        subhosts.missing(ipa_client, ['new.example.test', 'mail.example.test'])


def test_link_calls_never_link_the_host_to_itself():
    calls = subhosts.link_calls('vm.example.test', ['s.example.test'],
                                ['HTTP/s.example.test', 'nfs/vm.example.test'],
                                ['s.example.test', 'vm.example.test'])
    assert calls == [
        ('host_add', ['s.example.test'], {'force': True, 'description': ownership.SUBHOST}),
        ('service_add', ['HTTP/s.example.test'], {'force': True}),
        ('service_add', ['nfs/vm.example.test'], {'force': True}),
        ('service_add_host', ['HTTP/s.example.test'], {'host': ['vm.example.test']}),
        ('host_add_managedby', ['s.example.test'], {'host': ['vm.example.test']})]
