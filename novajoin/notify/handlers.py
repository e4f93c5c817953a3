"""What novajoin does for each notification: one table, one small handler each.

A handler returns a short outcome word (for the log and the metrics) or raises:
- ``BadPayload`` (or another permanent error): logged, the message is acked;
- a transient error (``errors.IPAError.transient``, ``openstack.UpstreamError``):
  the listener retries the message.

A message on the bus is a claim, checked before anything is written or
removed (never with Glance):
- a host is removed on ``delete.end`` only when IPA records it as this
  cloud's host of that instance AND nova confirms the instance is gone (404
  or DELETED; SOFT_DELETED can be restored). A delete for a live instance is
  logged as suspicious and changes nothing. Without nova, deletes remove
  nothing unless ``[notify] trust_delete_notifications`` says otherwise;
- a host is reset for a new guest on ``rebuild.end`` only for a rebuild nova
  records among the instance's actions, and only once per rebuild
  (``novajoin.hosts.rearm``). Evacuate, resize, shelve and unshelve keep
  the guest's disk, and with it its keys: nothing to do;
- a floating-IP event only names an address: its records are settled to what
  neutron says now (``novajoin.notify.floating``), written only for a port
  whose project is the project IPA records as the host's owner (any tenant may
  create a port whose ``device_id`` is another project's instance).
nova-network's ``network.floating_ip.*`` events are not handled: nova-network
left nova in Rocky, and nothing but the payload would vouch for them.
"""
import collections
import logging
import time

from novajoin import audit as audit_mod
from novajoin import validation
from novajoin.cache import BoundedMap
from novajoin.hosts import errors as host_errors
from novajoin.hosts import rearm as rearm_mod
from novajoin.hosts import services as services_mod
from novajoin.hosts import store
from novajoin.notify import floating as floating_mod
from novajoin.notify.floating import NotConfigured  # noqa: F401 - re-exported

LOG = logging.getLogger(__name__)

# Service keys of server metadata (see novajoin.services).
_SERVICE_KEYS = ('compact_services', 'compact_service_', 'managed_service_')
# An instance in these states has no host to keep in line (yet, or any more).
_SKIP_UPDATE_STATES = frozenset(['building', 'deleted'])
_SKIP_TASK_STATES = frozenset(['deleting'])
# Handlers that log who sent the message when it looks forged.
_WANTS_PUBLISHER = frozenset(['compute.instance.delete.end',
                              'instance.delete.end'])


class BadPayload(ValueError):
    """The notification cannot be acted on as it is (permanent)."""


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


def _note_rename(inst, short, fqdn):
    """nova renamed the instance (API >= 2.90): its IPA host keeps the name
    it enrolled under (its keys, certificates and DNS are that name's)."""
    try:
        label = validation.check_hostname(inst.hostname).partition('.')[0]
    except validation.BadRequest:
        return
    if label != short:
        LOG.warning('instance %s is now called %s in nova; its IPA host stays '
                    '%s (novajoin does not rename hosts; a host made for the '
                    'new name is removed by the reconciler)', inst.uuid, label,
                    fqdn)


def _compute_host(payload):
    """The compute host the payload names (a claim, for the log only)."""
    data = payload.get('nova_object.data', payload)
    host = data.get('host') if isinstance(data, dict) else None
    return host if isinstance(host, str) else None


def _field(payload, *path):
    value = payload
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise BadPayload('payload has no %s' % '.'.join(path))
        value = value[key]
    return value


class Handlers:
    """The table of event types and their handlers."""

    def __init__(self, hosts, floating=None, update_cache_size=10000,
                 update_cache_ttl=120.0,
                 clock=time.monotonic, servers=None, service_rules=None,
                 trust_deletes=False, audit=None, otps=None):
        self.hosts = hosts
        self.otps = otps                  # OTP source: re-arms rebuilt hosts
        self.audit = audit or audit_mod.Auditor(service='novajoin-notify')
        self.servers = servers            # nova look-ups, or None
        # Without nova: remove hosts on the bus's word alone (opt-in only).
        self.trust_deletes = trust_deletes
        if servers is None and not trust_deletes:
            LOG.error('no [service_credentials]: nova cannot confirm deletes, '
                      'so delete notifications will remove NO IPA host (set '
                      '[service_credentials], or [notify] '
                      'trust_delete_notifications = true to act on the bus '
                      'alone)')
        elif servers is None:
            LOG.warning('[notify] trust_delete_notifications: IPA hosts are '
                        'removed on the word of the message bus, unchecked')
        self.service_rules = service_rules or services_mod.ServiceRules()
        self.floating = floating          # None: floating-IP DNS is off
        # instance -> (service metadata, until): nova sends several updates
        # per action; only a change of the service keys needs IPA. Kept
        # briefly, because another replica may have seen later changes.
        self._seen = BoundedMap(update_cache_size, update_cache_ttl, clock)
        self.table = {
            'compute.instance.delete.end': self.instance_deleted,
            'instance.delete.end': self.instance_deleted,
            'compute.instance.rebuild.end': self.instance_rebuilt,
            'instance.rebuild.end': self.instance_rebuilt,
            'compute.instance.update': self.instance_updated,
            'instance.update': self.instance_updated,
            # A floating IP created with a port is associated from the start:
            # neutron sends create.end only, never update.end.
            'floatingip.create.end': self.floatingip_changed,
            'floatingip.update.end': self.floatingip_changed,
            'floatingip.delete.end': self.floatingip_deleted,
            'port.delete.end': self.port_deleted,
        }

    def handle(self, event_type, payload, publisher=None):
        """Run the handler of ``event_type``; ``publisher``: the message's
        publisher_id, named in the log when a claim does not hold."""
        handler = self.table.get(event_type)
        if handler is None:
            return 'ignored'
        if not isinstance(payload, dict):
            raise BadPayload('payload is a %s, not an object'
                             % type(payload).__name__)
        if event_type in _WANTS_PUBLISHER:
            return handler(payload, publisher=publisher)
        return handler(payload)

    # -- nova: instances ---------------------------------------------------

    def instance_deleted(self, payload, publisher=None):
        inst = instance_from(payload)
        # IPA first: most deleted servers never enrolled, and those cost no
        # nova call. owned_by only ever finds this cloud's hosts.
        owned = self.hosts.owned_by(inst.uuid, for_removal=True)
        if not owned:
            self._forget(inst.uuid)
            return 'not_enrolled'
        if self.servers is not None:
            # nova destroys the instance before it sends delete.end, so a
            # live instance here means the message is not nova's word.
            if not self.servers.gone(inst.uuid):
                LOG.warning('SUSPICIOUS: delete notification for instance %s '
                            '(from %s, compute host %s) but nova still has it; '
                            'IPA host %s kept', inst.uuid, publisher or '?',
                            _compute_host(payload) or '?',
                            ', '.join(h['fqdn'][0] for h in owned))
                self.audit.suspicious(inst.uuid, publisher,
                                      [h['fqdn'][0] for h in owned])
                return 'instance_alive'
        elif not self.trust_deletes:
            raise NotConfigured('nova cannot confirm that instance %s is gone: '
                                'set [service_credentials] (or [notify] '
                                'trust_delete_notifications)' % inst.uuid)
        outcome = 'already_removed'
        for host in owned:
            fqdn = host['fqdn'][0]
            if not store.deleted(self.hosts.remove(fqdn, entry=host), fqdn):
                LOG.info('instance %s deleted: IPA host %s was already removed '
                         '(by another handler of the same delete, or by an '
                         'earlier attempt at this one)', inst.uuid, fqdn)
                continue
            LOG.info('instance %s deleted: removed IPA host %s', inst.uuid, fqdn)
            self.audit.host_removed(fqdn, inst.uuid, publisher)
            outcome = 'removed'
        self._forget(inst.uuid)
        return outcome

    def instance_rebuilt(self, payload):
        inst = instance_from(payload)
        owned = self.hosts.owned_by(inst.uuid)
        if not owned:
            return 'not_enrolled'
        if self.servers is None or self.otps is None:
            why = ('nova cannot confirm it ([service_credentials])'
                   if self.servers is None else 'no [join] otp_secret')
            raise NotConfigured('instance %s was rebuilt, but its IPA host is '
                                'not reset: %s' % (inst.uuid, why))
        actions = self.servers.actions(inst.uuid)
        rebuilds = [a for a in actions or () if a['action'] == 'rebuild'
                    and a['request_id'] and a['started'] is not None]
        names = [h['fqdn'][0] for h in owned]
        fqdns = ', '.join(names)
        if not rebuilds:
            if actions and actions[0]['action'] == 'evacuate':
                # nova rebuilds an evacuated instance on another host; its
                # disk (shared storage, volume) keeps the guest's keys
                LOG.info('instance %s was evacuated: IPA host %s unchanged',
                         inst.uuid, fqdns)
                return 'evacuated'
            LOG.warning('SUSPICIOUS: rebuild notification for instance %s, but '
                        'nova records no rebuild of it; IPA host %s unchanged',
                        inst.uuid, fqdns)
            self.audit.suspicious(inst.uuid, None, names,
                                  detail='nova records no rebuild; host unchanged',
                                  action=audit_mod.taxonomy.ACTION_UPDATE)
            return 'not_rebuilt'
        rebuild = rearm_mod.Rebuild(rebuilds[0]['request_id'],
                                    rebuilds[0]['started'])
        outcome = 'unchanged'
        for host in owned:
            fqdn = host['fqdn'][0]
            outcome = rearm_mod.rearm(self.hosts.ipa, self.otps, host,
                                      inst.uuid, rebuild)
            if outcome == 'reset':
                LOG.info('instance %s rebuilt (%s): IPA host %s reset, a new '
                         'OTP armed for the new guest', inst.uuid,
                         rebuild.request_id, fqdn)
                self.audit.host_reset(fqdn, inst.uuid, rebuild.request_id)
            elif outcome == 'disabled':
                LOG.warning('instance %s rebuilt, but IPA host %s was disabled '
                            'by an administrator: not armed again', inst.uuid,
                            fqdn)
            else:
                LOG.info('instance %s rebuilt (%s): IPA host %s %s', inst.uuid,
                         rebuild.request_id, fqdn, rearm_mod.SAID[outcome])
        return outcome

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
            _note_rename(inst, short, fqdn)
            # The project recorded in IPA, not the payload's claim.
            project = self.hosts.cloud.owner(host).project
            try:
                wanted = services_mod.requested_services(wanted_keys, short,
                                                         domain)
                self.service_rules.check(project, fqdn, wanted)
                calls = self.hosts.sync(fqdn, project, wanted)
            except (validation.BadRequest, host_errors.Refused,
                    host_errors.Conflict) as exc:
                LOG.warning('instance %s: services of %s not changed: %s',
                            inst.uuid, fqdn, exc)
                raise BadPayload('services of %s: %s' % (fqdn, exc)) from exc
            if calls:
                LOG.info('instance %s updated: %d IPA changes to the services '
                         'of %s', inst.uuid, len(calls), fqdn)
        self._remember(inst.uuid, signature)
        return 'synced' if owned else 'not_enrolled'

    # -- neutron: floating IPs ------------------------------------------------
    # Each event names an address; novajoin.notify.floating settles it to
    # what neutron says now (the rest of the payload is only a claim).

    def floatingip_changed(self, payload):
        fip = _field(payload, 'floatingip')
        ip = _field(fip, 'floating_ip_address')
        if not isinstance(ip, str):
            raise BadPayload('floating_ip_address is not a string')
        if not self.floating:
            return 'dns_off'
        return self.floating.settle(ip)[0]

    def floatingip_deleted(self, payload):
        fip = payload.get('floatingip')
        if not isinstance(fip, dict) or not fip.get('floating_ip_address'):
            # Neutron before Pike sent only the id: the reconciler cleans up.
            raise BadPayload('floatingip.delete.end without the address')
        return self.floatingip_changed(payload)

    def port_deleted(self, payload):
        port = payload.get('port')
        if not isinstance(port, dict):
            raise BadPayload('port.delete.end without the port')
        if not floating_mod.is_server_port(port):
            return 'not_a_server'
        if not self.floating:
            return 'dns_off'
        # Deleting a port frees its floating IPs without a floatingip event.
        return self.floating.settle_server(str(port.get('device_id', '')))[0]

    # -- helpers -------------------------------------------------------------

    def _seen_before(self, instance_id, signature):
        return self._seen.get(instance_id) == signature

    def _remember(self, instance_id, signature):
        self._seen.put(instance_id, signature)

    def _forget(self, instance_id):
        self._seen.pop(instance_id)
