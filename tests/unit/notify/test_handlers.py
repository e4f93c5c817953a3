"""The handler table against the in-memory IPA, with nova's own payloads.

nova and neutron are small stand-ins (conftest): every message is a claim that
is checked with them before IPA changes.
"""
import json
import logging

import pytest

from novajoin import openstack
from novajoin.notify import handlers
from novajoin.notify import listener
from tests.unit.notify import payloads
from tests.unit.notify.conftest import REVERSE

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


def test_delete_without_nova_removes_nothing_and_is_dropped(host_ops, fip_dns,
                                                            ipa, enroll):
    enroll(VM, 'vm1')
    table = handlers.Handlers(host_ops, fip_dns=fip_dns, servers=None)
    with pytest.raises(handlers.NotConfigured) as exc:
        table.handle('instance.delete.end', payloads.nova('instance.delete.end'))
    assert not listener.is_transient(exc.value)
    assert 'vm1.example.test' in ipa.hosts


def test_delete_without_nova_removes_the_host_only_when_the_operator_opts_in(
        host_ops, fip_dns, ipa, enroll):
    enroll(VM, 'vm1')
    table = handlers.Handlers(host_ops, fip_dns=fip_dns, servers=None,
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

def a_of(ipa, name):
    return ipa.dns.get(('example.test.', name), {}).get('arecord', [])


def ptr_of(ipa, last_octet):
    return ipa.dns.get((REVERSE, last_octet), {}).get('ptrrecord', [])


def test_fip_associate_and_disassociate(table, ipa, enroll, network):
    enroll(VM, 'vm1')
    port = network.plug(VM)
    fip = payloads.floatingip('192.0.2.10', port)
    assert table.handle('floatingip.update.end',
                        payloads.floatingip_update_end(fip)) == 'associated'
    assert a_of(ipa, 'vm1') == ['192.0.2.10']
    assert ptr_of(ipa, '10') == ['vm1.example.test.']

    fip = payloads.floatingip('192.0.2.10', None, fip_id=fip['id'])
    assert table.handle('floatingip.update.end',
                        payloads.floatingip_update_end(fip)) == 'released'
    assert a_of(ipa, 'vm1') == [] and ptr_of(ipa, '10') == []


def test_fip_created_on_a_port_gets_its_record(table, ipa, enroll, network):
    # `openstack floating ip create --port P`: neutron sends create.end only
    enroll(VM, 'vm1')
    fip = payloads.floatingip('192.0.2.11', network.plug(VM))
    assert table.handle('floatingip.create.end',
                        payloads.floatingip_update_end(fip)) == 'associated'
    assert a_of(ipa, 'vm1') == ['192.0.2.11']


def test_fip_moved_to_another_server(table, ipa, enroll, network):
    enroll(VM, 'vm1')
    enroll(OTHER, 'vm2')
    fip = payloads.floatingip('192.0.2.10', network.plug(VM))
    table.handle('floatingip.update.end', payloads.floatingip_update_end(fip))
    moved = payloads.floatingip('192.0.2.10', network.plug(OTHER), fip_id=fip['id'])
    table.handle('floatingip.update.end', payloads.floatingip_update_end(moved))
    assert a_of(ipa, 'vm1') == [] and a_of(ipa, 'vm2') == ['192.0.2.10']
    assert ptr_of(ipa, '10') == ['vm2.example.test.']


def test_fip_of_a_server_that_did_not_enroll_gets_no_record(table, ipa,
                                                            network):
    fip = payloads.floatingip('192.0.2.10', network.plug(VM))
    assert table.handle('floatingip.update.end',
                        payloads.floatingip_update_end(fip)) == 'not_enrolled'
    assert records(ipa) == {}


def test_fip_records_of_other_names_stay(table, ipa, enroll, ipa_client):
    enroll(VM, 'vm1')
    ipa_client.call('dnsrecord_add', 'example.test.', 'www', arecord=['192.0.2.10'])
    table.handle('floatingip.delete.end', payloads.floatingip_delete_end(
        payloads.floatingip('192.0.2.10')))
    assert a_of(ipa, 'www') == ['192.0.2.10']


def test_fip_without_port_details_asks_neutron(table, ipa, enroll, network):
    enroll(VM, 'vm1')
    fip = payloads.floatingip('192.0.2.11', network.plug(VM))
    fip['port_details'] = None
    table.handle('floatingip.update.end', payloads.floatingip_update_end(fip))
    assert a_of(ipa, 'vm1') == ['192.0.2.11']


def test_fip_on_a_port_of_another_project_gets_no_record(table, ipa, enroll,
                                                         network, caplog):
    # A tenant may create a port whose device_id is someone else's instance.
    enroll(VM, 'vm1')
    port = network.plug(VM, project='attacker-project')
    fip = payloads.floatingip('192.0.2.13', port, project='attacker-project')
    with caplog.at_level(logging.WARNING):
        outcome = table.handle('floatingip.update.end',
                               payloads.floatingip_update_end(fip))
    assert outcome == 'project_mismatch'
    assert records(ipa) == {}
    assert 'attacker-project' in caplog.text


def test_fip_payload_port_details_are_not_believed_over_neutron(table, ipa,
                                                                enroll, network):
    enroll(VM, 'vm1')
    real = network.plug(OTHER)                 # neutron: the port is OTHER's
    claimed = dict(real, device_id=VM)         # the payload says it is VM's
    fip = payloads.floatingip('192.0.2.14', claimed)
    assert table.handle('floatingip.update.end',
                        payloads.floatingip_update_end(fip)) == 'not_enrolled'
    assert records(ipa) == {}


def test_fip_on_a_port_neutron_does_not_know_gets_no_record(table, ipa, enroll):
    enroll(VM, 'vm1')
    fip = payloads.floatingip('192.0.2.15', payloads.port(VM))  # not in neutron
    assert table.handle('floatingip.update.end',
                        payloads.floatingip_update_end(fip)) == 'not_enrolled'
    assert records(ipa) == {}


def test_fip_association_without_neutron_is_not_configured(host_ops, fip_dns,
                                                           ipa, enroll, nova):
    enroll(VM, 'vm1')
    table = handlers.Handlers(host_ops, fip_dns=fip_dns, network=None,
                              servers=nova)
    fip = payloads.floatingip('192.0.2.16', payloads.port(VM))
    with pytest.raises(handlers.NotConfigured):
        table.handle('floatingip.update.end', payloads.floatingip_update_end(fip))
    assert records(ipa) == {}


def test_fip_delete_removes_records(table, ipa, enroll, network):
    enroll(VM, 'vm1')
    port = network.plug(VM)
    fip = payloads.floatingip('192.0.2.12', port)
    table.handle('floatingip.update.end', payloads.floatingip_update_end(fip))
    assert table.handle('floatingip.delete.end',
                        payloads.floatingip_delete_end(fip)) == 'released'
    assert a_of(ipa, 'vm1') == [] and ptr_of(ipa, '12') == []


def test_old_neutron_fip_delete_without_address_is_permanent(table):
    with pytest.raises(handlers.BadPayload):
        table.handle('floatingip.delete.end', {'floatingip_id': 'x'})


def test_port_delete_drops_floating_ips_the_server_lost(table, ipa, enroll,
                                                        fip_dns, network,
                                                        ipa_client):
    fqdn = enroll(VM, 'vm1')
    fip_dns.associate(fqdn, '192.0.2.20')
    fip_dns.associate(fqdn, '192.0.2.21')
    ipa_client.call('dnsrecord_add', 'example.test.', 'vm1', arecord=['10.0.0.5'])
    network.addresses[VM] = {'10.0.0.5', '192.0.2.21'}   # .20 was on the port
    assert table.handle('port.delete.end', payloads.port_delete_end(
        payloads.port(VM))) == 'synced'
    assert sorted(a_of(ipa, 'vm1')) == ['10.0.0.5', '192.0.2.21']
    assert ptr_of(ipa, '20') == [] and ptr_of(ipa, '21') == ['vm1.example.test.']


def test_port_delete_of_a_router_port_is_ignored(table, ipa):
    ipa.calls.clear()
    port = payloads.port('router-id', owner='network:router_interface')
    assert table.handle('port.delete.end',
                        payloads.port_delete_end(port)) == 'not_a_server'
    assert ipa.calls == []


def test_port_delete_without_neutron_is_not_configured(host_ops, fip_dns, enroll):
    enroll(VM, 'vm1')
    table = handlers.Handlers(host_ops, fip_dns=fip_dns, network=None)
    with pytest.raises(handlers.NotConfigured):
        table.handle('port.delete.end', payloads.port_delete_end(payloads.port(VM)))


def test_nova_network_floating_ip_events_are_not_acted_on(table, ipa, enroll):
    # nova-network is gone since Rocky; only the payload would vouch for them.
    enroll(VM, 'vm1')
    ipa.calls.clear()
    assert table.handle('network.floating_ip.associate', {
        'instance_id': VM, 'floating_ip': '192.0.2.30'}) == 'ignored'
    assert ipa.calls == [] and records(ipa) == {}


def test_fip_dns_off(host_ops, ipa):
    table = handlers.Handlers(host_ops, fip_dns=None)
    ipa.calls.clear()
    fip = payloads.floatingip('192.0.2.10', payloads.port(VM))
    assert table.handle('floatingip.update.end',
                        payloads.floatingip_update_end(fip)) == 'dns_off'
    assert ipa.calls == []


def test_update_from_a_project_without_the_service_privilege_changes_nothing(
        host_ops, fip_dns, network, ipa, enroll):
    from novajoin.hosts import services
    strict = handlers.Handlers(host_ops, fip_dns=fip_dns, network=network,
                               service_rules=services.ServiceRules(['undercloud']))
    enroll(VM, 'vm1')
    before = (sorted(ipa.hosts), sorted(ipa.services))
    with pytest.raises(handlers.BadPayload, match='service_projects'):
        strict.handle('instance.update', payloads.nova('instance.update',
                                                       metadata=HTTP))
    assert (sorted(ipa.hosts), sorted(ipa.services)) == before


def test_update_judges_the_project_recorded_in_ipa_not_the_payload(
        host_ops, fip_dns, network, ipa, enroll):
    from novajoin.hosts import services
    # the payload claims the privileged project; IPA records the host's own
    strict = handlers.Handlers(host_ops, fip_dns=fip_dns, network=network,
                               service_rules=services.ServiceRules(['undercloud']))
    enroll(VM, 'vm1')
    payload = payloads.nova('instance.update', metadata=HTTP)
    data = payload.get('nova_object.data', payload)
    data['tenant_id'] = 'undercloud'
    with pytest.raises(handlers.BadPayload, match='service_projects'):
        strict.handle('instance.update', payload)
    assert 'vm1.internalapi.example.test' not in ipa.hosts
