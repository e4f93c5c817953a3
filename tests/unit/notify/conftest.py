"""Fixtures: handlers wired to the in-memory IPA, hosts made by the Enroller,
small stand-ins for nova (``StubServers``) and neutron (``StubNetwork``)."""
import pytest

from novajoin import openstack
from novajoin.hosts import dns as host_dns
from novajoin.hosts import records
from novajoin.hosts import services
from novajoin.hosts import store as hosts
from novajoin.notify import dns
from novajoin.notify import floating
from novajoin.notify import handlers
from novajoin.validation import VendordataRequest
from tests.unit.conftest import PROJECT
from tests.unit.conftest import body
from tests.unit.notify import payloads

REVERSE = '2.0.192.in-addr.arpa.'
CLOUD = 'default'


@pytest.fixture
def ipa(fake_ipa):
    """The FakeIPA directory, with a reverse zone for TEST-NET-1."""
    fake_ipa.ipa.zones.add(REVERSE)
    return fake_ipa.ipa


@pytest.fixture
def zones(ipa_client, ipa):
    return host_dns.Zones(ipa_client, ttl=0)


@pytest.fixture
def host_ops(ipa_client, zones):
    return hosts.Hosts(ipa_client, zones, records.Cloud(CLOUD))


@pytest.fixture
def fip_dns(ipa_client, zones):
    return dns.FloatingDNS(ipa_client, zones, records.Cloud(CLOUD))


class StubServers:
    """nova: which servers exist, and in which status.

    ``status[id]`` is nova's status of a live server (ACTIVE, SOFT_DELETED,
    UNKNOWN...); a server not listed answers 404. ``fail``: raised instead.
    """

    def __init__(self):
        self.status = {}
        self.fail = None
        self.asked = []

    def gone(self, server_id):
        self.asked.append(server_id)
        if self.fail:
            raise self.fail
        status = self.status.get(server_id)
        if status == 'UNKNOWN':
            raise openstack.UpstreamError('cell down')
        return status is None or status == 'DELETED'

    def ids(self):
        return {i for i, s in self.status.items() if s != 'DELETED'}

    def exists(self, server_id):
        return server_id in self.ids()

    def deleted_pages(self, since=lambda: None):
        if self.fail:
            raise self.fail
        yield {i for i, s in self.status.items() if s == 'DELETED'}


@pytest.fixture
def nova():
    return StubServers()


class StubNetwork:
    """neutron as it is now: ports by id, floating IPs by address, external
    CIDRs. ``reads`` lists the look-ups made."""

    def __init__(self):
        self.by_id = {}
        self.fips = {}          # address -> floating IP dict
        self.cidrs = ['192.0.2.0/24']
        self.reads = []
        self.fail = None

    def _read(self, what):
        self.reads.append(what)
        if self.fail:
            raise self.fail

    def port(self, port_id):
        self._read('port')
        return self.by_id.get(port_id)

    def ports(self, port_ids):
        self._read('ports')
        return {i: self.by_id[i] for i in port_ids if i in self.by_id}

    def ports_with_fixed_ip(self, ip):
        self._read('ports_with_fixed_ip')
        return [p for p in self.by_id.values()
                if any(f['ip_address'] == ip for f in p['fixed_ips'])]

    def floating_ips(self, address=None):
        self._read('floating_ips')
        return [dict(f) for _, f in sorted(self.fips.items())
                if address in (None, f['floating_ip_address'])]

    def external_cidrs(self):
        self._read('external_cidrs')
        return list(self.cidrs)

    def plug(self, instance, project=PROJECT, **kwargs):
        """A port neutron has, in ``project``, naming ``instance``."""
        port = payloads.port(instance, project=project, **kwargs)
        self.by_id[port['id']] = port
        return port

    def attach(self, address, port=None):
        """Floating IP ``address`` (created if new) on ``port`` (or none)."""
        old = self.fips.get(address)
        fip = payloads.floatingip(address, port,
                                  fip_id=old['id'] if old else None)
        self.fips[address] = fip
        return fip

    def release(self, address):
        return self.fips.pop(address)


@pytest.fixture
def network():
    return StubNetwork()


@pytest.fixture
def floating_ips(host_ops, fip_dns, network):
    return floating.FloatingIPs(host_ops, fip_dns, network)


@pytest.fixture
def table(host_ops, floating_ips, nova):
    # the conftest PROJECT may ask for TripleO services
    return handlers.Handlers(host_ops, floating=floating_ips, servers=nova,
                             service_rules=services.ServiceRules([PROJECT]))


@pytest.fixture
def enroll(make_enroller, ipa):
    """Enroll an instance as novajoin-server does; returns the host FQDN."""
    enrollers = {}

    def run(instance, hostname, metadata=None, project=None, cloud=None):
        meta = {'ipa_enroll': 'True'}
        meta.update(metadata or {})
        overrides = {'instance-id': instance, 'hostname': hostname,
                     'metadata': meta}
        if project:
            overrides['project-id'] = project
        if cloud not in enrollers:
            enrollers[cloud] = make_enroller(
                cloud=records.Cloud(cloud or CLOUD))
        return enrollers[cloud].handle(VendordataRequest.from_json(
            body(**overrides)))['hostname']
    return run
