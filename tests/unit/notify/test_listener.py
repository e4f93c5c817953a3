"""Retry accounting, filtering, and the listener over oslo.messaging's fake driver."""
import time
import uuid

import oslo_messaging
import pytest
from oslo_context import context

from novajoin import conf as conf_pkg
from novajoin import openstack
from novajoin.ipa import errors
from novajoin.notify import handlers
from novajoin.notify import listener

HANDLED = oslo_messaging.NotificationResult.HANDLED
REQUEUE = oslo_messaging.NotificationResult.REQUEUE


class Table:
    """A handler table whose handler fails as told."""

    def __init__(self, *failures):
        self.failures = list(failures)
        self.seen = []
        self.table = {'instance.delete.end': None, 'port.delete.end': None}

    def handle(self, event_type, payload, publisher=None):
        self.seen.append((event_type, payload))
        self.publisher = publisher
        if self.failures:
            raise self.failures.pop(0)
        return 'ok'


def endpoint(table, **kwargs):
    kwargs.setdefault('backoff', 0)
    return listener.Endpoint(table, **kwargs)


def info(ep, message_id='m1', event='instance.delete.end'):
    return ep.info({}, 'nova-compute:c1', event, {'nova_object.data': {'uuid': 'u'}},
                   {'message_id': message_id, 'timestamp': 'now'})


class ContextTable(Table):
    def handle(self, event_type, payload, publisher=None):
        self.context = context.get_current()
        return super().handle(event_type, payload, publisher)


def test_each_message_is_handled_under_its_own_request_id():
    nova_global, nova_local = 'req-%s' % uuid.uuid4(), 'req-%s' % uuid.uuid4()
    table = ContextTable()
    ep = endpoint(table)
    ep.info({'global_request_id': nova_global, 'request_id': nova_local},
            'nova-compute:c1', 'instance.delete.end', {}, {'message_id': 'a'})
    first = table.context
    assert first.global_request_id == nova_global
    assert first.request_id.startswith('req-') and first.request_id != nova_local
    # neutron's context has only request_id; a malformed one is not adopted
    ep.info({'request_id': nova_local}, 'network.c1', 'port.delete.end', {},
            {'message_id': 'b'})
    assert table.context.global_request_id == nova_local
    assert table.context.request_id != first.request_id
    for claim in ({'request_id': nova_local + '\nforged line'},
                  {'global_request_id': 7}, None):
        ep.info(claim, 'nova-compute:c1', 'instance.delete.end', {},
                {'message_id': 'c'})
        assert table.context.global_request_id is None


def test_the_publisher_reaches_the_handlers():
    # handlers name it in the log when a claim does not hold (a forged delete)
    table = Table()
    assert info(endpoint(table)) == HANDLED
    assert table.publisher == 'nova-compute:c1'


@pytest.mark.parametrize('exc', [errors.IPAUnavailable('down'),
                                 errors.IPAAuthError('kerberos'),
                                 errors.InternalError('x', code=903),
                                 openstack.UpstreamError('neutron 503')])
def test_transient_failures_are_requeued(exc):
    ep = endpoint(Table(exc))
    assert info(ep) == REQUEUE
    assert info(ep) == HANDLED   # the redelivery succeeds


def test_attempts_are_bounded_then_acked(caplog):
    ep = endpoint(Table(*[errors.IPAUnavailable('down')] * 10), max_attempts=3)
    assert [info(ep) for _ in range(3)] == [REQUEUE, REQUEUE, HANDLED]
    assert 'GAVE UP on instance.delete.end (uuid u) after 3 attempts' in caplog.text
    # counting is per message
    assert info(ep, 'm2') == REQUEUE


def test_backoff_doubles_up_to_the_maximum():
    ep = endpoint(Table(*[errors.IPAUnavailable('down')] * 5), backoff=1,
                  backoff_max=3, max_attempts=9)
    waits = []
    ep.stopping = type('E', (), {'wait': lambda self, t: waits.append(t),
                                 'is_set': lambda self: False})()
    for _ in range(4):
        info(ep)
    assert waits == [1, 2, 3, 3]


@pytest.mark.parametrize('exc', [handlers.BadPayload('no id'),
                                 handlers.NotConfigured('no neutron'),
                                 errors.ACIError('denied', code=2100),
                                 KeyError('bug')])
def test_permanent_failures_are_acked(exc, caplog):
    ep = endpoint(Table(exc))
    assert info(ep) == HANDLED
    assert 'dropped instance.delete.end' in caplog.text


def test_stopping_requeues_without_counting():
    ep = endpoint(Table(errors.IPAUnavailable('down')), backoff=60)
    ep.stopping.set()
    start = time.monotonic()
    assert info(ep) == REQUEUE
    assert time.monotonic() - start < 1
    assert ep.attempts.update('m1', lambda n: n + 1, 0) == 1   # none counted before


def test_filter_lets_only_table_events_through():
    ep = endpoint(Table())
    rule = ep.filter_rule
    assert rule.match({}, 'p', 'instance.delete.end', {}, {})
    assert not rule.match({}, 'p', 'instance.delete.start', {}, {})
    assert not rule.match({}, 'p', 'xinstance.delete.end', {}, {})
    assert not rule.match({}, 'p', 'instance.delete.end\n', {}, {})


def test_listener_over_the_fake_driver_requeues_and_filters():
    conf = conf_pkg.new_conf()
    conf([], default_config_files=[])
    conf.set_override('topics', ['nj'], group='notify')
    conf.set_override('exchanges', ['nova'], group='notify')
    oslo_messaging.get_notification_transport(conf, url='fake:/')  # registers
    # The notifier publishes on the transport's default exchange, as nova does.
    conf.set_override('control_exchange', 'nova')
    transport = oslo_messaging.get_notification_transport(conf, url='fake:/')
    table = Table(errors.IPAUnavailable('down'))
    server, _ = listener.build(conf, endpoint(table), transport=transport)
    server.start()
    try:
        # One fake transport for both ends: its exchanges live in the driver.
        notifier = oslo_messaging.Notifier(transport, publisher_id='nova-compute:c1',
                                           driver='messaging', topics=['nj'])
        notifier.info({}, 'instance.delete.start', {'ignored': True})
        notifier.info({}, 'instance.delete.end', {'instance_id': 'u'})
        deadline = time.monotonic() + 5
        while len(table.seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        server.stop()
        server.wait()
    assert [e for e, _ in table.seen] == ['instance.delete.end'] * 2
