"""Finding and removing hosts; creation time; dry runs."""
import logging
import uuid

import pytest

from novajoin.dev.fake_ipa import IPAFault
from novajoin.hosts import records as ownership
from novajoin.hosts import services
from novajoin.hosts.errors import Conflict
from novajoin.hosts import store as hosts
from novajoin.ipa import errors
from tests.unit.notify import payloads

VM = payloads.NOVA_INSTANCE
OTHER = '11111111-2222-4333-8444-555555555555'


def add(ipa_client, fqdn, values=(), description=None):
    """host_add as novajoin makes a host: its userclass ``values`` (the
    record first), the record repeated in the description."""
    options = {'force': True}
    if values:
        options['userclass'] = list(values)
        options['description'] = values[0]
    if description is not None:
        options['description'] = description
    ipa_client.call('host_add', fqdn, **options)


def names(entries):
    return sorted(h['fqdn'][0] for h in entries)


def test_owned_by_needs_the_exact_owner_record(host_ops, ipa_client):
    add(ipa_client, 'a.example.test', ownership.owner_values(VM, 'p', 'default'))
    add(ipa_client, 'b.example.test', ['web'],
        description='not novajoin, mentions %s' % VM)
    # the index without a record: no owner
    add(ipa_client, 'c.example.test', [ownership.instance_index(VM, 'default'),
                                       ownership.cloud_index('default')])
    assert names(host_ops.owned_by(VM)) == ['a.example.test']
    assert host_ops.owned_by('') == []
    assert names(host_ops.owned_by(VM.upper())) == ['a.example.test']


def test_owned_by_believes_userclass_not_a_rewritten_description(
        host_ops, ipa_client, ipa):
    # An enrolled host may rewrite its own description (IPA's default ACI):
    # claiming another project there changes nothing.
    add(ipa_client, 'vm1.example.test', ownership.owner_values(VM, 'p', 'default'))
    ipa_client.call('host_mod', 'vm1.example.test',
                    description=ownership.owner_record(VM, 'attacker',
                                                       'default'))
    found = host_ops.owned_by(VM)
    assert names(found) == ['vm1.example.test']
    assert host_ops.cloud.owner(found[0]) == (VM, 'p', 'default')
    # one search: the id, narrowed by the exact userclass key
    ipa.calls.clear()
    assert host_ops.owned_by(VM)
    assert ipa.calls == ['host_find']


def test_a_guest_that_hides_its_host_from_owned_by_hides_only_its_own(
        host_ops, ipa_client):
    # a description naming another instance: the host is found for neither
    # (the reconciler, listing by the cloud's key, still sees it)
    add(ipa_client, 'vm1.example.test', ownership.owner_values(VM, 'p', 'default'))
    add(ipa_client, 'vm2.example.test',
        ownership.owner_values(OTHER, 'p2', 'default'))
    ipa_client.call('host_mod', 'vm1.example.test',
                    description=ownership.owner_record(OTHER, 'p2', 'default'))
    assert host_ops.owned_by(VM) == []
    assert names(host_ops.owned_by(OTHER)) == ['vm2.example.test']
    assert 'vm1.example.test' in names(host_ops.novajoin_hosts())


def test_owned_by_never_finds_a_host_whose_description_alone_names_it(
        host_ops, ipa_client):
    # forged by a guest, or written by novajoin 2.0 development builds (not adopted yet)
    add(ipa_client, 'forged.example.test',
        description=ownership.owner_record(VM, 'p', 'default'))
    # another instance's host, its description rewritten to claim VM
    add(ipa_client, 'other.example.test',
        ownership.owner_values(OTHER, 'attacker', 'default'),
        description=ownership.owner_record(VM, 'p', 'default'))
    add(ipa_client, 'sub.example.test',
        description=ownership.subhost_record('p', 'default'))
    assert host_ops.owned_by(VM) == []
    assert names(host_ops.novajoin_hosts()) == ['other.example.test']


def test_novajoin_hosts_lists_only_hosts_with_this_clouds_index(host_ops,
                                                                ipa_client):
    add(ipa_client, 'mine.example.test',
        ['web'] + ownership.owner_values(VM, 'p', 'default'))
    add(ipa_client, 'my-sub.example.test', ownership.subhost_values('p', 'default'))
    add(ipa_client, 'theirs.example.test',
        ownership.owner_values(OTHER, 'p', 'other-cloud'))
    add(ipa_client, 'their-sub.example.test',
        ownership.subhost_values('p', 'other-cloud'))
    add(ipa_client, 'admins.example.test', ['web'], description='mail server')
    add(ipa_client, 'described.example.test',
        description=ownership.owner_record(OTHER, 'p', 'default'))
    # this cloud's index, no record: not novajoin's
    add(ipa_client, 'index-only.example.test', [ownership.cloud_index('default')])
    assert names(host_ops.novajoin_hosts()) == ['mine.example.test',
                                                'my-sub.example.test']


def test_an_id_that_is_not_a_uuid_owns_nothing_and_never_reaches_ipa(
        host_ops, ipa):
    # a port's device_id is whatever its tenant wrote
    ipa.calls.clear()
    for claim in ('*', VM + '*', ' ' + VM, VM + '\n', 'x' * 5000, None, 7):
        assert host_ops.owned_by(claim) == []
    assert ipa.calls == []


def test_dry_run_changes_nothing(host_ops, enroll, ipa):
    enroll(VM, 'vm1', {'compact_service_HTTP': '["internalapi"]'})
    before = (dict(ipa.hosts), dict(ipa.services))
    calls = host_ops.remove('vm1.example.test', dry_run=True)
    assert (dict(ipa.hosts), dict(ipa.services)) == before
    assert [hosts.describe(c) for c in calls] == [
        'service_del HTTP/vm1.internalapi.example.test',
        'host_del vm1.internalapi.example.test updatedns=True',
        'host_del vm1.example.test updatedns=True']


def test_remove_is_idempotent(host_ops, enroll, ipa):
    enroll(VM, 'vm1', {'compact_service_HTTP': '["internalapi"]'})
    host_ops.remove('vm1.example.test')
    host_ops.remove('vm1.example.test')   # a redelivered message
    assert ipa.hosts == {}


def test_foreign_managed_hosts_are_only_unlinked(host_ops, enroll, ipa, ipa_client):
    enroll(VM, 'vm1')
    ipa_client.call('host_add', 'db.example.test', force=True)
    ipa_client.call('host_add_managedby', 'db.example.test', host=['vm1.example.test'])
    host_ops.remove('vm1.example.test')
    assert list(ipa.hosts) == ['db.example.test']
    assert ipa.hosts['db.example.test']['managedby_host'] == ['db.example.test']


def test_created_at_from_the_time_based_unique_id():
    u = uuid.uuid1()
    born = hosts.created_at({'ipauniqueid': [str(u)]})
    assert abs(born - (u.time - 0x01b21dd213814000) / 1e7) < 1e-6
    assert hosts.created_at({'ipauniqueid': [str(uuid.uuid4())]}) is None
    assert hosts.created_at({}) is None


def test_a_host_managing_nothing_else_needs_no_look_up(host_ops, ipa_client, ipa):
    add(ipa_client, 'solo.example.test', ownership.owner_values(VM, 'p', 'default'))
    ipa.calls.clear()
    entry = {'fqdn': ['solo.example.test'], 'managing_host': ['solo.example.test']}
    host_ops.remove('solo.example.test', entry=entry)
    assert ipa.calls == ['batch', 'host_del'] and ipa.hosts == {}
    # without managing_host (unknown), the look-up is made
    ipa_client.call('host_add', 'solo.example.test', force=True)
    ipa.calls.clear()
    host_ops.remove('solo.example.test', entry={'fqdn': ['solo.example.test']})
    assert ipa.calls[:3] == ['batch', 'service_find', 'host_find']


def test_another_clouds_hosts_are_never_found(host_ops, ipa_client):
    add(ipa_client, 'mine.example.test', ownership.owner_values(VM, 'p', 'default'))
    add(ipa_client, 'theirs.example.test',
        ownership.owner_values(VM, 'p', 'other-cloud'))
    add(ipa_client, 'their-sub.example.test',
        ownership.subhost_values('p', 'other-cloud'))
    assert names(host_ops.owned_by(VM)) == ['mine.example.test']
    assert names(host_ops.novajoin_hosts()) == ['mine.example.test']


def test_another_clouds_subhost_is_only_unlinked(host_ops, ipa_client, ipa):
    add(ipa_client, 'vm1.example.test', ownership.owner_values(VM, 'p', 'default'))
    add(ipa_client, 'sub.example.test', ownership.subhost_values('p', 'other-cloud'))
    ipa_client.call('host_add_managedby', 'sub.example.test',
                    host=['vm1.example.test'])
    host_ops.remove('vm1.example.test')
    assert 'sub.example.test' in ipa.hosts and 'vm1.example.test' not in ipa.hosts


SUB = 'vm1.storage.example.test'
MYSQL = services.requested_services({'compact_service_mysql': '["storage"]'},
                                    'vm1', 'example.test')


def _made_just_before_the_batch(ipa_client, values):
    """Another worker adds SUB with userclass ``values`` just before sync's
    batch."""
    real_batch = ipa_client.batch

    def racing_batch(calls, deadline=None):
        if ('host_add', [SUB]) in [(c[0], c[1]) for c in calls]:
            ipa_client.batch = real_batch
            real_batch([('host_add', [SUB], {'force': True,
                                             'description': values[0],
                                             'userclass': list(values)})])
        return real_batch(calls, deadline=deadline)
    ipa_client.batch = racing_batch


def test_sync_finishes_when_another_worker_makes_the_same_subhost(
        host_ops, enroll, ipa, ipa_client):
    # nova sends each update twice (legacy and versioned): two workers sync
    # one host at once. The other one creates the subhost just before this
    # batch: this batch's host_add fails, but the subhost is the project's,
    # so the links stay and the job is done.
    fqdn = enroll(VM, 'vm1')
    _made_just_before_the_batch(
        ipa_client, host_ops.cloud.subhost_values(payloads.NOVA_PROJECT))
    ipa.calls.clear()
    host_ops.sync(fqdn, payloads.NOVA_PROJECT, MYSQL)
    assert fqdn in ipa.hosts[SUB]['managedby_host']
    assert 'mysql/%s@EXAMPLE.TEST' % SUB in ipa.services
    # and at no moment did the link go away (the other worker, done already,
    # would have left the host without it until this one linked it again)
    assert not {'host_remove_managedby', 'service_remove_host',
                'service_del'} & set(ipa.calls)


def test_sync_never_links_a_subhost_another_project_made_meanwhile(
        host_ops, enroll, ipa, ipa_client):
    fqdn = enroll(VM, 'vm1')
    _made_just_before_the_batch(ipa_client,
                                host_ops.cloud.subhost_values('other-project'))
    with pytest.raises(Conflict, match='another project'):
        host_ops.sync(fqdn, payloads.NOVA_PROJECT, MYSQL)
    assert fqdn not in ipa.hosts[SUB].get('managedby_host', [])
    assert 'mysql/%s@EXAMPLE.TEST' % SUB not in ipa.services


def test_has_keys_reads_show_and_find_entries_alike():
    # host_show says has_keytab; host_find (all) only lists krblastpwdchange
    assert hosts.has_keys({'has_keytab': True})
    assert not hosts.has_keys({'has_keytab': False,
                               'krblastpwdchange': [{'__datetime__': 'x'}]})
    assert hosts.has_keys({'krblastpwdchange': [{'__datetime__': '20261204081532Z'}]})
    assert not hosts.has_keys({'fqdn': ['vm1.example.test']})


class StandInDirectory:
    """novajoin.ipa.directory.Directory's part Hosts uses: ``hosts(userclass)``
    yields the given entries (host_find's shape) and records what was asked;
    ``managers()`` names the hosts that manage others; ``naming(text,
    userclass)`` gives the entries carrying that userclass whose description
    contains the text, or raises ``failure``."""

    def __init__(self, entries, managers=(), failure=None):
        self.entries = entries
        self.asked = []
        self._managers = set(managers)
        self.failure = failure

    def naming(self, text, userclass):
        self.asked.append(('naming', text, userclass))
        if self.failure is not None:
            raise self.failure
        return [dict(e) for e in self.entries
                if userclass in e.get('userclass', ())
                and text in e.get('description', [''])[0]]

    def hosts(self, userclass):
        self.asked.append(userclass)
        yield from self.entries

    def managers(self):
        self.asked.append('managers')
        return set(self._managers)


def entry(fqdn, values=(), description=None):
    found = {'fqdn': [fqdn]}
    if values:
        found['userclass'] = list(values)
        found['description'] = [values[0]]
    if description is not None:
        found['description'] = [description]
    return found


def test_novajoin_hosts_come_from_the_directory_when_there_is_one(
        ipa_client, zones, ipa):
    cloud = ownership.Cloud('default')
    listed = StandInDirectory([
        entry('mine.example.test', ['web'] + cloud.owner_values(VM, 'p')),
        entry('my-sub.example.test', cloud.subhost_values('p')),
        entry('theirs.example.test',
              ownership.owner_values(OTHER, 'p', 'other-cloud')),
        entry('their-sub.example.test',
              ownership.subhost_values('p', 'other-cloud')),
        entry('admins.example.test', ['web'], description='mail server'),
        entry('described.example.test',
              description=ownership.owner_record(OTHER, 'p', 'default')),
        entry('index-only.example.test', [cloud.index()]),
    ])
    # in IPA, but not listed by the directory: not looked for over JSON-RPC
    add(ipa_client, 'json-only.example.test', cloud.owner_values(OTHER, 'p'))
    host_ops = hosts.Hosts(ipa_client, zones, cloud, directory=listed)
    ipa.calls.clear()
    found = host_ops.novajoin_hosts()
    assert names(found) == ['mine.example.test', 'my-sub.example.test']
    assert listed.asked == ['managers', cloud.index()]
    assert cloud.index() == 'novajoin: cloud=default'
    assert ipa.calls == []


def test_listed_hosts_that_manage_no_other_are_removed_without_a_look_up(
        ipa_client, zones, ipa):
    """The directory says which hosts manage another one: the others are
    removed with no question to IPA about what they manage; a manager's
    subhost is still released with it."""
    cloud = ownership.Cloud('default')
    add(ipa_client, 'lone.example.test', cloud.owner_values(VM, 'p'))
    add(ipa_client, 'boss.example.test', cloud.owner_values(OTHER, 'p'))
    add(ipa_client, 'sub.boss.example.test', cloud.subhost_values('p'))
    ipa_client.call('host_add_managedby', 'sub.boss.example.test',
                    host=['boss.example.test'])
    listed = StandInDirectory(
        [dict(ipa.hosts[n]) for n in ('lone.example.test', 'boss.example.test')],
        managers={'boss.example.test'})
    host_ops = hosts.Hosts(ipa_client, zones, cloud, directory=listed)
    lone, boss = host_ops.novajoin_hosts()
    assert lone['managing_host'] == [] and 'managing_host' not in boss
    ipa.calls.clear()
    host_ops.remove('lone.example.test', entry=lone)
    assert 'service_find' not in ipa.calls and 'host_find' not in ipa.calls
    host_ops.remove('boss.example.test', entry=boss)
    assert 'service_find' in ipa.calls
    assert sorted(ipa.hosts) == []                 # the subhost went with it


# -- owned_by(for_removal=True): the delete handler's look-up over LDAP ---------

def test_a_removal_look_up_reads_the_directory_and_asks_ipa_nothing(
        ipa_client, zones, ipa):
    cloud = ownership.Cloud('default')
    listed = StandInDirectory([
        dict(entry('vm1.example.test', cloud.owner_values(VM, 'p')),
             managing_host=[])])
    host_ops = hosts.Hosts(ipa_client, zones, cloud, directory=listed)
    ipa.calls.clear()
    (found,) = host_ops.owned_by(VM, for_removal=True)
    assert found['fqdn'] == ['vm1.example.test']
    assert listed.asked == [('naming', VM, cloud.instance_index(VM))]
    assert ipa.calls == []
    # other look-ups (updates, rebuilds) want host_find's whole entry
    host_ops.owned_by(VM)
    assert ipa.calls == ['host_find']


def test_a_removal_look_up_believes_only_an_exact_owner_record_from_ldap(
        ipa_client, zones):
    cloud = ownership.Cloud('default')
    # the instance's index, but the record of another instance, or the
    # index with the right record only in the (guest-writable) description
    listed = StandInDirectory([
        entry('other.example.test',
              [cloud.owner_record(OTHER, 'p'), cloud.instance_index(VM),
               cloud.index()], description=cloud.owner_record(VM, 'p')),
        entry('bare.example.test', [cloud.instance_index(VM), cloud.index()],
              description=cloud.owner_record(VM, 'p')),
        entry('vm1.example.test', cloud.owner_values(VM, 'p')),
    ])
    host_ops = hosts.Hosts(ipa_client, zones, cloud, directory=listed)
    assert names(host_ops.owned_by(VM, for_removal=True)) == ['vm1.example.test']


def test_a_removal_look_up_uses_json_rpc_when_ldap_fails_and_says_so_once(
        ipa_client, zones, ipa, caplog):
    cloud = ownership.Cloud('default')
    add(ipa_client, 'vm1.example.test', cloud.owner_values(VM, 'p'))
    listed = StandInDirectory([], failure=errors.IPAUnavailable('LDAP down'))
    host_ops = hosts.Hosts(ipa_client, zones, cloud, directory=listed)
    ipa.calls.clear()
    with caplog.at_level(logging.WARNING, logger='novajoin.hosts.store'):
        for _ in range(3):
            assert names(host_ops.owned_by(VM, for_removal=True)) == [
                'vm1.example.test']
    assert ipa.calls == ['host_find'] * 3
    warned = [r.getMessage() for r in caplog.records
              if 'using JSON-RPC instead' in r.getMessage()]
    assert len(warned) == 1 and 'LDAP down' in warned[0]


def test_a_host_found_in_ldap_managing_none_is_removed_with_one_call(
        ipa_client, zones, ipa):
    cloud = ownership.Cloud('default')
    add(ipa_client, 'vm1.example.test', cloud.owner_values(VM, 'p'))
    listed = StandInDirectory([dict(ipa.hosts['vm1.example.test'],
                                    managing_host=[])])
    host_ops = hosts.Hosts(ipa_client, zones, cloud, directory=listed)
    (found,) = host_ops.owned_by(VM, for_removal=True)
    ipa.calls.clear()
    host_ops.remove('vm1.example.test', entry=found)
    assert ipa.calls == ['batch', 'host_del']     # no look-up of what it manages
    assert 'vm1.example.test' not in ipa.hosts


# -- remove() when another handler deletes the same host -----------------------
# nova sends each delete in two formats; replicas share them: two handlers may
# remove one host at once. Only the one whose host_del removed it reports it.

FQDN = 'vm1.example.test'
HOST_DEL = ('host_del', [FQDN], {'updatedns': True})


def _host_del_answers(ipa, monkeypatch, fault, delete_first=False,
                      only_updatedns=False):
    """The fake IPA's host_del answers ``fault``; ``delete_first``: the host
    is gone by then (another request deleted it). ``only_updatedns``: only
    the host_del with updatedns does; one without runs as usual."""
    real = ipa.cmd_host_del

    def host_del(*fqdns, updatedns=False, **options):
        if only_updatedns and not updatedns:
            return real(*fqdns, updatedns=updatedns, **options)
        if delete_first:
            keys = fqdns[0] if isinstance(fqdns[0], list) else fqdns
            for fqdn in keys:
                ipa.hosts.pop(fqdn.lower(), None)
        raise fault
    monkeypatch.setattr(ipa, 'cmd_host_del', host_del)


def test_remove_of_an_existing_host_reports_its_host_del(host_ops, enroll, ipa):
    enroll(VM, 'vm1')
    calls = host_ops.remove('VM1.Example.Test')
    assert HOST_DEL in calls
    assert hosts.deleted(calls, FQDN)
    assert FQDN not in ipa.hosts


def test_remove_of_a_host_another_handler_deleted_reports_no_host_del(
        host_ops, enroll, ipa, ipa_client):
    enroll(VM, 'vm1')
    # read before the other handler's delete, removed after it
    entry = host_ops.owned_by(VM)[0]
    ipa_client.call('host_del', FQDN, updatedns=True)
    ipa.calls.clear()
    calls = host_ops.remove(FQDN, entry=entry)
    assert 'host_del' in ipa.calls            # it was asked, and said NotFound
    assert HOST_DEL not in calls
    assert not hosts.deleted(calls, FQDN)


def test_remove_whose_host_del_answer_was_lost_reports_its_host_del(
        host_ops, enroll, ipa, lose_first_answer):
    """IPA ran the host_del, its answer was lost (a proxy's 502), and the
    retry found the host gone: the removal is this one's, and is reported
    (so the delete handler audits it)."""
    enroll(VM, 'vm1')
    lost = lose_first_answer('host_del', 'bad-gateway')
    calls = host_ops.remove(FQDN)
    assert lost and FQDN not in ipa.hosts
    assert HOST_DEL in calls and hosts.deleted(calls, FQDN)


def test_remove_of_a_host_being_deleted_by_another_request_is_quietly_done(
        host_ops, enroll, ipa, monkeypatch, caplog):
    enroll(VM, 'vm1')
    _host_del_answers(ipa, monkeypatch, IPAFault(2100, 'ACIError',
                                                 'Insufficient access'),
                      delete_first=True)
    ipa.calls.clear()
    with caplog.at_level(logging.INFO, logger='novajoin.hosts.store'):
        calls = host_ops.remove(FQDN)
    assert HOST_DEL not in calls and not hosts.deleted(calls, FQDN)
    assert ipa.calls[-2:] == ['host_del', 'host_show']
    said = [r for r in caplog.records if r.name == 'novajoin.hosts.store'
            and r.levelno == logging.INFO]
    assert any('IPA host %s was being removed by another request' % FQDN
               in r.getMessage() for r in said)


def test_remove_raises_an_aci_refusal_for_a_host_that_is_still_there(
        host_ops, enroll, ipa, monkeypatch, caplog):
    enroll(VM, 'vm1')
    _host_del_answers(ipa, monkeypatch, IPAFault(2100, 'ACIError',
                                                 'Insufficient access'))
    with caplog.at_level(logging.INFO, logger='novajoin.hosts.store'), \
            pytest.raises(errors.ACIError):
        host_ops.remove(FQDN)
    assert FQDN in ipa.hosts
    assert 'being removed by another request' not in caplog.text


def test_exists_says_whether_ipa_has_the_host(host_ops, enroll):
    enroll(VM, 'vm1')
    assert host_ops._exists(FQDN) is True
    assert host_ops._exists('VM1.EXAMPLE.TEST') is True
    assert host_ops._exists('nope.example.test') is False


# -- run() ----------------------------------------------------------------------

def test_run_returns_each_calls_result_in_order(host_ops, enroll, ipa):
    enroll(VM, 'vm1')
    results = host_ops.run([('service_del', ['HTTP/nope.example.test'], {}),
                            HOST_DEL])
    assert len(results) == 2
    assert isinstance(results[0], errors.NotFound)
    assert results[1]['value'] == [FQDN]
    assert FQDN not in ipa.hosts


def test_run_of_nothing_asks_ipa_nothing(host_ops, ipa):
    ipa.calls.clear()
    assert host_ops.run([]) == []
    assert ipa.calls == []


def test_run_reports_the_retried_host_del_when_the_zone_does_not_resolve(
        host_ops, enroll, ipa):
    enroll(VM, 'vm1')
    ipa.unresolvable_zones.add('example.test.')
    ipa.calls.clear()
    results = host_ops.run([('service_del', ['HTTP/nope.example.test'], {}),
                            HOST_DEL])
    assert len(results) == 2
    assert isinstance(results[0], errors.NotFound)
    assert not isinstance(results[1], Exception)
    assert results[1]['value'] == [FQDN]
    # the batch's host_del failed (903); the one without updatedns did it
    assert ipa.calls.count('host_del') == 2
    assert FQDN not in ipa.hosts


def test_run_reports_not_found_when_the_retried_host_del_finds_nothing(
        host_ops, enroll, ipa, monkeypatch):
    enroll(VM, 'vm1')
    _host_del_answers(ipa, monkeypatch,
                      IPAFault(903, 'InternalError', 'resolver timeout'),
                      delete_first=True, only_updatedns=True)
    results = host_ops.run([HOST_DEL])
    assert len(results) == 1
    assert isinstance(results[0], errors.NotFound)
    assert not isinstance(results[0], errors.InternalError)


def test_remove_reports_no_host_del_when_the_retried_one_finds_nothing(
        host_ops, enroll, ipa, monkeypatch):
    enroll(VM, 'vm1')
    _host_del_answers(ipa, monkeypatch,
                      IPAFault(903, 'InternalError', 'resolver timeout'),
                      delete_first=True, only_updatedns=True)
    calls = host_ops.remove(FQDN)
    assert not hosts.deleted(calls, FQDN)
    assert FQDN not in ipa.hosts


# -- deleted() -----------------------------------------------------------------

def test_deleted_matches_the_host_del_of_the_host_whatever_the_case():
    assert hosts.deleted([HOST_DEL], 'VM1.Example.TEST')
    assert hosts.deleted([('service_del', ['HTTP/vm1.example.test'], {}),
                          HOST_DEL], FQDN)


def test_deleted_counts_no_other_call_nor_another_hosts_host_del():
    others = [
        ('service_del', ['HTTP/vm1.example.test'], {}),
        ('service_remove_host', ['HTTP/vm1.example.test'], {'host': [FQDN]}),
        ('host_remove_managedby', [FQDN], {'host': ['ctl.example.test']}),
        ('host_del', ['vm1.internalapi.example.test'], {'updatedns': True}),
    ]
    assert not hosts.deleted(others, FQDN)
    assert not hosts.deleted([], FQDN)


def test_a_dry_run_plans_the_host_del(host_ops, enroll, ipa):
    enroll(VM, 'vm1')
    calls = host_ops.remove(FQDN, dry_run=True)
    assert hosts.deleted(calls, FQDN)
    assert FQDN in ipa.hosts
