"""What novajoin does for each notification: one table, one small handler each.

A handler returns a short outcome word (for the log and the metrics) or raises:
- ``BadPayload`` (or another permanent error): logged, the message is acked;
- a transient error (``errors.IPAError.transient``, ``openstack.UpstreamError``):
  the listener retries the message.

Decisions come from the payload and from IPA's ownership record only (never
from Glance): a host is removed only when IPA says it belongs to the instance
in the payload.
"""
import collections
import logging
import time

from novajoin import services as services_mod
from novajoin import validation
from novajoin.cache import BoundedMap
from novajoin.notify import dns as dns_mod
from novajoin.notify import managed

LOG = logging.getLogger(__name__)

# Service keys of server metadata (see novajoin.services).
_SERVICE_KEYS = ('compact_services', 'compact_service_', 'managed_service_')
# An instance in these states has no host to keep in line (yet, or any more).
_SKIP_UPDATE_STATES = frozenset(['building', 'deleted'])
_SKIP_TASK_STATES = frozenset(['deleting'])


class BadPayload(ValueError):
    """The notification cannot be acted on as it is (permanent)."""


class NotConfigured(Exception):
    """A look-up needs a service novajoin has no credentials for (permanent)."""


Instance = collections.namedtuple('Instance', 'uuid project hostname '
                                  'metadata state task_state')


def instance_from(payload):
    """The instance in a nova payload, versioned or not."""
    data = payload.get('nova_object.data') if isinstance(payload, dict) else None
    try:
        if data is not None:    # versioned: InstanceActionPayload & co
            return Instance(data['uuid'], data.get('tenant_id'),
                            data.get('host_name'), data.get('metadata') or {},
                            data.get('state'), data.get('task_state'))
        return Instance(payload['instance_id'], payload.get('tenant_id'),
                        payload.get('hostname'), payload.get('metadata') or {},
                        payload.get('state'),
                        payload.get('new_task_state',
                                    payload.get('state_description')))
    except (KeyError, TypeError) as exc:
        raise BadPayload('no instance id in the payload (%s)' % exc) from exc


def _field(payload, *path):
    value = payload
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise BadPayload('payload has no %s' % '.'.join(path))
        value = value[key]
    return value


class Handlers:
    """The table of event types and their handlers."""

    def __init__(self, hosts, fip_dns=None, network=None, floating_ranges=None,
                 update_cache_size=10000, update_cache_ttl=120.0,
                 clock=time.monotonic):
        self.hosts = hosts
        self.fip_dns = fip_dns            # None: floating-IP DNS is off
        self.network = network            # neutron look-ups, or None
        self.floating_ranges = floating_ranges
        # instance -> (service metadata, until): nova sends several updates
        # per action; only a change of the service keys needs IPA. Kept
        # briefly, because another replica may have seen later changes.
        self._seen = BoundedMap(update_cache_size, update_cache_ttl, clock)
        self.table = {
            'compute.instance.delete.end': self.instance_deleted,
            'instance.delete.end': self.instance_deleted,
            'compute.instance.update': self.instance_updated,
            'instance.update': self.instance_updated,
            'floatingip.update.end': self.floatingip_updated,
            'floatingip.delete.end': self.floatingip_deleted,
            'port.delete.end': self.port_deleted,
            'network.floating_ip.associate': self.nova_fip_associated,
            'network.floating_ip.disassociate': self.nova_fip_disassociated,
        }

    def handle(self, event_type, payload):
        handler = self.table.get(event_type)
        if handler is None:
            return 'ignored'
        if not isinstance(payload, dict):
            raise BadPayload('payload is a %s, not an object'
                             % type(payload).__name__)
        return handler(payload)

    # -- nova: instances ---------------------------------------------------

    def instance_deleted(self, payload):
        inst = instance_from(payload)
        owned = self.hosts.owned_by(inst.uuid)
        for host in owned:
            fqdn = host['fqdn'][0]
            self.hosts.remove(fqdn, entry=host)
            LOG.info('instance %s deleted: removed IPA host %s', inst.uuid, fqdn)
        self._forget(inst.uuid)
        return 'removed' if owned else 'not_enrolled'

    def instance_updated(self, payload):
        inst = instance_from(payload)
        if (inst.state in _SKIP_UPDATE_STATES
                or inst.task_state in _SKIP_TASK_STATES):
            return 'skipped'
        wanted_keys = {k: v for k, v in inst.metadata.items()
                       if k.startswith(_SERVICE_KEYS)}
        signature = tuple(sorted(wanted_keys.items()))
        if self._seen_before(inst.uuid, signature):
            return 'unchanged'
        owned = self.hosts.owned_by(inst.uuid)
        for host in owned:
            fqdn = host['fqdn'][0]
            short, _, domain = fqdn.partition('.')
            try:
                wanted = services_mod.requested_services(wanted_keys, short,
                                                         domain)
                calls = managed.sync(self.hosts, fqdn, wanted)
            except (validation.BadRequest, managed.ServiceConflict) as exc:
                raise BadPayload('services of %s: %s' % (fqdn, exc)) from exc
            if calls:
                LOG.info('instance %s updated: %d IPA changes to the services '
                         'of %s', inst.uuid, len(calls), fqdn)
        self._remember(inst.uuid, signature)
        return 'synced' if owned else 'not_enrolled'

    # -- neutron and nova-network: floating IPs ------------------------------

    def floatingip_updated(self, payload):
        fip = _field(payload, 'floatingip')
        ip = _field(fip, 'floating_ip_address')
        if not self.fip_dns:
            return 'dns_off'
        if not fip.get('port_id'):
            return self._released(ip)
        server = self._server_of_port(fip['port_id'], fip.get('port_details'))
        return self._associated(server, ip)

    def floatingip_deleted(self, payload):
        fip = payload.get('floatingip')
        if not isinstance(fip, dict) or not fip.get('floating_ip_address'):
            # Neutron before Pike sent only the id: the reconciler cleans up.
            raise BadPayload('floatingip.delete.end without the address')
        if not self.fip_dns:
            return 'dns_off'
        return self._released(fip['floating_ip_address'])

    def port_deleted(self, payload):
        port = payload.get('port')
        if not isinstance(port, dict):
            raise BadPayload('port.delete.end without the port')
        if not str(port.get('device_owner', '')).startswith('compute:'):
            return 'not_a_server'
        if not self.fip_dns:
            return 'dns_off'
        owned = self.hosts.owned_by(port.get('device_id', ''))
        if not owned:
            return 'not_enrolled'
        # Deleting a port drops its floating IPs without a floatingip event:
        # keep only the addresses neutron still gives the server.
        keep = self._require_network().server_addresses(port['device_id'])
        ranges = self._ranges()
        for host in owned:
            fqdn = host['fqdn'][0]
            values = self.fip_dns.a_values([fqdn]).get(fqdn, [])
            stale = {v for v in values
                     if dns_mod.in_ranges(v, ranges) and v not in keep}
            self.fip_dns.remove_values(fqdn, stale)
        return 'synced'

    def nova_fip_associated(self, payload):
        if not self.fip_dns:
            return 'dns_off'
        return self._associated(_field(payload, 'instance_id'),
                                _field(payload, 'floating_ip'))

    def nova_fip_disassociated(self, payload):
        if not self.fip_dns:
            return 'dns_off'
        return self._released(_field(payload, 'floating_ip'))

    # -- helpers -------------------------------------------------------------

    def _associated(self, server, ip):
        owned = self.hosts.owned_by(server) if server else []
        if not owned:
            # Not enrolled: no record for it, and none left for a former owner.
            self.fip_dns.disassociate(ip)
            return 'not_enrolled'
        self.fip_dns.associate(owned[0]['fqdn'][0], ip)
        return 'associated'

    def _released(self, ip):
        return 'released' if self.fip_dns.disassociate(ip) else 'no_records'

    def _server_of_port(self, port_id, details):
        if isinstance(details, dict) and 'device_id' in details:
            port = details              # neutron's fip-port-details extension
        else:
            port = self._require_network().port(port_id) or {}
        if str(port.get('device_owner', '')).startswith('compute:'):
            return port.get('device_id')
        return None

    def _require_network(self):
        if self.network is None:
            raise NotConfigured('this event needs neutron: set '
                                '[service_credentials]')
        return self.network

    def _ranges(self):
        if self.floating_ranges:
            return self.floating_ranges
        return dns_mod.parse_ranges(self._require_network().external_cidrs())

    def _seen_before(self, instance_id, signature):
        return self._seen.get(instance_id) == signature

    def _remember(self, instance_id, signature):
        self._seen.put(instance_id, signature)

    def _forget(self, instance_id):
        self._seen.pop(instance_id)
