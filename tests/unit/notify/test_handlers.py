"""The handler table against the in-memory IPA, with nova's own payloads.

nova and neutron are small stand-ins (conftest): every message is a claim that
is checked with them before IPA changes.
"""
import json
import logging
import time

import pytest

from novajoin import audit as audit_mod
from novajoin import openstack
from novajoin import otp as otp_mod
from novajoin.hosts import records as host_records
from novajoin.hosts import store as host_store
from novajoin.notify import floating
from novajoin.notify import handlers
from novajoin.notify import listener
from tests.unit.conftest import SECRET
from tests.unit.notify import payloads
from tests.unit.notify.conftest import REVERSE
from tests.unit.notify.conftest import StubServers

VM = payloads.NOVA_INSTANCE
OTHER = '11111111-2222-4333-8444-555555555555'
HTTP = {'compact_service_HTTP': json.dumps(['internalapi'])}


def records(ipa):
    return {k: v for k, v in ipa.dns.items() if any(v.values())}


@pytest.mark.parametrize('event', ['instance.delete.end',
                                   'compute.instance.delete.end'])
def test_delete_removes_host_subhosts_services_and_dns(event, table, ipa, enroll,
                                                       fip_dns):
    fqdn = enroll(VM, 'vm1', HTTP)
    fip_dns.associate(fqdn, '192.0.2.10')
    assert 'vm1.internalapi.example.test' in ipa.hosts
    assert records(ipa)

    assert table.handle(event, payloads.nova(event)) == 'removed'
    assert ipa.hosts == {}
    assert ipa.services == {}
    assert records(ipa) == {}


def test_delete_leaves_a_host_another_instance_owns(table, ipa, enroll):
    enroll(OTHER, 'vm1')
    outcome = table.handle('instance.delete.end',
                           payloads.nova('instance.delete.end'))
    assert outcome == 'not_enrolled'
    assert 'vm1.example.test' in ipa.hosts


def test_delete_of_a_server_that_never_enrolled_is_one_search_and_no_nova_call(
        table, ipa, nova):
    ipa.calls.clear()
    assert table.handle('compute.instance.delete.end', payloads.nova(
        'compute.instance.delete.end')) == 'not_enrolled'
    assert ipa.calls == ['host_find']
    assert nova.asked == []


class ListedInLDAP:
    """A Directory whose ``naming`` answers the entries IPA holds now, as
    LDAP would (records, ``managing_host``); ``asked``: what was looked up."""

    def __init__(self, ipa):
        self.ipa = ipa
        self.asked = []

    def naming(self, text, userclass):
        self.asked.append(text)
        return [dict(h, managing_host=[]) for h in self.ipa.hosts.values()
                if userclass in h.get('userclass', [])]


def test_a_delete_finds_its_host_over_ldap_and_asks_ipa_only_to_remove_it(
        ipa, enroll, ipa_client, zones, nova):
    fqdn = enroll(VM, 'vm1')
    listed = ListedInLDAP(ipa)
    table = handlers.Handlers(host_store.Hosts(
        ipa_client, zones, host_records.Cloud('default'), directory=listed),
        servers=nova)
    ipa.calls.clear()
    assert table.handle('instance.delete.end',
                        payloads.nova('instance.delete.end')) == 'removed'
    assert listed.asked == [VM]
    assert 'host_find' not in ipa.calls and 'host_show' not in ipa.calls
    assert fqdn not in ipa.hosts
    assert nova.asked == [VM]


def test_a_delete_over_ldap_removes_the_floating_ip_records_too(
        ipa, enroll, ipa_client, zones, nova, fip_dns):
    """Found over LDAP, the host goes with its floating IP's A and PTR
    records (IPA's host_del updatedns)."""
    fqdn = enroll(VM, 'vm1')
    fip_dns.associate(fqdn, '192.0.2.10')
    assert records(ipa)
    table = handlers.Handlers(host_store.Hosts(
        ipa_client, zones, host_records.Cloud('default'),
        directory=ListedInLDAP(ipa)), servers=nova)
    assert table.handle('instance.delete.end',
                        payloads.nova('instance.delete.end')) == 'removed'
    assert fqdn not in ipa.hosts and records(ipa) == {}


# -- a delete is a claim: nova confirms it ----------------------------------

@pytest.mark.parametrize('event', ['instance.delete.end',
                                   'compute.instance.delete.end'])
def test_delete_for_an_instance_nova_still_runs_changes_nothing(
        event, table, ipa, enroll, nova, caplog):
    enroll(VM, 'vm1', HTTP)
    nova.status[VM] = 'ACTIVE'
    before = (sorted(ipa.hosts), sorted(ipa.services))
    with caplog.at_level(logging.WARNING):
        outcome = table.handle(event, payloads.nova(event),
                               publisher='nova-compute:evil-1')
    assert outcome == 'instance_alive'
    assert (sorted(ipa.hosts), sorted(ipa.services)) == before
    assert nova.asked == [VM]
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 'SUSPICIOUS' in warning[0].getMessage()
    assert 'nova-compute:evil-1' in warning[0].getMessage()


def test_delete_of_a_soft_deleted_instance_keeps_the_host(table, ipa, enroll,
                                                          nova):
    enroll(VM, 'vm1')
    nova.status[VM] = 'SOFT_DELETED'       # can still be restored
    assert table.handle('instance.delete.end', payloads.nova(
        'instance.delete.end')) == 'instance_alive'
    assert 'vm1.example.test' in ipa.hosts


def test_delete_of_an_instance_nova_shows_as_deleted_removes_the_host(
        table, ipa, enroll, nova):
    enroll(VM, 'vm1')
    nova.status[VM] = 'DELETED'
    assert table.handle('instance.delete.end', payloads.nova(
        'instance.delete.end')) == 'removed'
    assert ipa.hosts == {}


@pytest.mark.parametrize('failure', ['unreachable', 'cell down'])
def test_delete_when_nova_cannot_answer_is_retried_and_keeps_the_host(
        failure, table, ipa, enroll, nova):
    enroll(VM, 'vm1')
    if failure == 'unreachable':
        nova.fail = openstack.UpstreamError('nova: connection refused')
    else:
        nova.status[VM] = 'UNKNOWN'
    with pytest.raises(openstack.UpstreamError) as exc:
        table.handle('instance.delete.end', payloads.nova('instance.delete.end'))
    assert listener.is_transient(exc.value)
    assert 'vm1.example.test' in ipa.hosts


def test_delete_without_nova_removes_nothing_and_is_dropped(host_ops, floating_ips,
                                                            ipa, enroll):
    enroll(VM, 'vm1')
    table = handlers.Handlers(host_ops, floating=floating_ips, servers=None)
    with pytest.raises(handlers.NotConfigured) as exc:
        table.handle('instance.delete.end', payloads.nova('instance.delete.end'))
    assert not listener.is_transient(exc.value)
    assert 'vm1.example.test' in ipa.hosts


def test_delete_without_nova_removes_the_host_only_when_the_operator_opts_in(
        host_ops, floating_ips, ipa, enroll):
    enroll(VM, 'vm1')
    table = handlers.Handlers(host_ops, floating=floating_ips, servers=None,
                              trust_deletes=True)
    assert table.handle('instance.delete.end', payloads.nova(
        'instance.delete.end')) == 'removed'
    assert ipa.hosts == {}


def test_delete_never_touches_another_clouds_host_of_the_same_instance(
        table, ipa, enroll, nova):
    # Two clouds share the realm; the other cloud's host names the same uuid
    # and nova here has no such instance ("gone" as far as this cloud knows).
    enroll(VM, 'vm1', cloud='cloud-b')
    assert table.handle('instance.delete.end', payloads.nova(
        'instance.delete.end')) == 'not_enrolled'
    assert 'vm1.example.test' in ipa.hosts


def test_delete_keeps_a_shared_subhost_and_service_in_use(table, ipa, enroll):
    vip = {'managed_service_vip': 'haproxy/overcloud.example.test'}
    enroll(VM, 'ctl1', vip)
    enroll(OTHER, 'ctl2', vip)
    table.handle('instance.delete.end', payloads.nova('instance.delete.end'))
    assert 'ctl1.example.test' not in ipa.hosts
    assert ipa.hosts['overcloud.example.test']['managedby_host'] == [
        'overcloud.example.test', 'ctl2.example.test']
    service = ipa.services['haproxy/overcloud.example.test@EXAMPLE.TEST']
    assert 'ctl1.example.test' not in service['managedby_host']

    table.handle('instance.delete.end', payloads.nova('instance.delete.end',
                                                      instance=OTHER))
    assert ipa.hosts == {} and ipa.services == {}


def test_delete_falls_back_when_ipa_cannot_resolve_the_zone(table, ipa, enroll,
                                                            fip_dns):
    fqdn = enroll(VM, 'vm1')
    fip_dns.associate(fqdn, '192.0.2.10')
    ipa.unresolvable_zones.add('example.test.')
    table.handle('instance.delete.end', payloads.nova('instance.delete.end'))
    assert ipa.hosts == {} and records(ipa) == {}


def test_the_fall_back_leaves_an_administrators_other_records_on_the_name(
        table, ipa, ipa_client, enroll, fip_dns):
    """As IPA's updatedns: A, AAAA and SSHFP go, a TXT record stays."""
    fqdn = enroll(VM, 'vm1')
    fip_dns.associate(fqdn, '192.0.2.10')
    ipa_client.call('dnsrecord_add', 'example.test.', 'vm1',
                    sshfprecord=['1 1 ab'], txtrecord=['"the admin\'s"'])
    ipa.unresolvable_zones.add('example.test.')
    table.handle('instance.delete.end', payloads.nova('instance.delete.end'))
    assert ipa.hosts == {}
    assert records(ipa) == {('example.test.', 'vm1'): {
        'arecord': [], 'sshfprecord': [], 'txtrecord': ['"the admin\'s"']}}


def test_bad_delete_payload_is_permanent(table):
    with pytest.raises(handlers.BadPayload):
        table.handle('instance.delete.end', {'nova_object.data': {}})
    with pytest.raises(handlers.BadPayload):
        table.handle('compute.instance.delete.end', ['not', 'a', 'dict'])


def test_unknown_event_types_are_ignored_without_ipa(table, ipa):
    ipa.calls.clear()
    assert table.handle('compute.instance.create.end', {}) == 'ignored'
    assert ipa.calls == []


# -- updates: TripleO services follow the metadata -------------------------

@pytest.mark.parametrize('event', ['instance.update', 'compute.instance.update'])
def test_update_adds_and_removes_services(event, table, ipa, enroll):
    enroll(VM, 'vm1', HTTP)
    meta = {'ipa_enroll': 'True',
            'compact_service_mysql': json.dumps(['storage'])}
    assert table.handle(event, payloads.nova(event, metadata=meta)) == 'synced'
    assert sorted(ipa.hosts) == ['vm1.example.test', 'vm1.storage.example.test']
    assert sorted(ipa.services) == ['mysql/vm1.storage.example.test@EXAMPLE.TEST']
    assert ipa.services['mysql/vm1.storage.example.test@EXAMPLE.TEST'][
        'managedby_host'] == ['vm1.storage.example.test', 'vm1.example.test']


@pytest.mark.parametrize('event', ['instance.update', 'compute.instance.update'])
def test_a_renamed_instance_keeps_its_host_and_says_so(
        event, table, ipa, enroll, caplog):
    enroll(VM, 'vm1')
    before = json.dumps(ipa.hosts, sort_keys=True)
    with caplog.at_level(logging.WARNING):
        table.handle(event, payloads.nova(event, hostname='renamed',
                                          metadata={'ipa_enroll': 'True'}))
    assert json.dumps(ipa.hosts, sort_keys=True) == before
    assert 'is now called renamed in nova; its IPA host stays ' \
        'vm1.example.test' in caplog.text
    caplog.clear()
    table.handle(event, payloads.nova(event, hostname='bad\nname',
                                      metadata={'ipa_enroll': 'True', 'x': '1'}))
    assert 'now called' not in caplog.text


def test_update_with_the_same_services_reads_ipa_once(table, ipa, enroll):
    enroll(VM, 'vm1', HTTP)
    meta = dict(HTTP, ipa_enroll='True')
    table.handle('instance.update', payloads.nova('instance.update', metadata=meta))
    ipa.calls.clear()
    table.handle('instance.update', payloads.nova('instance.update', metadata=meta))
    assert ipa.calls == []
    changed = dict(meta, unrelated='x')
    table.handle('instance.update', payloads.nova('instance.update',
                                                  metadata=changed))
    assert ipa.calls == []  # only the service keys matter


def test_update_while_building_does_nothing(table, ipa):
    ipa.calls.clear()
    assert table.handle('instance.update', payloads.nova(
        'instance.update', state='building')) == 'skipped'
    assert ipa.calls == []


def test_update_with_bad_service_metadata_is_permanent(table, enroll):
    enroll(VM, 'vm1')
    with pytest.raises(handlers.BadPayload):
        table.handle('instance.update', payloads.nova(
            'instance.update', metadata={'compact_service_HTTP': 'not json'}))


def test_update_with_a_subhost_name_over_ipas_limit_is_permanent(table, ipa, enroll):
    # the same rule as the API: IPA is never asked for a name it refuses
    enroll(VM, 'vm1')
    ipa.calls.clear()
    with pytest.raises(handlers.BadPayload, match='IPA allows at most 64'):
        table.handle('instance.update', payloads.nova(
            'instance.update', metadata={'compact_service_HTTP': '["%s"]' % ('n' * 60)}))
    assert [c for c in ipa.calls if c not in ('host_find', 'host_show')] == []


def test_update_refuses_a_foreign_service_host(table, ipa, enroll, ipa_client):
    enroll(VM, 'vm1')
    ipa_client.call('host_add', 'web.example.test', force=True)
    meta = {'managed_service_web': 'HTTP/web.example.test'}
    with pytest.raises(handlers.BadPayload):
        table.handle('instance.update', payloads.nova('instance.update',
                                                      metadata=meta))
    assert 'HTTP/web.example.test@EXAMPLE.TEST' not in ipa.services


# -- floating IPs --------------------------------------------------------------
# Each event names an address; its records end as neutron (the stand-in's
# current state) says, whatever the payload claims.

def a_of(ipa, name):
    return ipa.dns.get(('example.test.', name), {}).get('arecord', [])


def ptr_of(ipa, last_octet):
    return ipa.dns.get((REVERSE, last_octet), {}).get('ptrrecord', [])


def event(table, event_type, fip):
    if event_type == 'floatingip.delete.end':
        return table.handle(event_type, payloads.floatingip_delete_end(fip))
    return table.handle(event_type, payloads.floatingip_update_end(fip))


def test_fip_associate_and_disassociate(table, ipa, enroll, network):
    enroll(VM, 'vm1')
    fip = network.attach('192.0.2.10', network.plug(VM))
    assert event(table, 'floatingip.update.end', fip) == 'associated'
    assert a_of(ipa, 'vm1') == ['192.0.2.10']
    assert ptr_of(ipa, '10') == ['vm1.example.test.']

    fip = network.attach('192.0.2.10', None)
    assert event(table, 'floatingip.update.end', fip) == 'released'
    assert a_of(ipa, 'vm1') == [] and ptr_of(ipa, '10') == []


def test_fip_created_on_a_port_gets_its_record(table, ipa, enroll, network):
    # `openstack floating ip create --port P`: neutron sends create.end only
    enroll(VM, 'vm1')
    fip = network.attach('192.0.2.11', network.plug(VM))
    assert event(table, 'floatingip.create.end', fip) == 'associated'
    assert a_of(ipa, 'vm1') == ['192.0.2.11']


def test_fip_moved_to_another_server(table, ipa, enroll, network):
    enroll(VM, 'vm1')
    enroll(OTHER, 'vm2')
    event(table, 'floatingip.update.end',
          network.attach('192.0.2.10', network.plug(VM)))
    moved = network.attach('192.0.2.10', network.plug(OTHER))
    assert event(table, 'floatingip.update.end', moved) == 'associated'
    assert a_of(ipa, 'vm1') == [] and a_of(ipa, 'vm2') == ['192.0.2.10']
    assert ptr_of(ipa, '10') == ['vm2.example.test.']


def test_events_handled_out_of_order_end_as_neutron_is(table, ipa, enroll,
                                                       network):
    # Two replicas, or a retried message: the associate arrives after the
    # disassociate that followed it. Neutron's present state wins.
    enroll(VM, 'vm1')
    associated = network.attach('192.0.2.12', network.plug(VM))
    released = network.attach('192.0.2.12', None)
    assert event(table, 'floatingip.update.end', released) == 'no_records'
    assert event(table, 'floatingip.update.end', associated) == 'no_records'
    assert records(ipa) == {}
    # ... and a late disassociate never undoes an association neutron has
    network.attach('192.0.2.12', network.plug(VM))
    event(table, 'floatingip.update.end', released)
    assert a_of(ipa, 'vm1') == ['192.0.2.12']


def test_fip_of_a_server_that_did_not_enroll_gets_no_record(table, ipa,
                                                            network):
    fip = network.attach('192.0.2.10', network.plug(VM))
    assert event(table, 'floatingip.update.end', fip) == 'not_enrolled'
    assert records(ipa) == {}


def test_fip_records_of_other_names_stay(table, ipa, enroll, ipa_client):
    enroll(VM, 'vm1')
    ipa_client.call('dnsrecord_add', 'example.test.', 'www', arecord=['192.0.2.10'])
    event(table, 'floatingip.delete.end', payloads.floatingip('192.0.2.10'))
    assert a_of(ipa, 'www') == ['192.0.2.10']


def test_fip_on_a_port_of_another_project_gets_no_record(table, ipa, enroll,
                                                         network, caplog):
    # A tenant may create a port whose device_id is someone else's instance.
    enroll(VM, 'vm1')
    port = network.plug(VM, project='attacker-project')
    fip = network.attach('192.0.2.13', port)
    with caplog.at_level(logging.WARNING):
        assert event(table, 'floatingip.update.end', fip) == 'project_mismatch'
    assert records(ipa) == {}
    assert 'SUSPICIOUS' in caplog.text and 'attacker-project' in caplog.text


def test_fip_payload_claims_are_not_believed_over_neutron(table, ipa, enroll,
                                                          network):
    enroll(VM, 'vm1')
    real = network.attach('192.0.2.14', network.plug(OTHER))  # OTHER's port
    claimed = payloads.floatingip('192.0.2.14', network.plug(VM),
                                  fip_id=real['id'])         # "it is VM's"
    assert event(table, 'floatingip.update.end', claimed) == 'not_enrolled'
    assert records(ipa) == {}
    # a forged "disassociate" leaves the record neutron still backs
    fqdn = enroll(OTHER, 'vm2')
    assert event(table, 'floatingip.update.end', real) == 'associated'
    event(table, 'floatingip.update.end',
          payloads.floatingip('192.0.2.14', None, fip_id=real['id']))
    event(table, 'floatingip.delete.end', real)
    assert a_of(ipa, 'vm2') == ['192.0.2.14']
    assert ptr_of(ipa, '14') == [fqdn + '.']


def test_fip_on_a_port_neutron_does_not_know_gets_no_record(table, ipa, enroll,
                                                            network):
    enroll(VM, 'vm1')
    fip = network.attach('192.0.2.15', payloads.port(VM))   # port not in neutron
    assert event(table, 'floatingip.update.end', fip) == 'not_a_server'
    assert records(ipa) == {}


def test_fip_on_a_router_port_gets_no_record(table, ipa, enroll, network):
    enroll(VM, 'vm1')
    fip = network.attach('192.0.2.15', network.plug(
        VM, owner='network:router_interface'))
    assert event(table, 'floatingip.update.end', fip) == 'not_a_server'
    assert records(ipa) == {}


def test_fip_events_without_neutron_are_not_configured(host_ops, fip_dns, ipa,
                                                       enroll, nova):
    enroll(VM, 'vm1')
    table = handlers.Handlers(host_ops, servers=nova, floating=floating.FloatingIPs(
        host_ops, fip_dns, None))
    fip = payloads.floatingip('192.0.2.16', payloads.port(VM))
    with pytest.raises(handlers.NotConfigured):
        event(table, 'floatingip.update.end', fip)
    with pytest.raises(handlers.NotConfigured):
        table.handle('port.delete.end', payloads.port_delete_end(payloads.port(VM)))
    assert records(ipa) == {}
    assert not listener.is_transient(handlers.NotConfigured('x'))


def test_fip_delete_removes_records(table, ipa, enroll, network):
    enroll(VM, 'vm1')
    fip = network.attach('192.0.2.12', network.plug(VM))
    event(table, 'floatingip.update.end', fip)
    network.release('192.0.2.12')
    assert event(table, 'floatingip.delete.end', fip) == 'released'
    assert a_of(ipa, 'vm1') == [] and ptr_of(ipa, '12') == []


def test_released_address_that_is_now_a_servers_fixed_ip_keeps_its_record(
        table, ipa, enroll, network, ipa_client):
    # The address went back to the external subnet and a server on that
    # network got it as a fixed IP: its own A record is not a leftover.
    fqdn = enroll(VM, 'vm1')
    old = network.attach('192.0.2.17', network.plug(OTHER))
    network.release('192.0.2.17')
    network.plug(VM, fixed_ip='192.0.2.17')
    ipa_client.call('dnsrecord_add', 'example.test.', 'vm1', arecord=['192.0.2.17'])
    assert event(table, 'floatingip.delete.end', old) == 'no_records'
    assert a_of(ipa, 'vm1') == ['192.0.2.17']
    assert fqdn == 'vm1.example.test'


@pytest.mark.parametrize('bad', [{}, {'floatingip': None},
                                 {'floatingip': {'floating_ip_address': 7}},
                                 {'floatingip': {'port_id': 'x'}}])
def test_fip_events_without_an_address_are_permanent(table, network, bad):
    with pytest.raises(handlers.BadPayload):
        table.handle('floatingip.update.end', bad)
    assert network.reads == []


def test_old_neutron_fip_delete_without_address_is_permanent(table):
    with pytest.raises(handlers.BadPayload):
        table.handle('floatingip.delete.end', {'floatingip_id': 'x'})


def test_port_delete_drops_floating_ips_the_server_lost(table, ipa, enroll,
                                                        fip_dns, network,
                                                        ipa_client):
    fqdn = enroll(VM, 'vm1')
    kept = network.plug(VM)
    network.attach('192.0.2.21', kept)
    fip_dns.associate(fqdn, '192.0.2.20')       # was on the deleted port
    fip_dns.associate(fqdn, '192.0.2.21')
    ipa_client.call('dnsrecord_add', 'example.test.', 'vm1', arecord=['10.0.0.5'])
    network.attach('192.0.2.20', None)          # neutron freed it silently
    assert table.handle('port.delete.end', payloads.port_delete_end(
        payloads.port(VM))) == 'synced'
    assert sorted(a_of(ipa, 'vm1')) == ['10.0.0.5', '192.0.2.21']
    assert ptr_of(ipa, '20') == [] and ptr_of(ipa, '21') == ['vm1.example.test.']


def test_port_delete_of_a_router_port_is_ignored(table, ipa, network):
    ipa.calls.clear()
    port = payloads.port('router-id', owner='network:router_interface')
    assert table.handle('port.delete.end',
                        payloads.port_delete_end(port)) == 'not_a_server'
    assert ipa.calls == [] and network.reads == []


def test_nova_network_floating_ip_events_are_not_acted_on(table, ipa, enroll):
    # nova-network is gone since Rocky; only the payload would vouch for them.
    enroll(VM, 'vm1')
    ipa.calls.clear()
    assert table.handle('network.floating_ip.associate', {
        'instance_id': VM, 'floating_ip': '192.0.2.30'}) == 'ignored'
    assert ipa.calls == [] and records(ipa) == {}


@pytest.mark.parametrize('name', ['floatingip_create_end_with_port',
                                  'floatingip_update_end_associate'])
def test_neutron29s_own_association_messages_write_the_record(
        name, table, ipa, enroll, network):
    msg = payloads.neutron_message(name)
    fip = msg['payload']['floatingip']
    device = fip['port_details']['device_id']
    enroll(device, 'vm1', project=fip['project_id'])
    network.attach(fip['floating_ip_address'], network.plug(
        device, project=fip['project_id'], port_id=fip['port_id']))
    assert table.handle(msg['event_type'], msg['payload'],
                        publisher=msg['publisher_id']) == 'associated'
    assert a_of(ipa, 'vm1') == [fip['floating_ip_address']]


@pytest.mark.parametrize('name', ['floatingip_update_end_disassociate',
                                  'floatingip_delete_end', 'port_delete_end'])
def test_neutron29s_own_release_messages_remove_the_record(
        name, table, ipa, enroll, network, fip_dns):
    msg = payloads.neutron_message(name)
    network.cidrs = ['198.51.100.0/24']
    if 'port' in msg['payload']:
        port = msg['payload']['port']
        device, project, address = port['device_id'], port['project_id'], \
            '198.51.100.77'
    else:
        fip = msg['payload']['floatingip']
        device = (fip['port_details'] or {}).get('device_id') or OTHER
        project, address = fip['project_id'], fip['floating_ip_address']
    fip_dns.associate(enroll(device, 'vm1', project=project), address)
    outcome = table.handle(msg['event_type'], msg['payload'],
                           publisher=msg['publisher_id'])
    assert outcome in ('released', 'synced')
    assert a_of(ipa, 'vm1') == []


def test_fip_dns_off(host_ops, ipa):
    table = handlers.Handlers(host_ops, floating=None)
    ipa.calls.clear()
    fip = payloads.floatingip('192.0.2.10', payloads.port(VM))
    assert event(table, 'floatingip.update.end', fip) == 'dns_off'
    assert ipa.calls == []


def test_update_from_a_project_without_the_service_privilege_changes_nothing(
        host_ops, floating_ips, ipa, enroll):
    from novajoin.hosts import services
    strict = handlers.Handlers(host_ops, floating=floating_ips,
                               service_rules=services.ServiceRules(['undercloud']))
    enroll(VM, 'vm1')
    before = (sorted(ipa.hosts), sorted(ipa.services))
    with pytest.raises(handlers.BadPayload, match='service_projects'):
        strict.handle('instance.update', payloads.nova('instance.update',
                                                       metadata=HTTP))
    assert (sorted(ipa.hosts), sorted(ipa.services)) == before


def test_update_judges_the_project_recorded_in_ipa_not_the_payload(
        host_ops, floating_ips, ipa, enroll):
    from novajoin.hosts import services
    # the payload claims the privileged project; IPA records the host's own
    strict = handlers.Handlers(host_ops, floating=floating_ips,
                               service_rules=services.ServiceRules(['undercloud']))
    enroll(VM, 'vm1')
    payload = payloads.nova('instance.update', metadata=HTTP)
    data = payload.get('nova_object.data', payload)
    data['tenant_id'] = 'undercloud'
    with pytest.raises(handlers.BadPayload, match='service_projects'):
        strict.handle('instance.update', payload)
    assert 'vm1.internalapi.example.test' not in ipa.hosts


# -- rebuilds: a new guest under the same instance gets a new OTP --------------
# nova's instance actions (GET /servers/{id}/os-instance-actions) vouch for
# the rebuild; novajoin.hosts.rearm does the reset.

REBUILD_EVENTS = ['instance.rebuild.end', 'compute.instance.rebuild.end']
REQ = 'req-0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6b'
OLD_REQ = 'req-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a'


class ActionsNova(StubServers):
    """nova with each server's instance actions, newest first (None: 404)."""

    def __init__(self):
        super().__init__()
        self.recorded = {}

    def actions(self, server_id):
        self.asked.append(server_id)
        if self.fail:
            raise self.fail
        found = self.recorded.get(server_id)
        return None if found is None else [dict(a) for a in found]


def action(name, request_id, started):
    return {'action': name, 'request_id': request_id, 'started': started}


class Bus:
    """oslo.messaging's Notifier for the audit events: keeps them."""

    def __init__(self):
        self.sent = []

    def info(self, ctxt, event_type, payload):
        self.sent.append((event_type, payload))

    def types(self):
        return [t for t, _ in self.sent]


OTPS = otp_mod.OTPSource(SECRET)
KEY = OTPS.key_id


@pytest.fixture
def actions_nova():
    return ActionsNova()


@pytest.fixture
def bus():
    return Bus()


@pytest.fixture
def rebuilds(host_ops, floating_ips, actions_nova, bus):
    return handlers.Handlers(host_ops, floating=floating_ips,
                             servers=actions_nova, otps=OTPS,
                             audit=audit_mod.Auditor(bus, 'novajoin-test'))


@pytest.fixture
def enrolled(enroll, ipa):
    """vm1's host, its first guest enrolled an hour ago."""
    fqdn = enroll(VM, 'vm1')
    ipa.enroll(fqdn, OTPS.otp(fqdn, VM), at=time.time() - 3600)
    return fqdn


def rebuilt(actions_nova, request_id=REQ, ago=60, *older):
    """nova records a rebuild ``ago`` seconds ago (and ``older`` actions)."""
    started = time.time() - ago
    actions_nova.recorded[VM] = [action('rebuild', request_id, started)] + list(
        older or [action('create', 'req-11111111-2222-4333-8444-555555555555',
                         started - 7200)])
    return started


def writes(ipa):
    return [c for c in ipa.calls if c not in ('host_find', 'host_show')]


@pytest.mark.parametrize('event', REBUILD_EVENTS)
def test_rebuild_resets_the_enrolled_host_of_a_rebuild_nova_records(
        event, rebuilds, ipa, enrolled, actions_nova, bus, caplog):
    rebuilt(actions_nova)
    with caplog.at_level(logging.DEBUG):
        assert rebuilds.handle(event, payloads.nova(event)) == 'reset'
    host = ipa.hosts[enrolled]
    assert not host['_keytab']
    armed = OTPS.otp(enrolled, VM, KEY, generation=REQ)
    assert host['_password'] == armed != OTPS.otp(enrolled, VM)
    assert host_records.generation_of(host)[:2] == (REQ, KEY)
    assert actions_nova.asked == [VM]
    assert bus.types() == ['novajoin.host.reset']
    reset = bus.sent[0][1]
    assert reset['action'] == 'update' and reset['outcome'] == 'success'
    assert reset['target']['name'] == enrolled and reset['target']['id'] == VM
    assert REQ in reset['initiator']['name']
    assert 'IPA host %s reset' % enrolled in caplog.text
    assert armed not in caplog.text
    assert OTPS.otp(enrolled, VM) not in caplog.text


@pytest.mark.parametrize('event', REBUILD_EVENTS)
def test_a_replayed_rebuild_changes_nothing(
        event, rebuilds, ipa, enrolled, actions_nova, bus):
    rebuilt(actions_nova)
    rebuilds.handle(event, payloads.nova(event))
    before = repr(ipa.hosts)
    ipa.calls.clear()
    assert rebuilds.handle(event, payloads.nova(event)) == 'armed'
    assert writes(ipa) == [] and repr(ipa.hosts) == before
    assert bus.types() == ['novajoin.host.reset']         # once


def test_a_rebuild_after_the_new_guest_enrolled_changes_nothing(
        rebuilds, ipa, enrolled, actions_nova, bus):
    rebuilt(actions_nova)
    rebuilds.handle('instance.rebuild.end',
                    payloads.nova('instance.rebuild.end'))
    ipa.enroll(enrolled, OTPS.otp(enrolled, VM, KEY, generation=REQ))
    ipa.calls.clear()
    assert rebuilds.handle('compute.instance.rebuild.end', payloads.nova(
        'compute.instance.rebuild.end')) == 'enrolled'
    assert writes(ipa) == [] and ipa.hosts[enrolled]['_keytab']


@pytest.mark.parametrize('event', REBUILD_EVENTS)
def test_a_rebuild_nova_does_not_record_is_suspicious_and_changes_nothing(
        event, rebuilds, ipa, enrolled, actions_nova, bus, caplog):
    actions_nova.recorded[VM] = [
        action('create', 'req-11111111-2222-4333-8444-555555555555',
               time.time() - 7200)]
    before = repr(ipa.hosts)
    ipa.calls.clear()
    with caplog.at_level(logging.WARNING):
        assert rebuilds.handle(event, payloads.nova(event)) == 'not_rebuilt'
    assert writes(ipa) == [] and repr(ipa.hosts) == before
    assert 'SUSPICIOUS' in caplog.text and VM in caplog.text
    assert bus.types() == ['novajoin.notification.suspicious']
    suspicious = bus.sent[0][1]
    assert suspicious['action'] == 'update'
    assert suspicious['outcome'] == 'failure'
    assert suspicious['target']['name'] == enrolled


def test_an_evacuation_changes_nothing_and_is_not_suspicious(
        rebuilds, ipa, enrolled, actions_nova, bus, caplog):
    # nova-compute sends rebuild.end for an evacuation too
    now = time.time()
    actions_nova.recorded[VM] = [
        action('evacuate', 'req-22222222-2222-4333-8444-555555555555', now - 60),
        action('create', 'req-11111111-2222-4333-8444-555555555555', now - 7200)]
    before = repr(ipa.hosts)
    ipa.calls.clear()
    with caplog.at_level(logging.INFO):
        assert rebuilds.handle('instance.rebuild.end', payloads.nova(
            'instance.rebuild.end')) == 'evacuated'
    assert writes(ipa) == [] and repr(ipa.hosts) == before
    assert bus.types() == [] and 'SUSPICIOUS' not in caplog.text


def test_an_evacuation_after_a_finished_reset_changes_nothing(
        rebuilds, ipa, enrolled, actions_nova):
    started = rebuilt(actions_nova, REQ, 600)
    rebuilds.handle('instance.rebuild.end', payloads.nova('instance.rebuild.end'))
    ipa.enroll(enrolled, OTPS.otp(enrolled, VM, KEY, generation=REQ))
    actions_nova.recorded[VM].insert(0, action(
        'evacuate', 'req-22222222-2222-4333-8444-555555555555', started + 300))
    ipa.calls.clear()
    assert rebuilds.handle('instance.rebuild.end', payloads.nova(
        'instance.rebuild.end')) == 'enrolled'
    assert writes(ipa) == []


def test_an_evacuation_never_re_arms_a_host_an_administrator_disabled(
        rebuilds, ipa, enrolled, actions_nova, ipa_client):
    started = rebuilt(actions_nova, REQ, 600)
    rebuilds.handle('instance.rebuild.end', payloads.nova('instance.rebuild.end'))
    ipa.enroll(enrolled, OTPS.otp(enrolled, VM, KEY, generation=REQ))
    ipa_client.call('host_disable', enrolled)             # the administrator
    actions_nova.recorded[VM].insert(0, action(
        'evacuate', 'req-22222222-2222-4333-8444-555555555555', started + 300))
    rebuilds.handle('instance.rebuild.end', payloads.nova('instance.rebuild.end'))
    assert ipa.hosts[enrolled]['_password'] is None


def test_a_host_an_administrator_disabled_stays_disabled(
        rebuilds, ipa, enrolled, actions_nova, ipa_client, bus, caplog):
    ipa_client.call('host_disable', enrolled)
    rebuilt(actions_nova)
    ipa.calls.clear()
    with caplog.at_level(logging.WARNING):
        assert rebuilds.handle('instance.rebuild.end', payloads.nova(
            'instance.rebuild.end')) == 'disabled'
    assert writes(ipa) == []
    assert ipa.hosts[enrolled]['_password'] is None
    assert not ipa.hosts[enrolled]['_keytab']
    assert 'disabled by an administrator' in caplog.text
    assert 'novajoin.host.reset' not in bus.types()


@pytest.mark.parametrize('event', REBUILD_EVENTS)
def test_a_rebuild_of_an_instance_without_a_host_does_not_ask_nova(
        event, rebuilds, ipa, actions_nova):
    rebuilt(actions_nova)
    ipa.calls.clear()
    assert rebuilds.handle(event, payloads.nova(event)) == 'not_enrolled'
    assert ipa.calls == ['host_find']
    assert actions_nova.asked == []


def test_a_rebuild_never_touches_another_clouds_host(rebuilds, ipa, enroll,
                                                     actions_nova):
    fqdn = enroll(VM, 'vm1', cloud='cloud-b')
    ipa.enroll(fqdn, otp_mod.OTPSource(SECRET).otp(fqdn, VM),
               at=time.time() - 3600)
    rebuilt(actions_nova)
    assert rebuilds.handle('instance.rebuild.end', payloads.nova(
        'instance.rebuild.end')) == 'not_enrolled'
    assert ipa.hosts[fqdn]['_keytab'] and actions_nova.asked == []


@pytest.mark.parametrize('missing', ['servers', 'otps'])
def test_a_rebuild_without_nova_or_the_otp_secret_is_not_configured(
        missing, host_ops, floating_ips, ipa, enrolled, actions_nova):
    rebuilt(actions_nova)
    parts = {'servers': actions_nova, 'otps': OTPS}
    parts[missing] = None
    table = handlers.Handlers(host_ops, floating=floating_ips, **parts)
    before = repr(ipa.hosts)
    ipa.calls.clear()
    for event in REBUILD_EVENTS:
        with pytest.raises(handlers.NotConfigured) as exc:
            table.handle(event, payloads.nova(event))
        assert not listener.is_transient(exc.value)
    assert writes(ipa) == [] and repr(ipa.hosts) == before
    assert actions_nova.asked == []


@pytest.mark.parametrize('bad', [
    {'request_id': None},           # nova's was malformed (openstack.Servers)
    {'started': None},
    {'request_id': ''}])
def test_a_rebuild_nova_names_without_a_request_id_or_time_is_ignored(
        bad, rebuilds, ipa, enrolled, actions_nova):
    rebuilt(actions_nova)
    actions_nova.recorded[VM][0].update(bad)
    before = repr(ipa.hosts)
    ipa.calls.clear()
    assert rebuilds.handle('instance.rebuild.end', payloads.nova(
        'instance.rebuild.end')) == 'not_rebuilt'
    assert writes(ipa) == [] and repr(ipa.hosts) == before


def test_a_rebuild_of_an_instance_nova_does_not_have_changes_nothing(
        rebuilds, ipa, enrolled, actions_nova):
    assert VM not in actions_nova.recorded                 # 404
    before = repr(ipa.hosts)
    assert rebuilds.handle('instance.rebuild.end', payloads.nova(
        'instance.rebuild.end')) == 'not_rebuilt'
    assert repr(ipa.hosts) == before


def test_a_rebuild_when_nova_cannot_answer_is_retried(rebuilds, ipa, enrolled,
                                                      actions_nova):
    rebuilt(actions_nova)
    actions_nova.fail = openstack.UpstreamError('nova: connection refused')
    before = repr(ipa.hosts)
    with pytest.raises(openstack.UpstreamError) as exc:
        rebuilds.handle('instance.rebuild.end',
                        payloads.nova('instance.rebuild.end'))
    assert listener.is_transient(exc.value)
    assert repr(ipa.hosts) == before


def test_the_latest_rebuild_nova_records_is_the_generation(
        rebuilds, ipa, enrolled, actions_nova):
    now = time.time()
    actions_nova.recorded[VM] = [action('rebuild', REQ, now - 60),
                                 action('stop', None, now - 120),
                                 action('rebuild', OLD_REQ, now - 600)]
    assert rebuilds.handle('instance.rebuild.end', payloads.nova(
        'instance.rebuild.end')) == 'reset'
    assert host_records.generation_of(ipa.hosts[enrolled])[:2] == (REQ, KEY)


def test_a_rebuild_when_ipa_goes_away_half_way_is_retried_and_resumes(
        rebuilds, ipa, enrolled, actions_nova, ipa_client, monkeypatch):
    from novajoin.ipa import errors

    def unreachable(calls, **_):
        raise errors.IPAUnavailable('no IPA server answered')
    rebuilt(actions_nova)
    monkeypatch.setattr(ipa_client, 'batch', unreachable)
    with pytest.raises(errors.IPAUnavailable) as exc:
        rebuilds.handle('instance.rebuild.end',
                        payloads.nova('instance.rebuild.end'))
    assert listener.is_transient(exc.value)
    # the record went first: the retry knows which reset is under way
    assert host_records.generation_of(ipa.hosts[enrolled])[:2] == (REQ, KEY)
    assert ipa.hosts[enrolled]['_keytab']
    monkeypatch.undo()
    ipa.calls.clear()
    assert rebuilds.handle('compute.instance.rebuild.end', payloads.nova(
        'compute.instance.rebuild.end')) == 'reset'
    assert writes(ipa) == ['batch', 'host_disable', 'host_mod']
    assert ipa.hosts[enrolled]['_password'] == OTPS.otp(
        enrolled, VM, KEY, generation=REQ)


@pytest.mark.parametrize('event,name', [
    ('instance.rebuild.end', 'InstanceActionRebuildPayload'),
    ('compute.instance.rebuild.end', None)])
def test_nova34s_own_rebuild_messages_name_the_instance(event, name):
    msg = payloads.nova_message(event)
    assert msg['event_type'] == event
    payload = msg['payload']
    assert payload.get('nova_object.name') == name
    inst = handlers.instance_from(payload)
    assert inst.uuid == VM and inst.hostname == 'vm1'
    assert inst.project == payloads.NOVA_PROJECT
    assert event in handlers.Handlers(None, servers=object()).table


@pytest.mark.parametrize('event', [
    'instance.resize.end', 'instance.resize_finish.end',
    'instance.resize_confirm.end', 'instance.shelve.end',
    'instance.shelve_offload.end', 'instance.unshelve.end',
    'instance.evacuate', 'instance.live_migration_post.end',
    'compute.instance.finish_resize.end', 'compute.instance.unshelve.end'])
def test_moves_that_keep_the_guests_disk_change_nothing(
        event, rebuilds, ipa, enrolled, actions_nova):
    # resize, shelve/unshelve (the snapshot is the guest's own disk),
    # migrations, evacuation: the guest keeps its keys; novajoin has nothing
    # to do and does not even ask nova
    ipa.calls.clear()
    assert rebuilds.handle(event, payloads.nova('instance.rebuild.end')) == \
        'ignored'
    assert ipa.calls == [] and actions_nova.asked == []
    assert ipa.hosts[enrolled]['_keytab']


# -- two handlers of the same delete: one host_del, one audit event -------------
# nova sends each delete in two formats (legacy and versioned); replicas share
# them: two handlers may remove one host at once.

DELETES = ['instance.delete.end', 'compute.instance.delete.end']


class ReadBeforeAnyDelete(host_store.Hosts):
    """owned_by answers, for every delivery, what IPA held at the first one:
    both handlers read before either deleted. ``then``: run after each read
    (another handler's delete landing in between)."""

    def __init__(self, *args, then=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.first = None
        self.then = then
        self.reads = 0

    def owned_by(self, instance_id, **kwargs):
        self.reads += 1
        if self.first is None:
            self.first = super().owned_by(instance_id, **kwargs)
        if self.then is not None:
            self.then()
        return self.first


@pytest.fixture
def audited(ipa_client, zones, floating_ips, nova, bus):
    """Handlers over a ReadBeforeAnyDelete store (given ``then``), audited
    on ``bus``."""
    def make(then=None):
        store = ReadBeforeAnyDelete(ipa_client, zones,
                                    host_records.Cloud('default'), then=then)
        return handlers.Handlers(store, floating=floating_ips, servers=nova,
                                 audit=audit_mod.Auditor(bus, 'novajoin-test'))
    return make


def _said(caplog, text):
    return [r for r in caplog.records if r.name == 'novajoin.notify.handlers'
            and r.levelno == logging.INFO and text in r.getMessage()]


def test_a_delete_that_removes_the_host_audits_it_once(audited, ipa, enroll, bus,
                                                       caplog):
    fqdn = enroll(VM, 'vm1')
    table = audited()
    with caplog.at_level(logging.INFO, logger='novajoin.notify.handlers'):
        assert table.handle('instance.delete.end', payloads.nova(
            'instance.delete.end'), publisher='nova-compute:c1') == 'removed'
    assert fqdn not in ipa.hosts
    assert bus.types() == ['novajoin.host.removed']
    assert bus.sent[0][1]['target']['name'] == fqdn
    assert _said(caplog, 'removed IPA host %s' % fqdn)
    assert not _said(caplog, 'was already removed')


def test_a_host_another_handler_removed_first_is_not_audited_again(
        audited, ipa, enroll, ipa_client, bus, caplog):
    fqdn = enroll(VM, 'vm1')
    # the other handler's host_del lands after this one's owned_by read
    table = audited(then=lambda: ipa_client.call('host_del', fqdn,
                                                 updatedns=True))
    ipa.calls.clear()
    with caplog.at_level(logging.INFO, logger='novajoin.notify.handlers'):
        outcome = table.handle('instance.delete.end',
                               payloads.nova('instance.delete.end'))
    assert outcome == 'already_removed'
    assert ipa.calls.count('host_del') == 2     # theirs, then ours: NotFound
    assert bus.sent == []
    assert _said(caplog, 'IPA host %s was already removed' % fqdn)


def test_both_formats_of_one_delete_read_before_either_removes_audit_once(
        audited, ipa, enroll, bus, caplog):
    fqdn = enroll(VM, 'vm1')
    table = audited()
    with caplog.at_level(logging.INFO, logger='novajoin.notify.handlers'):
        first, second = [table.handle(event, payloads.nova(event))
                         for event in DELETES]
    assert table.hosts.reads == 2                # both found the host
    assert (first, second) == ('removed', 'already_removed')
    assert fqdn not in ipa.hosts
    assert bus.types() == ['novajoin.host.removed']
    assert len(_said(caplog, 'was already removed')) == 1


@pytest.mark.parametrize('events', [DELETES, DELETES[::-1]])
def test_the_second_format_of_a_delete_finds_nothing_and_audits_nothing(
        events, host_ops, floating_ips, nova, bus, ipa, enroll):
    enroll(VM, 'vm1')
    table = handlers.Handlers(host_ops, floating=floating_ips, servers=nova,
                              audit=audit_mod.Auditor(bus, 'novajoin-test'))
    assert [table.handle(e, payloads.nova(e)) for e in events] == [
        'removed', 'not_enrolled']
    assert bus.types() == ['novajoin.host.removed']


def test_one_host_removed_and_one_already_gone_is_removed_and_audited_once(
        audited, ipa, ipa_client, bus):
    cloud = host_records.Cloud('default')
    for name in ('vm1.example.test', 'vm1b.example.test'):
        values = cloud.owner_values(VM, 'p')
        ipa_client.call('host_add', name, force=True, userclass=values,
                        description=values[0])
    # the second host goes after the read, before this handler reaches it
    table = audited(then=lambda: ipa.hosts.pop('vm1b.example.test', None))
    assert table.handle('instance.delete.end', payloads.nova(
        'instance.delete.end')) == 'removed'
    assert ipa.hosts == {}
    assert bus.types() == ['novajoin.host.removed']
    assert bus.sent[0][1]['target']['name'] == 'vm1.example.test'
