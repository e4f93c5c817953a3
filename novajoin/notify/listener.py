"""The oslo.messaging notification listener of novajoin-notify.

- One queue per pool (default ``novajoin``), bound to every (exchange, topic)
  pair: other consumers of the standard topics keep getting every message, and
  replicas in the same pool share the work.
- Only ``info`` notifications of the event types in the handler table reach
  Python code (a ``NotificationFilter``); the rest are acked unread.
- The ``threading`` executor: handlers block on IPA, whose concurrency the
  IPAClient caps (``[ipa] max_in_flight``).
- Each message is handled under an oslo.context of its own (``bind_context``):
  its log lines carry a request id, and the publisher's as the global one.

Retries. oslo.messaging can put a message back (``REQUEUE``) but keeps no
count of attempts, and RabbitMQ only flags a redelivery. Republishing with a
counter would hand a second copy to every other pool on the topic. So the
count lives here, in memory, per message id: a transient failure pauses
(exponential backoff) and requeues, until ``max_attempts``; then it is logged
at ERROR and acked, and the reconciler removes what the message should have.
With several replicas a message may be tried up to max_attempts on each, and a
restart starts counting again: bounded either way.
"""
import logging
import re
import threading

from oslo_context import context as context_mod
import oslo_messaging
from oslo_messaging import opts as messaging_opts

from novajoin import metrics
from novajoin.cache import BoundedMap
from novajoin import openstack
from novajoin import validation
from novajoin.ipa import errors
from novajoin.notify import handlers as handlers_mod

LOG = logging.getLogger(__name__)

# oslo.middleware's request id format, matched whole: a message's context is
# a publisher's claim, and its ids go into log lines.
_REQUEST_ID = validation.REQUEST_ID

HANDLED = oslo_messaging.NotificationResult.HANDLED
REQUEUE = oslo_messaging.NotificationResult.REQUEUE


def is_transient(exc):
    """Would the same message succeed later, with nothing changed?"""
    if isinstance(exc, errors.IPAError):
        return exc.transient
    return isinstance(exc, openstack.UpstreamError)


class Endpoint:
    """Receives ``info`` notifications and runs the matching handler."""

    def __init__(self, handlers, max_attempts=8, backoff=2.0, backoff_max=60.0,
                 stopping=None):
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.stopping = stopping or threading.Event()
        # failed attempts per message id, bounded (oldest forgotten first)
        self.attempts = BoundedMap()
        # match() anchors the start; \Z (not $) the very end, no newline.
        pattern = r'(%s)\Z' % '|'.join(re.escape(e) for e in sorted(handlers.table))
        self.filter_rule = oslo_messaging.NotificationFilter(event_type=pattern)

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        bind_context(ctxt)
        key = (metadata or {}).get('message_id') or id(payload)
        try:
            outcome = self.handlers.handle(event_type, payload,
                                           publisher=publisher_id)
        except Exception as exc:  # noqa: BLE001 - every failure is decided here
            return self._failed(key, event_type, payload, exc)
        self.attempts.pop(key)
        metrics.NOTIFICATIONS.labels(event_type=event_type, outcome=outcome).inc()
        LOG.debug('%s from %s: %s', event_type, publisher_id, outcome)
        return HANDLED

    def _failed(self, key, event_type, payload, exc):
        what = '%s (%s)' % (event_type, _subject(payload))
        if not is_transient(exc):
            self.attempts.pop(key)
            if isinstance(exc, (handlers_mod.BadPayload,
                                handlers_mod.NotConfigured,
                                errors.IPACommandError)):
                LOG.error('dropped %s: %s', what, exc)
            else:
                LOG.exception('dropped %s: unexpected error', what)
            metrics.NOTIFICATIONS.labels(event_type=event_type,
                                         outcome='dropped').inc()
            return HANDLED
        if self.stopping.is_set():
            return REQUEUE  # not an attempt: leave it to the next listener
        attempt = self.attempts.update(key, lambda n: n + 1, 0)
        if attempt >= self.max_attempts:
            self.attempts.pop(key)
            LOG.error('GAVE UP on %s after %d attempts: %s. The reconciler '
                      '(novajoin-reconcile) will remove what it should have.',
                      what, attempt, exc)
            metrics.NOTIFICATIONS.labels(event_type=event_type,
                                         outcome='gave_up').inc()
            return HANDLED
        pause = min(self.backoff * 2 ** (attempt - 1), self.backoff_max)
        LOG.warning('%s failed (attempt %d of %d): %s; requeued in %.1f s',
                    what, attempt, self.max_attempts, exc, pause)
        metrics.NOTIFICATIONS.labels(event_type=event_type, outcome='retry').inc()
        # Pause before requeueing: RabbitMQ redelivers at once, and the cause
        # (IPA down) needs time. Stopping cuts the pause short.
        self.stopping.wait(pause)
        return REQUEUE


def bind_context(ctxt):
    """This thread's oslo.context for one notification: a new request id,
    and the publisher's request id (nova's or neutron's API request that
    caused the event) as the global one, so oslo.log ties every line of the
    handling to it."""
    ctxt = ctxt if isinstance(ctxt, dict) else {}
    origin = None
    for key in ('global_request_id', 'request_id'):
        value = ctxt.get(key)
        if isinstance(value, str) and _REQUEST_ID.fullmatch(value):
            origin = value
            break
    return context_mod.RequestContext(global_request_id=origin, overwrite=True)


def _subject(payload):
    """What the notification is about, for log lines (ids only, no secrets)."""
    if not isinstance(payload, dict):
        return '?'
    data = payload.get('nova_object.data') or payload
    for keys in (('uuid',), ('instance_id',), ('floatingip', 'floating_ip_address'),
                 ('floating_ip',), ('port_id',)):
        value = data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value:
            return '%s %s' % (keys[-1], value)
    return '?'


# Defaults for novajoin-notify; join.conf may still set them. IPA takes a
# couple of round trips at once ([ipa] max_in_flight); the handler threads
# waiting meanwhile are what the group commit batches (novajoin.ipa.coalesce),
# so there are a few batches' worth of them. A bounded prefetch leaves a
# backlog in the queue for the other replicas of the pool instead of in one
# process's memory.
MESSAGING_DEFAULTS = {(None, 'executor_thread_pool_size'): 32,
                      ('oslo_messaging_rabbit', 'rabbit_qos_prefetch_count'): 64}


def set_defaults(conf):
    """Register oslo.messaging's options on ``conf`` with novajoin's defaults."""
    for group, opts in messaging_opts.list_opts():
        conf.register_opts(opts, group=group)
    for (group, name), value in MESSAGING_DEFAULTS.items():
        conf.set_default(name, value, group=group)


def targets(conf):
    return [oslo_messaging.Target(topic=topic, exchange=exchange)
            for exchange in conf.notify.exchanges for topic in conf.notify.topics]


def build(conf, endpoint, transport=None):
    """(listener, transport); nothing connects until ``listener.start()``."""
    set_defaults(conf)
    transport = transport or oslo_messaging.get_notification_transport(conf)
    listener = oslo_messaging.get_notification_listener(
        transport, targets(conf), [endpoint], executor='threading',
        allow_requeue=True, pool=conf.notify.pool or None)
    return listener, transport
