"""Which enrolled host a floating IP names: neutron's word, asked now.

The one rule, for the notification handlers and the reconciler alike: the A
record (and PTR) of floating IP X names the host of server S exactly when
neutron, asked now, has X on a port with ``device_owner compute:*`` and
``device_id`` S, in the project IPA records as the owner of S's host. Any
tenant may create a port whose ``device_id`` is another project's instance,
so the device alone proves nothing.

A notification only says *which* address changed. Its port, device and
project are claims, and messages come late, twice, or out of order across
replicas; so every event settles the address to what neutron says at that
moment (``settle``). That is idempotent and needs no ordering: whatever the
last message handled, the records end as neutron has them. Two replicas
settling one address at the same instant may still write in the wrong order;
the reconciler's sweep (``sweep``) puts that right on its next run.

Only records of this cloud's hosts are ever written or removed
(``FloatingDNS``); an address that a server holds as a *fixed* IP (a server
on the external network) keeps its record.
"""
import collections
import logging

from novajoin.notify import dns as dns_mod

LOG = logging.getLogger(__name__)

# IPA reads per batch in the sweep: bounded, whatever the number of hosts.
_SWEEP_BATCH = 100


class NotConfigured(Exception):
    """A look-up needs a service novajoin has no credentials for (permanent)."""


Target = collections.namedtuple('Target', 'fqdn project')


def is_server_port(port):
    return bool(port) and str(port.get('device_owner', '')).startswith('compute:')


def port_project(port):
    return port.get('project_id') or port.get('tenant_id')


class FloatingIPs:
    """Floating-IP records of this cloud's enrolled hosts, kept as neutron
    has them."""

    def __init__(self, hosts, fip_dns, network, ranges=None):
        self.hosts = hosts
        self.fip_dns = fip_dns          # novajoin.notify.dns.FloatingDNS
        self.network = network          # openstack.Network, or None
        self.configured_ranges = ranges or []

    # -- one address -----------------------------------------------------------

    def settle(self, ip, dry_run=False):
        """Make the records of ``ip`` what neutron says now.

        Returns (outcome word, IPA calls made or, with ``dry_run``, planned).
        """
        network = self._network()
        attached = [f for f in network.floating_ips(address=ip)
                    if f.get('port_id')]
        if len(attached) > 1:
            # One address on two external networks, both in use: neutron
            # cannot say which name it is, so no novajoin host keeps it.
            LOG.warning('floating IP %s is associated %d times (several '
                        'external networks); no DNS record for it', ip,
                        len(attached))
            return 'ambiguous', self.fip_dns.disassociate(ip, dry_run=dry_run)
        if attached:
            port = network.port(attached[0]['port_id'])
            target, outcome = self._target(port, ip)
            if target is not None:
                return 'associated', self.fip_dns.associate(target.fqdn, ip,
                                                            dry_run=dry_run)
            return outcome, self.fip_dns.disassociate(ip, dry_run=dry_run)
        # No floating IP holds it. A server on the external network may hold
        # it as a fixed IP: its own record of it stays.
        keep = None
        for port in network.ports_with_fixed_ip(ip):
            target, _ = self._target(port, ip, quiet=True)
            if target is not None:
                keep = target.fqdn
        calls = self.fip_dns.disassociate(ip, keep=keep, dry_run=dry_run)
        return ('released' if calls else 'no_records'), calls

    def settle_server(self, instance_id, dry_run=False):
        """Settle every floating-range address the instance's hosts answer
        for (a port of it is gone: neutron freed its floating IPs silently).
        Returns (outcome, calls)."""
        owned = self.hosts.owned_by(instance_id)
        if not owned:
            return 'not_enrolled', []
        ranges = self.ranges()
        fqdns = [h['fqdn'][0] for h in owned]
        values = self.fip_dns.a_values(fqdns)
        calls = []
        for ip in sorted({v for f in fqdns for v in values.get(f, [])
                          if dns_mod.in_ranges(v, ranges)}):
            calls += self.settle(ip, dry_run=dry_run)[1]
        return 'synced', calls

    def _target(self, port, ip, quiet=False):
        """(Target, None) when ``port`` gives ``ip`` to an enrolled host of
        this cloud under the rule; else (None, why)."""
        if not is_server_port(port):
            return None, 'not_a_server'
        server = port.get('device_id')
        owned = self.hosts.owned_by(server) if server else []
        if not owned:
            return None, 'not_enrolled'
        owner = self.hosts.cloud.owner(owned[0]).project
        if port_project(port) != owner:
            if not quiet:
                LOG.warning('SUSPICIOUS: floating IP %s is on a port of project '
                            '%s whose device_id is instance %s of project %s; '
                            'no DNS record for %s', ip, port_project(port) or '?',
                            server, owner, owned[0]['fqdn'][0])
            return None, 'project_mismatch'
        return Target(owned[0]['fqdn'][0], owner), None

    # -- every address (the reconciler) ------------------------------------------

    def sweep(self, live, dry_run=False):
        """Find the addresses whose records differ from neutron's view for
        the ``live`` hosts (``[(host entry, instance id)]``) and settle each.

        neutron's whole list is read once (paged); each difference is then
        confirmed by ``settle``, with a fresh read, before anything changes.
        Yields (address, outcome, calls).
        """
        ranges = self.ranges()
        if not ranges:
            return
        cloud = self.hosts.cloud
        by_instance = {}
        for host, instance in live:
            by_instance[instance] = Target(host['fqdn'][0].lower(),
                                           cloud.owner(host).project)
        network = self._network()
        fips = [f for f in network.floating_ips()
                if f.get('port_id')
                and dns_mod.in_ranges(f.get('floating_ip_address'), ranges)
                and _may_be_on(f, by_instance)]
        ports = network.ports([f['port_id'] for f in fips])
        wanted = collections.defaultdict(set)
        for fip in fips:
            port = ports.get(fip['port_id'])
            target = by_instance.get(port.get('device_id')) if port else None
            if (target is not None and is_server_port(port)
                    and port_project(port) == target.project):
                wanted[target.fqdn].add(fip['floating_ip_address'])
        names = sorted(t.fqdn for t in by_instance.values())
        suspects = set()
        for start in range(0, len(names), _SWEEP_BATCH):
            chunk = names[start:start + _SWEEP_BATCH]
            have = self.fip_dns.a_values(chunk)
            for fqdn in chunk:
                held = {v for v in have.get(fqdn, [])
                        if dns_mod.in_ranges(v, ranges)}
                suspects |= held ^ wanted.get(fqdn, set())
        for ip in sorted(suspects):
            outcome, calls = self.settle(ip, dry_run=dry_run)
            yield ip, outcome, calls

    # -- neutron ----------------------------------------------------------------

    def ranges(self):
        """Where floating IPs come from: [notify] floating_ip_ranges, else
        the subnets of neutron's external networks."""
        if self.configured_ranges:
            return self.configured_ranges
        return dns_mod.parse_ranges(self._network().external_cidrs())

    def _network(self):
        if self.network is None:
            raise NotConfigured('floating-IP records need neutron: set '
                                '[service_credentials]')
        return self.network


def _may_be_on(fip, by_instance):
    """Whether the floating IP may be on one of the ``by_instance`` servers.

    ``port_details`` (neutron's own view of the port, fip-port-details
    extension) narrows the ports to read; without it every port is read.
    """
    details = fip.get('port_details')
    if not isinstance(details, dict) or 'device_id' not in details:
        return True
    return details['device_id'] in by_instance
