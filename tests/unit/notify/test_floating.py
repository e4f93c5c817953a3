"""novajoin.notify.floating: the one rule for floating-IP records, settled
against the neutron stand-in (handlers and reconciler tests use it too)."""
from tests.unit.notify import payloads

VM = payloads.NOVA_INSTANCE


def a_of(ipa, name):
    return ipa.dns.get(('example.test.', name), {}).get('arecord', [])


def test_settling_twice_changes_nothing_the_second_time(floating_ips, enroll,
                                                        network, ipa):
    enroll(VM, 'vm1')
    network.attach('192.0.2.10', network.plug(VM))
    assert floating_ips.settle('192.0.2.10')[0] == 'associated'
    ipa.calls.clear()
    outcome, calls = floating_ips.settle('192.0.2.10', dry_run=True)
    assert outcome == 'associated'
    assert [c[0] for c in calls] == ['dnsrecord_add', 'dnsrecord_add']
    assert 'dnsrecord_add' not in ipa.calls and 'dnsrecord_del' not in ipa.calls


def test_an_address_associated_twice_names_no_host(floating_ips, enroll,
                                                   network, ipa, fip_dns):
    # the same address on two external networks, both in use
    fqdn = enroll(VM, 'vm1')
    fip_dns.associate(fqdn, '192.0.2.11')
    first = network.attach('192.0.2.11', network.plug(VM))
    network.fips['other'] = dict(first, id='x', floating_ip_address='192.0.2.11')
    assert floating_ips.settle('192.0.2.11')[0] == 'ambiguous'
    assert a_of(ipa, 'vm1') == []


def test_a_port_of_a_server_that_did_not_enroll_settles_nothing(
        floating_ips, network, ipa):
    assert floating_ips.settle_server(VM) == ('not_enrolled', [])
    assert network.reads == []


def test_settle_server_leaves_addresses_outside_the_floating_ranges(
        floating_ips, enroll, ipa_client, ipa, network):
    enroll(VM, 'vm1')
    ipa_client.call('dnsrecord_add', 'example.test.', 'vm1',
                    arecord=['10.0.0.5', '203.0.113.7'])
    assert floating_ips.settle_server(VM) == ('synced', [])
    assert sorted(a_of(ipa, 'vm1')) == ['10.0.0.5', '203.0.113.7']
    assert 'floating_ips' not in network.reads
