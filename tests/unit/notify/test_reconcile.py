"""novajoin/reconcile.py against the in-memory IPA and a stand-in nova.

Here rather than in tests/unit/ for the fixtures it shares with the notify
tests (tests/unit/notify/conftest.py).
"""
import itertools
import threading
import time
import uuid

import pytest

from novajoin import openstack
from novajoin.hosts import records
from novajoin.notify import reconcile
from novajoin.notify import dns
from novajoin.notify import floating

LIVE = '11111111-2222-4333-8444-555555555555'
GONE = '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'
HOUR = 3600


class StubServers:
    def __init__(self, servers, deleted=(), page=1000, wait_settled=False):
        self.servers = servers          # ids of the servers nova has
        self.deleted = list(deleted)    # ids nova lists as DELETED, newest first
        self.page = page
        self.wait_settled = wait_settled
        self.asked = []                 # GETs
        self.since = []                 # pages of deleted servers: changes-since
        self.fail_listing = None

    def ids(self):
        return set(self.servers)

    def exists(self, server_id):
        self.asked.append(server_id)
        return server_id in self.servers

    def deleted_pages(self, since=lambda: None):
        if self.fail_listing:
            raise self.fail_listing
        for start in itertools.count(0, self.page):
            if self.wait_settled:
                # nova answering slower than IPA: each page asked once the
                # reconciler knows its orphans (and so its since)
                deadline = time.monotonic() + 5
                while since() is None and time.monotonic() < deadline:
                    time.sleep(0.005)
            self.since.append(since())
            page = set(self.deleted[start:start + self.page])
            if not page:
                return
            yield page


def age(ipa, fqdn, seconds):
    """Make the host look created ``seconds`` ago (IPA's time-based uuid)."""
    born = time.time() - seconds
    ticks = int(born * 1e7) + 0x01b21dd213814000
    fake = uuid.UUID(fields=(ticks & 0xffffffff, (ticks >> 32) & 0xffff,
                             ((ticks >> 48) & 0x0fff) | 0x1000, 0x80, 0, 1))
    ipa.hosts[fqdn]['ipauniqueid'] = [str(fake)]


@pytest.fixture
def servers():
    return StubServers({LIVE})


@pytest.fixture
def make(host_ops, fip_dns, servers):
    def build(network=None, floating_ranges=('192.0.2.0/24',), **kwargs):
        floating_ips = floating.FloatingIPs(host_ops, fip_dns, network,
                                            dns.parse_ranges(floating_ranges))
        return reconcile.Reconciler(host_ops, servers, floating=floating_ips,
                                    **kwargs)
    return build


def test_removes_hosts_of_gone_instances_only(make, enroll, ipa):
    enroll(LIVE, 'live')
    enroll(GONE, 'gone', {'compact_service_HTTP': '["internalapi"]'})
    for fqdn in list(ipa.hosts):
        age(ipa, fqdn, 2 * HOUR)
    report = make(grace=HOUR).run()
    assert sorted(ipa.hosts) == ['live.example.test']
    assert ipa.services == {}
    assert 'host gone.example.test (instance %s is gone): host_del ' \
        'gone.example.test updatedns=True' % GONE in report.lines()


def test_young_hosts_are_left_alone(make, enroll, ipa):
    enroll(GONE, 'gone')
    age(ipa, 'gone.example.test', 60)
    report = make(grace=HOUR).run()
    assert 'gone.example.test' in ipa.hosts
    assert report.kept['within the grace period'] == 1


def test_age_unknown_counts_from_first_sight(make, enroll, ipa):
    enroll(GONE, 'gone')
    clock = [1000.0]
    rec = make(grace=HOUR, clock=lambda: clock[0])
    rec.run()
    assert 'gone.example.test' in ipa.hosts
    clock[0] += HOUR + 1
    rec.run()
    assert 'gone.example.test' not in ipa.hosts


def test_dry_run_changes_nothing(make, enroll, ipa):
    enroll(GONE, 'gone')
    age(ipa, 'gone.example.test', 2 * HOUR)
    report = make(grace=HOUR).run(dry_run=True)
    assert 'gone.example.test' in ipa.hosts
    assert report.lines() == ['host gone.example.test (instance %s is gone): '
                              'host_del gone.example.test updatedns=True' % GONE]


def test_confirms_with_nova_before_removing(make, enroll, ipa, servers):
    enroll(GONE, 'late')
    age(ipa, 'late.example.test', 2 * HOUR)
    servers.ids = lambda: set()           # the list missed it...
    servers.servers.add(GONE)             # ...but nova still has it
    make(grace=HOUR).run()
    assert 'late.example.test' in ipa.hosts


def test_removes_subhosts_nobody_manages(make, ipa, ipa_client):
    values = records.subhost_values('p', 'default')
    ipa_client.call('host_add', 'lost.internalapi.example.test', force=True,
                    description=values[0], userclass=values)
    age(ipa, 'lost.internalapi.example.test', 2 * HOUR)
    make(grace=HOUR).run()
    assert ipa.hosts == {}


def test_a_record_in_the_description_alone_is_never_the_reconcilers(
        make, ipa, ipa_client):
    # forged by a guest, or written by novajoin 2.0 development builds and not adopted
    # yet: neither an instance's host nor a subhost to clean up
    ipa_client.call('host_add', 'claimed.example.test', force=True,
                    description=records.owner_record(GONE, 'p', 'default'))
    ipa_client.call('host_add', 'lost.internalapi.example.test', force=True,
                    description=records.subhost_record('p', 'default'))
    for fqdn in list(ipa.hosts):
        age(ipa, fqdn, 2 * HOUR)
    report = make(grace=HOUR).run()
    assert sorted(ipa.hosts) == ['claimed.example.test',
                                 'lost.internalapi.example.test']
    assert report.actions == []


# -- floating IPs: the sweep ------------------------------------------------------

def test_floating_ip_records_end_as_neutron_has_them(make, enroll, ipa, fip_dns,
                                                     network, ipa_client):
    fqdn = enroll(LIVE, 'live')
    port = network.plug(LIVE)
    fip_dns.associate(fqdn, '192.0.2.40')     # stale: neutron freed it
    network.attach('192.0.2.41', port)        # kept
    fip_dns.associate(fqdn, '192.0.2.41')
    network.attach('192.0.2.42', port)        # missing: associated unseen
    ipa_client.call('dnsrecord_add', 'example.test.', 'live',
                    arecord=['10.9.9.9'])     # not a floating range: untouched
    report = make(grace=HOUR, network=network).run()
    assert sorted(ipa.dns[('example.test.', 'live')]['arecord']) == [
        '10.9.9.9', '192.0.2.41', '192.0.2.42']
    assert ('2.0.192.in-addr.arpa.', '40') not in ipa.dns
    assert ipa.dns[('2.0.192.in-addr.arpa.', '42')]['ptrrecord'] == [
        'live.example.test.']
    assert [line.split(' (')[0] for line in report.lines()
            if 'dnsrecord_add' in line] == ['floating IP 192.0.2.42'] * 2

    ipa.calls.clear()
    assert make(grace=HOUR, network=network).run().actions == []
    assert all(c in ('host_find', 'dnsrecord_show', 'dnszone_find', 'batch')
               for c in ipa.calls), ipa.calls


def test_sweep_dry_run_plans_and_changes_nothing(make, enroll, ipa, fip_dns,
                                                 network):
    fqdn = enroll(LIVE, 'live')
    fip_dns.associate(fqdn, '192.0.2.40')
    network.attach('192.0.2.42', network.plug(LIVE))
    before = dict(ipa.dns)
    report = make(grace=HOUR, network=network).run(dry_run=True)
    assert ipa.dns == before
    lines = '\n'.join(report.lines())
    assert 'floating IP 192.0.2.40 (released): dnsrecord_del' in lines
    assert 'floating IP 192.0.2.42 (associated): dnsrecord_add' in lines


def test_sweep_confirms_each_change_with_a_fresh_read(make, enroll, ipa, fip_dns,
                                                      network):
    # The full list is a snapshot; an address re-associated since is left as
    # neutron has it at the moment of the change.
    fqdn = enroll(LIVE, 'live')
    fip_dns.associate(fqdn, '192.0.2.43')
    port = network.plug(LIVE)
    listing = network.floating_ips

    def stale_listing(address=None):
        if address is None:
            return []           # the snapshot: .43 looked free
        return listing(address)
    network.floating_ips = stale_listing
    network.attach('192.0.2.43', port)        # now: on the server again
    make(grace=HOUR, network=network).run()
    assert ipa.dns[('example.test.', 'live')]['arecord'] == ['192.0.2.43']


def test_sweep_never_names_a_host_for_another_projects_port(make, enroll, ipa,
                                                            network):
    enroll(LIVE, 'live')
    network.attach('192.0.2.44', network.plug(LIVE, project='attacker'))
    make(grace=HOUR, network=network).run()
    assert ('example.test.', 'live') not in ipa.dns


def test_sweep_reads_ports_only_of_floating_ips_on_its_servers(make, enroll,
                                                               network):
    enroll(LIVE, 'live')
    for n in range(5):      # other servers' floating IPs, port_details known
        network.attach('192.0.2.%d' % (50 + n), network.plug(str(uuid.uuid4())))
    asked = []
    ports = network.ports
    network.ports = lambda ids: asked.extend(ids) or ports(ids)
    make(grace=HOUR, network=network).run()
    assert asked == []


def test_a_neutron_failure_skips_the_floating_ip_check(make, enroll, ipa, fip_dns,
                                                       network):
    fqdn = enroll(LIVE, 'live')
    fip_dns.associate(fqdn, '192.0.2.43')
    network.fail = openstack.UpstreamError('neutron 503')
    report = make(grace=HOUR, network=network).run()
    assert ipa.dns[('example.test.', 'live')]['arecord'] == ['192.0.2.43']
    assert report.kept['floating IPs not checked (neutron failed)'] == 1


def test_ranges_come_from_neutrons_external_subnets(make, enroll, ipa, fip_dns,
                                                    network):
    fqdn = enroll(LIVE, 'live')
    fip_dns.associate(fqdn, '192.0.2.45')      # in neutron's external subnet
    fip_dns.associate(fqdn, '203.0.113.9')     # not: not novajoin's to judge
    make(grace=HOUR, network=network, floating_ranges=[]).run()
    assert ipa.dns[('example.test.', 'live')]['arecord'] == ['203.0.113.9']


def test_keeps_to_its_domains(make, enroll, ipa):
    enroll(GONE, 'gone')
    age(ipa, 'gone.example.test', 2 * HOUR)
    make(grace=HOUR, domains=['other.example.test']).run()
    assert 'gone.example.test' in ipa.hosts
    make(grace=HOUR, domains=['Example.Test.']).run()
    assert 'gone.example.test' not in ipa.hosts


def test_two_clouds_in_one_realm_never_remove_each_others_hosts(
        enroll, ipa, ipa_client, zones, fip_dns, network):
    # Cloud A's instances are unknown to cloud B's nova; B's reconciler must
    # still leave A's hosts, A's subhosts (even unmanaged ones) and A's
    # floating-IP records alone, while cleaning its own leaks.
    from novajoin.hosts import store
    a_live = enroll(LIVE, 'a-live', {'compact_service_HTTP': '["internalapi"]'},
                    cloud='cloud-a')
    enroll(GONE, 'a-gone', cloud='cloud-a')
    b_gone = str(uuid.uuid4())
    enroll(b_gone, 'b-gone', cloud='cloud-b')
    values = records.subhost_values('p', 'cloud-a')
    ipa_client.call('host_add', 'lost.internalapi.example.test', force=True,
                    description=values[0], userclass=values)
    fip_dns.associate(a_live, '192.0.2.44')
    for fqdn in list(ipa.hosts):
        age(ipa, fqdn, 2 * HOUR)
    cloud_b = records.Cloud('cloud-b', legacy_records=False)
    b_nova = StubServers(set())                # knows none of A's instances
    reconcile.Reconciler(store.Hosts(ipa_client, zones, cloud_b), b_nova,
                         floating=floating.FloatingIPs(
                             store.Hosts(ipa_client, zones, cloud_b),
                             dns.FloatingDNS(ipa_client, zones, cloud_b),
                             network, dns.parse_ranges(['192.0.2.0/24'])),
                         grace=HOUR).run()
    assert sorted(ipa.hosts) == ['a-gone.example.test', 'a-live.example.test',
                                 'a-live.internalapi.example.test',
                                 'lost.internalapi.example.test']
    assert ipa.dns[('example.test.', 'a-live')]['arecord'] == ['192.0.2.44']


# -- one instance, one host (a rename in nova made a second one) -------------

def _renamed(enroll, ipa, enrolled_old=True):
    """LIVE enrolled as old; nova renamed it and its next fetch made new."""
    enroll(LIVE, 'old')
    if enrolled_old:
        ipa.hosts['old.example.test']['_keytab'] = True
        ipa.hosts['old.example.test']['_password'] = None
    age(ipa, 'old.example.test', 3 * HOUR)
    enroll(LIVE, 'new')
    age(ipa, 'new.example.test', 2 * HOUR)


def test_an_unenrolled_extra_host_of_a_renamed_instance_goes(make, enroll, ipa):
    _renamed(enroll, ipa)
    report = make(grace=HOUR).run()
    assert sorted(ipa.hosts) == ['old.example.test']     # the enrolled one
    assert 'host new.example.test (instance %s is old.example.test): host_del ' \
        'new.example.test updatedns=True' % LIVE in report.lines()


def test_with_none_enrolled_the_newest_host_stays(make, enroll, ipa):
    _renamed(enroll, ipa, enrolled_old=False)
    make(grace=HOUR).run()
    assert sorted(ipa.hosts) == ['new.example.test']


def test_an_extra_host_within_the_grace_period_or_in_a_dry_run_stays(
        make, enroll, ipa):
    _renamed(enroll, ipa)
    age(ipa, 'new.example.test', 60)
    make(grace=HOUR).run()
    assert sorted(ipa.hosts) == ['new.example.test', 'old.example.test']
    age(ipa, 'new.example.test', 2 * HOUR)
    report = make(grace=HOUR).run(dry_run=True)
    assert sorted(ipa.hosts) == ['new.example.test', 'old.example.test']
    assert report.actions


def test_two_enrolled_hosts_of_one_instance_are_left_to_an_administrator(
        make, enroll, ipa, caplog):
    _renamed(enroll, ipa)
    ipa.hosts['new.example.test']['_keytab'] = True
    report = make(grace=HOUR).run()
    assert sorted(ipa.hosts) == ['new.example.test', 'old.example.test']
    assert report.kept['enrolled hosts of one instance'] == 2
    assert 'left for an administrator' in caplog.text


class BarrierServers(StubServers):
    """nova answering each confirmation only once ``n`` are asked at once."""

    def __init__(self, servers, n):
        super().__init__(servers)
        self.barrier = threading.Barrier(n, timeout=5)

    def exists(self, server_id):
        self.barrier.wait()     # breaks (and the test fails) if asked in turn
        return super().exists(server_id)


def test_gone_instances_are_confirmed_with_nova_several_at_once(
        host_ops, enroll, ipa, caplog):
    caplog.set_level('INFO')
    gone = [str(uuid.uuid4()) for _ in range(4)]
    for i, instance in enumerate(gone):
        enroll(instance, 'gone%d' % i)
    for fqdn in list(ipa.hosts):
        age(ipa, fqdn, 2 * HOUR)
    report = reconcile.Reconciler(host_ops, BarrierServers(set(), 4),
                                  grace=HOUR, workers=4).run()
    assert ipa.hosts == {}
    assert len(report.lines()) == 4
    assert '4 hosts without a server in nova checked with nova' in caplog.text
    assert '4 novajoin hosts listed from IPA' in caplog.text


class FlakyServers(StubServers):
    """nova failing the confirmation of some instances."""

    def __init__(self, servers, failing):
        super().__init__(servers)
        self.failing = set(failing)

    def exists(self, server_id):
        if server_id in self.failing:
            self.asked.append(server_id)
            raise openstack.UpstreamError('nova: Connection reset by peer')
        return super().exists(server_id)


def test_a_confirmation_nova_fails_keeps_that_host_and_the_run_goes_on(
        host_ops, enroll, ipa):
    flaky, gone = str(uuid.uuid4()), str(uuid.uuid4())
    enroll(flaky, 'flaky')
    enroll(gone, 'gone')
    for fqdn in list(ipa.hosts):
        age(ipa, fqdn, 2 * HOUR)
    report = reconcile.Reconciler(host_ops, FlakyServers(set(), {flaky}),
                                  grace=HOUR).run()
    assert sorted(ipa.hosts) == ['flaky.example.test']
    assert report.kept['nova did not answer (asked again next run)'] == 1


def test_nova_failing_again_and_again_ends_the_run_removing_nothing_more(
        host_ops, enroll, ipa):
    instances = [str(uuid.uuid4()) for _ in range(6)]
    for i, instance in enumerate(instances):
        enroll(instance, 'gone%d' % i)
    for fqdn in list(ipa.hosts):
        age(ipa, fqdn, 2 * HOUR)
    servers = FlakyServers(set(), instances)
    with pytest.raises(openstack.UpstreamError):
        reconcile.Reconciler(host_ops, servers, grace=HOUR, workers=1,
                             max_nova_failures=2).run()
    assert len(ipa.hosts) == 6
    assert len(servers.asked) == 3          # stopped asking once tripped


# -- nova's listing of deleted servers: one listing instead of a GET each -------

def test_instances_nova_lists_as_deleted_are_removed_without_a_get_each(
        host_ops, enroll, ipa, caplog):
    caplog.set_level('INFO')
    listed = [str(uuid.uuid4()) for _ in range(3)]
    archived = str(uuid.uuid4())                  # nova's row is gone: 404
    for i, instance in enumerate(listed + [archived]):
        enroll(instance, 'gone%d' % i)
    enroll(LIVE, 'live')
    for fqdn in list(ipa.hosts):
        age(ipa, fqdn, 2 * HOUR)
    servers = StubServers({LIVE}, deleted=listed + [str(uuid.uuid4())])
    report = reconcile.Reconciler(host_ops, servers, grace=HOUR).run()
    assert sorted(ipa.hosts) == ['live.example.test']
    assert servers.asked == [archived]            # the only GET
    assert len(report.lines()) == 4
    assert any(line.startswith('host gone0.example.test (instance %s is '
                               'deleted): host_del' % listed[0])
               for line in report.lines())
    assert 'nova lists 3 of the 4 instances without a server as deleted' \
        in caplog.text


def test_the_deleted_listing_is_narrowed_to_since_the_oldest_orphan_host(
        host_ops, enroll, ipa):
    enroll(GONE, 'old')
    enroll(str(uuid.uuid4()), 'newer')
    age(ipa, 'old.example.test', 5 * HOUR)
    age(ipa, 'newer.example.test', 2 * HOUR)
    servers = StubServers(set(), wait_settled=True)
    before = time.time()
    reconcile.Reconciler(host_ops, servers, grace=HOUR).run(dry_run=True)
    (since,) = servers.since
    oldest = before - 5 * HOUR - reconcile.DELETED_SINCE_MARGIN
    assert oldest - 5 < since <= oldest + 5


def test_the_deleted_listing_stops_once_every_orphan_is_listed(
        host_ops, enroll, ipa):
    gone = [str(uuid.uuid4()) for _ in range(3)]
    for i, instance in enumerate(gone):
        enroll(instance, 'gone%d' % i)
        age(ipa, 'gone%d.example.test' % i, 60)
    others = [str(uuid.uuid4()) for _ in range(50)]
    servers = StubServers(set(), deleted=[others[0]] + gone + others[1:],
                          page=2, wait_settled=True)
    reconcile.Reconciler(host_ops, servers, grace=0).run(dry_run=True)
    assert len(servers.since) == 2          # of 26 pages
    assert servers.asked == []


def test_the_deleted_listing_is_bounded_by_the_number_of_orphans(
        host_ops, enroll, ipa, monkeypatch):
    monkeypatch.setattr(reconcile, 'DELETED_LISTING_MIN', 3)
    for i in range(5):
        enroll(str(uuid.uuid4()), 'gone%d' % i)
        age(ipa, 'gone%d.example.test' % i, 60)
    servers = StubServers(set(), deleted=[str(uuid.uuid4()) for _ in range(100)],
                          page=1, wait_settled=True)
    reconcile.Reconciler(host_ops, servers, grace=0).run(dry_run=True)
    assert len(servers.since) == reconcile.DELETED_LISTING_FACTOR * 5
    assert len(servers.asked) == 5          # not listed: a GET each


def test_a_host_of_unknown_age_lists_every_deleted_server(host_ops, enroll,
                                                          ipa):
    enroll(GONE, 'gone')                          # no time-based ipaUniqueID
    servers = StubServers(set(), deleted=[GONE])
    reconcile.Reconciler(host_ops, servers, grace=0).run(dry_run=True)
    assert servers.since and set(servers.since) == {None}


def test_nova_is_listed_while_ipa_is_read(host_ops, enroll, ipa):
    enroll(GONE, 'gone')
    servers = StubServers(set(), deleted=[GONE])
    listed = threading.Event()
    pages = servers.deleted_pages

    def deleted_pages(since=lambda: None):
        for page in pages(since):
            listed.set()
            yield page
    servers.deleted_pages = deleted_pages
    read = host_ops.novajoin_hosts

    def novajoin_hosts():
        # IPA's listing ends only once nova has answered a page beside it
        assert listed.wait(5), 'nova was not listed while IPA was read'
        return read()
    host_ops.novajoin_hosts = novajoin_hosts
    report = reconcile.Reconciler(host_ops, servers, grace=0).run(dry_run=True)
    assert len(report.lines()) == 1 and servers.asked == []


def test_ipa_failing_its_listing_stops_nova_s_listing(host_ops, enroll, ipa):
    servers = StubServers(set(), deleted=[str(uuid.uuid4())
                                          for _ in range(10000)], page=1)
    pages = servers.deleted_pages

    def slow_pages(since=lambda: None):
        for page in pages(since):
            time.sleep(0.002)
            yield page
    servers.deleted_pages = slow_pages

    def novajoin_hosts():
        time.sleep(0.05)
        raise openstack.UpstreamError('ipa.example.test: ReadTimeout')
    host_ops.novajoin_hosts = novajoin_hosts
    with pytest.raises(openstack.UpstreamError):
        reconcile.Reconciler(host_ops, servers, grace=0).run(dry_run=True)
    time.sleep(0.05)
    taken = len(servers.since)
    time.sleep(0.2)
    assert len(servers.since) == taken < 10000


def test_the_deleted_listing_waits_for_ipa_after_listing_ahead(
        host_ops, enroll, ipa, monkeypatch):
    monkeypatch.setattr(reconcile, 'DELETED_LISTING_AHEAD', 3)
    enroll(GONE, 'gone')
    servers = StubServers(set(), deleted=[str(uuid.uuid4())
                                          for _ in range(50)], page=1)
    read, ipa_read, before = host_ops.novajoin_hosts, threading.Event(), []
    pages = servers.deleted_pages

    def deleted_pages(since=lambda: None):
        def asked():
            before.append(not ipa_read.is_set())
            return since()
        return pages(asked)
    servers.deleted_pages = deleted_pages

    def novajoin_hosts():
        time.sleep(0.3)         # nova could list all 50 meanwhile
        hosts = read()
        ipa_read.set()
        return hosts
    host_ops.novajoin_hosts = novajoin_hosts
    reconcile.Reconciler(host_ops, servers, grace=0).run(dry_run=True)
    assert before.count(True) == 3          # then it waited for the bound
    assert len(before) == 51                # all, and the empty page after
    assert servers.asked == [GONE]


def test_nova_failing_its_live_listing_ends_the_run_removing_nothing(
        host_ops, enroll, ipa):
    enroll(GONE, 'gone')
    servers = StubServers(set(), deleted=[GONE])

    def ids():
        raise openstack.UpstreamError('nova: 503')
    servers.ids = ids
    with pytest.raises(openstack.UpstreamError, match='nova: 503'):
        reconcile.Reconciler(host_ops, servers, grace=0).run()
    assert 'gone.example.test' in ipa.hosts
    assert servers.since == []              # no deleted listing either


def test_a_live_server_is_never_taken_from_the_deleted_listing(
        host_ops, enroll, ipa):
    """nova listing a live server's id as deleted too (a row left in another
    cell after a cross-cell move) removes nothing: only hosts without a live
    server are looked up there."""
    enroll(LIVE, 'live')
    age(ipa, 'live.example.test', 2 * HOUR)
    servers = StubServers({LIVE}, deleted={LIVE})
    reconcile.Reconciler(host_ops, servers, grace=HOUR).run()
    assert 'live.example.test' in ipa.hosts


def test_soft_deleted_servers_missing_from_both_listings_are_asked_and_kept(
        host_ops, enroll, ipa):
    """A SOFT_DELETED server is in neither nova listing (not live by
    default, not DELETED): its GET finds it, and the host stays."""
    enroll(GONE, 'restorable')
    age(ipa, 'restorable.example.test', 2 * HOUR)
    servers = StubServers({GONE})
    servers.ids = lambda: set()
    report = reconcile.Reconciler(host_ops, servers, grace=HOUR).run()
    assert 'restorable.example.test' in ipa.hosts
    assert servers.asked == [GONE]
    assert report.kept['instance still exists'] == 1


def test_nova_failing_the_deleted_listing_falls_back_to_a_get_each(
        host_ops, enroll, ipa, caplog):
    enroll(GONE, 'gone')
    enroll(LIVE, 'late')
    for fqdn in list(ipa.hosts):
        age(ipa, fqdn, 2 * HOUR)
    servers = StubServers({LIVE}, deleted={GONE})
    servers.ids = lambda: set()                   # the live listing missed it
    servers.fail_listing = openstack.UpstreamError('nova: 503')
    reconcile.Reconciler(host_ops, servers, grace=HOUR).run()
    assert sorted(ipa.hosts) == ['late.example.test']
    assert sorted(servers.asked) == sorted([GONE, LIVE])
    assert 'confirmed with a GET instead' in caplog.text
