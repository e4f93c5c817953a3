"""How durable novajoin-notify's pool queue is: decided at start, from what
the broker already holds.

A transient queue loses every queued delete when RabbitMQ restarts; a quorum
queue keeps them. But oslo.messaging declares the control exchanges
(``nova``, ``neutron``) with the same durability as its queues, and RabbitMQ
refuses a second declaration that differs from the first: a novajoin that
declared ``nova`` durable first would break the publishing of a nova that
declares it transient. So novajoin follows nova and neutron:

- ``[oslo_messaging_rabbit] rabbit_quorum_queue`` or ``amqp_durable_queues``
  set in novajoin's own config: the operator chose; nothing is probed.
- Otherwise every exchange that exists is probed. All durable (nova and
  neutron run with quorum or durable queues): the pool queue is a quorum
  queue; if it already exists as a classic durable queue it stays one
  (RabbitMQ cannot convert a queue in place). Any transient: the pool queue
  is transient too, and a WARNING says what a broker restart costs and what
  to set. None exists yet: oslo.messaging's defaults (transient).

The probe declares nothing new: a passive declaration asks whether an
exchange exists, then a durable re-declaration of an existing one either
matches it (a no-op) or is refused, on a channel of its own.
"""
import logging
import time
from urllib import parse

import kombu
from amqp import exceptions as amqp_errors
import oslo_messaging

LOG = logging.getLogger(__name__)

RABBIT = 'oslo_messaging_rabbit'
QUORUM = 'quorum'
DURABLE = 'durable'        # classic durable queue
TRANSIENT = 'transient'
CONFIGURED = 'configured'  # the operator's own settings, not probed

_QUORUM_ARGS = {'x-queue-type': 'quorum'}


def _user_set(conf, name):
    try:
        location = conf.get_location(name, RABBIT)
    except Exception:  # noqa: BLE001 - older oslo.config: treat as unset
        return False
    return location is not None and location.location.name != 'opt_default'


def kombu_url(conf):
    """kombu's URL for [DEFAULT] transport_url (first host of each)."""
    url = oslo_messaging.TransportURL.parse(conf, conf.transport_url)
    urls = []
    for host in url.hosts:
        auth = ''
        if host.username:
            # oslo.messaging unquoted them: a password may hold '@' or '/'
            auth = '%s:%s@' % (parse.quote(host.username, safe=''),
                               parse.quote(host.password or '', safe=''))
        name = host.hostname
        if ':' in name:
            name = '[%s]' % name          # an IPv6 address
        vhost = parse.quote(url.virtual_host or '', safe='')
        urls.append('amqp://%s%s:%s/%s' % (auth, name, host.port or 5672, vhost))
    return ';'.join(urls)


def _ssl(rabbit):
    """kombu's TLS settings from oslo.messaging's (False: plain AMQP)."""
    if not rabbit.ssl:
        return False
    import ssl
    options = {'cert_reqs': ssl.CERT_REQUIRED}
    for key, value in (('ca_certs', rabbit.ssl_ca_file),
                       ('certfile', rabbit.ssl_cert_file),
                       ('keyfile', rabbit.ssl_key_file)):
        if value:
            options[key] = value
    return options


class Probe:
    """What the broker holds, asked over one kombu connection."""

    def __init__(self, connection):
        self.connection = connection

    def _declare(self, declare, *args, **kwargs):
        """True if the declaration passes, False if RabbitMQ refuses it as
        inequivalent, None if the entity does not exist (passive)."""
        channel = self.connection.channel()
        try:
            declare(channel)(*args, **kwargs)
            return True
        except amqp_errors.NotFound:
            return None
        except amqp_errors.PreconditionFailed:
            return False
        finally:
            try:
                channel.close()
            except Exception:  # noqa: BLE001 - closed by the refusal already
                pass

    def exchange(self, name):
        """'durable', 'transient' or None (no such exchange)."""
        if self._declare(lambda ch: ch.exchange_declare, name, 'topic',
                         passive=True) is None:
            return None
        same = self._declare(lambda ch: ch.exchange_declare, name, 'topic',
                             durable=True, auto_delete=False)
        return DURABLE if same else TRANSIENT

    def queue(self, name):
        """'quorum', 'durable', 'transient' or None (no such queue)."""
        if self._declare(lambda ch: ch.queue_declare, name, passive=True) is None:
            return None
        if self._declare(lambda ch: ch.queue_declare, name, durable=True,
                         auto_delete=False, arguments=_QUORUM_ARGS):
            return QUORUM
        if self._declare(lambda ch: ch.queue_declare, name, durable=True,
                         auto_delete=False):
            return DURABLE
        return TRANSIENT


def decide(exchanges, queue, pool):
    """(kind, level, message) from the probe's findings.

    ``exchanges``: {name: 'durable' | 'transient' | None}; ``queue``: what the
    pool queue is now (None: absent).
    """
    transient = sorted(n for n, kind in exchanges.items() if kind == TRANSIENT)
    durable = sorted(n for n, kind in exchanges.items() if kind == DURABLE)
    if transient and durable:
        return TRANSIENT, logging.ERROR, (
            'exchanges %s are durable but %s are not: nova and neutron must '
            'agree on [oslo_messaging_rabbit] rabbit_quorum_queue (or '
            'amqp_durable_queues); listening with a transient queue, and the '
            'durable exchanges will refuse it'
            % (', '.join(durable), ', '.join(transient)))
    if transient:
        return TRANSIENT, logging.WARNING, (
            'exchanges %s are not durable (nova and neutron run without '
            '[oslo_messaging_rabbit] rabbit_quorum_queue), so pool queue %s '
            'cannot be durable either: a RabbitMQ restart loses the deletes '
            'queued in it (the reconciler removes those hosts later). Set '
            'rabbit_quorum_queue = true in nova, neutron and novajoin alike.'
            % (', '.join(transient), pool))
    if not durable:
        return None, logging.INFO, (
            'exchanges not declared yet (nova and neutron have not published): '
            'oslo.messaging\'s queue settings apply')
    if queue == DURABLE:
        return DURABLE, logging.WARNING, (
            'pool queue %s exists as a classic durable queue, kept as it is; to '
            'make it a quorum queue, stop every novajoin-notify of the pool, '
            'delete the queue and start them again' % pool)
    if queue == TRANSIENT:
        return TRANSIENT, logging.WARNING, (
            'pool queue %s exists as a transient queue, kept as it is (a '
            'RabbitMQ restart loses what it holds); stop every novajoin-notify '
            'of the pool and delete it to get a quorum queue' % pool)
    return QUORUM, logging.INFO, 'pool queue %s is a quorum queue' % pool


def apply(conf, kind):
    """Make oslo.messaging declare a queue of ``kind`` (None: unchanged)."""
    if kind == QUORUM:
        conf.set_override('rabbit_quorum_queue', True, group=RABBIT)
    elif kind == DURABLE:
        conf.set_override('amqp_durable_queues', True, group=RABBIT)
    elif kind == TRANSIENT:
        conf.set_override('rabbit_quorum_queue', False, group=RABBIT)
        conf.set_override('amqp_durable_queues', False, group=RABBIT)


def choose(conf, connect=None, wait=120.0, sleep=time.sleep):
    """Probe the broker and set ``conf`` to the queue kind it allows; return
    the kind. ``conf`` must have oslo.messaging's options registered
    (``listener.set_defaults``). Waits up to ``wait`` seconds for a broker
    that is down at start, then falls back to the configured settings."""
    rabbit = conf[RABBIT]
    if _user_set(conf, 'rabbit_quorum_queue') or _user_set(conf, 'amqp_durable_queues'):
        LOG.info('queue type as configured: rabbit_quorum_queue=%s, '
                 'amqp_durable_queues=%s', rabbit.rabbit_quorum_queue,
                 rabbit.amqp_durable_queues)
        return CONFIGURED
    pool = conf.notify.pool
    if not pool:
        return CONFIGURED   # the topic's own queue: not ours to decide
    connect = connect or (lambda: kombu.Connection(
        kombu_url(conf), connect_timeout=5, ssl=_ssl(rabbit)))
    end = time.monotonic() + wait
    pause = 1.0
    while True:
        try:
            with connect() as connection:
                probe = Probe(connection)
                exchanges = {name: probe.exchange(name)
                             for name in conf.notify.exchanges}
                queue = probe.queue(pool)
            break
        except (OSError, ValueError, amqp_errors.AMQPError,
                kombu.exceptions.KombuError) as exc:
            if time.monotonic() + pause > end:
                LOG.error('RabbitMQ unreachable (%s): cannot see how nova and '
                          'neutron declare their exchanges; oslo.messaging\'s '
                          'queue settings apply', exc)
                return CONFIGURED
            LOG.warning('RabbitMQ unreachable (%s); asking again in %.0f s',
                        exc, pause)
            sleep(pause)
            pause = min(pause * 2, 15.0)
    kind, level, message = decide(exchanges, queue, pool)
    LOG.log(level, '%s', message)
    apply(conf, kind)
    return kind or CONFIGURED
