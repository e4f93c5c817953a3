"""The audit trail: CADF events (pycadf) for every change of who holds an
identity, for the security tools that consume OpenStack's audit events.

Events (notification event type, CADF action/outcome):
- ``novajoin.host.created``: an IPA host made for an instance (create/success);
- ``novajoin.host.removed``: an instance's host removed, after a delete
  notification or by the reconciler (delete/success);
- ``novajoin.enrollment.refused``: an enrollment refused, 403 or 409
  (create/failure, the status as the reason);
- ``novajoin.host.reset``: a rebuilt instance's host, its keys removed and a
  new OTP armed (update/success);
- ``novajoin.notification.suspicious``: a delete notification for an instance
  nova still has (delete/failure), or a rebuild notification for an instance
  nova records no rebuild of (update/failure), ignored.

Every event is one line on the ``novajoin.audit`` logger (with its CADF id),
and, when ``[oslo_messaging_notifications] driver`` is set (e.g.
``messagingv2``), an oslo.messaging notification on its ``topics`` whose
payload is the CADF event, and whose context carries the request ids.
Sending is best effort, without retries: when the broker refuses, the event
stays in the log alone and the request loses about a millisecond (measured;
one retry would cost it a second). No OTP or token is ever part of an
event.
"""
import logging
import socket
import uuid

from oslo_context import context as context_mod
from pycadf import cadftaxonomy as taxonomy
from pycadf import event as cadf_event
from pycadf import reason as cadf_reason
from pycadf import resource

AUDIT = logging.getLogger('novajoin.audit')
LOG = logging.getLogger(__name__)

RETRIES = 0
IDENTITY = taxonomy.SECURITY_IDENTITY      # an IPA host: a Kerberos identity
SERVICE_INITIATOR = 'service/compute'      # nova or neutron, by their messages


def _stable_id(name):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, name))


class Auditor:
    """``notifier``: an oslo.messaging Notifier, or None (the log alone);
    ``service``: who observes (``novajoin-server``, ``novajoin-notify``...)."""

    def __init__(self, notifier=None, service='novajoin'):
        self.notifier = notifier
        host = socket.getfqdn()
        self.observer = resource.Resource(
            id=_stable_id('%s.%s' % (service, host)),
            typeURI=taxonomy.SERVICE_SECURITY, name='%s@%s' % (service, host))

    # -- the events ------------------------------------------------------------

    def host_created(self, fqdn, instance, project):
        self._emit('novajoin.host.created', taxonomy.ACTION_CREATE,
                   taxonomy.OUTCOME_SUCCESS, self._caller(),
                   self._host(fqdn, instance, project))

    def host_removed(self, fqdn, instance, why):
        self._emit('novajoin.host.removed', taxonomy.ACTION_DELETE,
                   taxonomy.OUTCOME_SUCCESS, self._service(why),
                   self._host(fqdn, instance, None))

    def refused(self, status, why, instance, project, fqdn=None):
        self._emit('novajoin.enrollment.refused', taxonomy.ACTION_CREATE,
                   taxonomy.OUTCOME_FAILURE, self._caller(),
                   self._host(fqdn, instance, project),
                   reason=cadf_reason.Reason(reasonType='HTTP',
                                             reasonCode=str(status)),
                   detail=why)

    def host_reset(self, fqdn, instance, rebuild):
        """The host's keys dropped and a new OTP armed, for nova's rebuild
        request ``rebuild``."""
        self._emit('novajoin.host.reset', taxonomy.ACTION_UPDATE,
                   taxonomy.OUTCOME_SUCCESS, self._service('nova ' + rebuild),
                   self._host(fqdn, instance, None),
                   detail='instance rebuilt: keys removed, new OTP')

    def suspicious(self, instance, publisher, fqdns,
                   detail='nova still has the instance; host kept',
                   action=taxonomy.ACTION_DELETE):
        for fqdn in fqdns:
            self._emit('novajoin.notification.suspicious', action,
                       taxonomy.OUTCOME_FAILURE, self._service(publisher),
                       self._host(fqdn, instance, None), detail=detail)

    # -- parts -----------------------------------------------------------------

    @staticmethod
    def _host(fqdn, instance, project):
        target = resource.Resource(
            id=instance or _stable_id(fqdn or 'unknown host'), typeURI=IDENTITY,
            name=fqdn or instance)
        if project:
            target.project_id = project
        return target

    @staticmethod
    def _caller():
        """The keystone user of the request being served (oslo.context)."""
        ctx = context_mod.get_current()
        initiator = resource.Resource(
            id=(ctx and ctx.user_id) or _stable_id('unknown caller'),
            typeURI=taxonomy.ACCOUNT_USER, name=ctx and ctx.user_name)
        if ctx is not None and ctx.project_id:
            initiator.project_id = ctx.project_id
        return initiator

    @staticmethod
    def _service(name):
        return resource.Resource(id=_stable_id(name or 'unknown'),
                                 typeURI=SERVICE_INITIATOR, name=name)

    def _emit(self, event_type, action, outcome, initiator, target, reason=None,
              detail=None):
        event = cadf_event.Event(action=action, outcome=outcome,
                                 initiator=initiator, target=target,
                                 observer=self.observer, reason=reason,
                                 name=detail)
        # pycadf leaves unset attributes out of vars()
        AUDIT.info('%s %s: %s %s of %s (instance %s) by %s%s', event_type,
                   event.id, action, outcome, vars(target).get('name'),
                   target.id, vars(initiator).get('name') or initiator.id,
                   ': %s' % detail if detail else '')
        if self.notifier is None:
            return
        ctx = context_mod.get_current()
        try:
            self.notifier.info(ctx.to_dict() if ctx else {}, event_type,
                               event.as_dict())
        except Exception as exc:  # noqa: BLE001 - the log line above stays
            LOG.warning('audit event %s %s not sent: %s', event_type, event.id,
                        exc)


def from_conf(conf, service):
    """An Auditor for ``service``: with an oslo.messaging Notifier when
    ``[oslo_messaging_notifications] driver`` is set, else the log alone."""
    import oslo_messaging
    transport = oslo_messaging.get_notification_transport(conf)
    notifier = oslo_messaging.Notifier(
        transport, publisher_id='%s.%s' % (service, socket.getfqdn()),
        retry=RETRIES)
    # no driver at all, or only noop: nothing would be sent
    drivers = [d for d in conf.oslo_messaging_notifications.driver if d != 'noop']
    return Auditor(notifier if drivers else None, service)
