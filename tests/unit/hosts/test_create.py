"""Atomic batches: all calls succeed, or what the successful ones made is undone."""
import pytest

from novajoin.dev.fake_ipa import IPAFault
from novajoin.hosts import create
from novajoin.hosts import records
from novajoin.ipa import errors

RECORD = records.subhost_record('p1', 'default')


def calls_for(fqdn='vm.example.test'):
    return [('host_add', [fqdn], {'force': True, 'description': 'x'}),
            ('host_add', ['sub.example.test'], {'force': True, 'description': RECORD}),
            ('service_add', ['HTTP/sub.example.test'], {'force': True}),
            ('service_add_host', ['HTTP/sub.example.test'], {'host': [fqdn]}),
            ('host_add_managedby', ['sub.example.test'], {'host': [fqdn]})]


def test_all_calls_succeed_and_nothing_is_undone(ipa_client, fake_ipa):
    create.run_atomically(ipa_client, calls_for())
    assert set(fake_ipa.ipa.hosts) == {'vm.example.test', 'sub.example.test'}
    assert 'vm.example.test' in fake_ipa.ipa.hosts['sub.example.test']['managedby_host']


def test_a_refused_call_undoes_hosts_services_and_links(ipa_client, fake_ipa):
    fake_ipa.ipa.cmd_host_add_managedby = lambda *a, **k: (_ for _ in ()).throw(
        IPAFault(2100, 'ACIError', 'Insufficient access'))
    with pytest.raises(create.BatchFailed, match='Insufficient access'):
        create.run_atomically(ipa_client, calls_for())
    assert not fake_ipa.ipa.hosts and not fake_ipa.ipa.services


def test_a_refusal_reported_in_failed_members_counts_as_a_failure(ipa_client,
                                                                  fake_ipa):
    ipa = fake_ipa.ipa
    original = ipa.cmd_service_add_host

    def refuse(principal, host=(), **kw):
        result = original(principal, host=host, **kw)
        result['failed'] = {'managedby': {'host': [[host[0], 'no such entry']]}}
        return result
    ipa.cmd_service_add_host = refuse
    with pytest.raises(create.BatchFailed, match='no such entry'):
        create.run_atomically(ipa_client, calls_for())
    assert not ipa.hosts and not ipa.services


def test_what_existed_before_is_never_undone(ipa_client, fake_ipa):
    ipa = fake_ipa.ipa
    ipa.cmd_host_add('sub.example.test', force=True, description=RECORD)
    ipa.cmd_service_add('HTTP/sub.example.test')
    ipa.cmd_host_add('vm.example.test', force=True, description='x')
    with pytest.raises(create.BatchFailed) as caught:
        create.run_atomically(ipa_client, calls_for())
    assert caught.value.duplicate == ['vm.example.test', 'sub.example.test']
    assert set(ipa.hosts) == {'vm.example.test', 'sub.example.test'}
    assert 'HTTP/sub.example.test@EXAMPLE.TEST' in ipa.services
    # the links this batch added to entries that existed are taken back
    assert 'vm.example.test' not in ipa.hosts['sub.example.test'].get(
        'managedby_host', [])
    assert 'vm.example.test' not in ipa.services[
        'HTTP/sub.example.test@EXAMPLE.TEST']['managedby_host']


def _made_by_another_request(ipa):
    ipa.cmd_host_add('vm.example.test', force=True, description='x')
    # the subhost appears between the caller's read and its batch
    ipa.cmd_host_add('sub.example.test', force=True, description=RECORD)


def test_a_subhost_another_request_made_for_the_same_owner_is_kept_linked(
        ipa_client, fake_ipa):
    ipa = fake_ipa.ipa
    _made_by_another_request(ipa)
    ipa.calls.clear()
    asked = []
    calls = calls_for()[1:]     # the host exists; its subhost is being added
    create.run_atomically(ipa_client, calls,
                          ours=lambda names: asked.append(names) or True)
    assert asked == [['sub.example.test']]
    # nothing taken back: the other request counts on these links
    assert not {'host_remove_managedby', 'service_remove_host', 'service_del',
                'host_del'} & set(ipa.calls)
    assert 'vm.example.test' in ipa.hosts['sub.example.test']['managedby_host']


@pytest.mark.parametrize('answer', [
    lambda names: False,
    lambda names: (_ for _ in ()).throw(errors.IPAUnavailable('down'))],
    ids=['a stranger', 'owner unreadable'])
def test_a_subhost_made_meanwhile_that_is_not_ours_is_undone(ipa_client, fake_ipa,
                                                             answer):
    ipa = fake_ipa.ipa
    _made_by_another_request(ipa)
    with pytest.raises(create.BatchFailed) as caught:
        create.run_atomically(ipa_client, calls_for()[1:], ours=answer)
    assert caught.value.duplicate == ['sub.example.test']
    assert 'vm.example.test' not in ipa.hosts['sub.example.test'].get(
        'managedby_host', [])
    assert 'HTTP/sub.example.test@EXAMPLE.TEST' not in ipa.services


def test_ours_is_not_asked_when_something_else_failed(ipa_client, fake_ipa):
    ipa = fake_ipa.ipa
    _made_by_another_request(ipa)
    ipa.cmd_service_add = lambda *a, **k: (_ for _ in ()).throw(
        IPAFault(2100, 'ACIError', 'Insufficient access'))
    with pytest.raises(create.BatchFailed) as caught:
        create.run_atomically(ipa_client, calls_for()[1:],
                              ours=lambda names: pytest.fail('asked'))
    assert any('Insufficient access' in p for p in caught.value.problems)
    assert 'vm.example.test' not in ipa.hosts['sub.example.test'].get(
        'managedby_host', [])


def test_a_transient_failure_is_raised_as_such_after_the_undo(ipa_client, fake_ipa):
    fake_ipa.ipa.cmd_service_add = lambda *a, **k: (_ for _ in ()).throw(
        IPAFault(903, 'InternalError', 'resolver timeout'))
    with pytest.raises(errors.InternalError):
        create.run_atomically(ipa_client, calls_for())
    assert not fake_ipa.ipa.hosts


def test_undo_unlinks_before_it_deletes():
    calls = calls_for()
    results = [{'result': {}}] * len(calls)
    undo = create.undo_calls(calls, results)
    assert [c[0] for c in undo] == ['service_remove_host', 'host_remove_managedby',
                                    'service_del', 'host_del', 'host_del']
