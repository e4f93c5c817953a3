"""Fixtures: handlers wired to the in-memory IPA, hosts made by the Enroller."""
import pytest

from novajoin.notify import dns
from novajoin.notify import handlers
from novajoin.notify import hosts
from novajoin.validation import VendordataRequest
from tests.unit.conftest import body

REVERSE = '2.0.192.in-addr.arpa.'


@pytest.fixture
def ipa(fake_ipa):
    """The FakeIPA directory, with a reverse zone for TEST-NET-1."""
    fake_ipa.ipa.zones.add(REVERSE)
    return fake_ipa.ipa


@pytest.fixture
def zones(ipa_client, ipa):
    return dns.Zones(ipa_client, ttl=0)


@pytest.fixture
def host_ops(ipa_client, zones):
    return hosts.Hosts(ipa_client, zones)


@pytest.fixture
def fip_dns(ipa_client, zones):
    return dns.FloatingDNS(ipa_client, zones)


class StubNetwork:
    """neutron: ports by id, addresses by server, external CIDRs."""

    def __init__(self):
        self.ports = {}
        self.addresses = {}
        self.cidrs = ['192.0.2.0/24']

    def port(self, port_id):
        return self.ports.get(port_id)

    def server_addresses(self, server_id):
        return set(self.addresses.get(server_id, ()))

    def external_cidrs(self):
        return list(self.cidrs)


@pytest.fixture
def network():
    return StubNetwork()


@pytest.fixture
def table(host_ops, fip_dns, network):
    return handlers.Handlers(host_ops, fip_dns=fip_dns, network=network)


@pytest.fixture
def enroll(make_enroller, ipa):
    """Enroll an instance as novajoin-server does; returns the host FQDN."""
    enroller = make_enroller()

    def run(instance, hostname, metadata=None, project=None):
        meta = {'ipa_enroll': 'True'}
        meta.update(metadata or {})
        overrides = {'instance-id': instance, 'hostname': hostname,
                     'metadata': meta}
        if project:
            overrides['project-id'] = project
        return enroller.handle(VendordataRequest.from_json(body(**overrides)))[
            'hostname']
    return run
