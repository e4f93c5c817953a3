"""novajoin-notify's pool queue kind (quorum, durable, transient), decided at
start from what the broker holds, over a stand-in broker that answers
declarations as RabbitMQ does."""
import logging
import types

import kombu.utils.functional
import pytest
from amqp import exceptions as amqp_errors

from novajoin import conf as conf_pkg
from novajoin.conf import notify as notify_conf
from novajoin.notify import listener
from novajoin.notify import queues
from oslo_config import cfg
from tests.functional.peers import free_port

POOL = 'novajoin'
PASSWORD = 'Rabbit-Pw-7f3a9c'


# -- a broker that answers declarations as RabbitMQ does --------------------

class FakeBroker:
    """Exchanges {name: durable}, queues {name: 'quorum'|'durable'|'transient'}.

    Every existing entity was declared with auto_delete=False (as
    oslo.messaging does). A declaration that differs from the existing entity
    is refused with PreconditionFailed, a passive one of a missing entity with
    NotFound; either refusal closes the channel, as RabbitMQ does. A
    non-passive declaration of a missing entity creates it.
    """

    def __init__(self, exchanges=None, queues=None):
        self.exchanges = dict(exchanges or {})
        self.queues = dict(queues or {})
        self.connections = []
        self.channels = []

    def connect(self):
        """The ``connect`` that choose() takes."""
        connection = FakeConnection(self)
        self.connections.append(connection)
        return connection


class FakeConnection:
    def __init__(self, broker):
        self.broker = broker
        self.entered = self.exited = False

    def __enter__(self):
        self.entered = True
        return self

    def __exit__(self, *exc_info):
        self.exited = True
        return False

    def channel(self):
        assert self.entered and not self.exited, 'channel outside the with block'
        channel = FakeChannel(self.broker)
        self.broker.channels.append(channel)
        return channel


class FakeChannel:
    # py-amqp's parameter names and defaults (auto_delete defaults to True)
    def __init__(self, broker):
        self.broker = broker
        self.is_open = True
        self.close_calls = 0
        self.declarations = []

    def _usable(self):
        if not self.is_open:
            # py-amqp on a channel the broker closed
            raise amqp_errors.RecoverableConnectionError('connection already closed')

    def _refuse(self, error, text):
        self.is_open = False
        raise error(text)

    def exchange_declare(self, exchange, type, passive=False, durable=False,
                         auto_delete=True, nowait=False, arguments=None):
        self._usable()
        self.declarations.append(('exchange', exchange, passive, durable, auto_delete))
        known = self.broker.exchanges
        if passive:
            if exchange not in known:
                self._refuse(amqp_errors.NotFound,
                             "NOT_FOUND - no exchange '%s' in vhost '/'" % exchange)
            return None
        if exchange not in known:
            if auto_delete:
                raise AssertionError('the fake only holds auto_delete=False exchanges')
            known[exchange] = durable
            return None
        if type != 'topic' or known[exchange] != durable or auto_delete:
            self._refuse(amqp_errors.PreconditionFailed,
                         "PRECONDITION_FAILED - inequivalent arg 'durable' for "
                         "exchange '%s' in vhost '/'" % exchange)
        return None

    def queue_declare(self, queue='', passive=False, durable=False,
                      exclusive=False, auto_delete=True, nowait=False,
                      arguments=None):
        self._usable()
        self.declarations.append(('queue', queue, passive, durable, auto_delete,
                                  arguments))
        known = self.broker.queues
        if passive:
            if queue not in known:
                self._refuse(amqp_errors.NotFound,
                             "NOT_FOUND - no queue '%s' in vhost '/'" % queue)
            return (queue, 0, 0)
        queue_type = (arguments or {}).get('x-queue-type', 'classic')
        if queue_type == 'quorum':
            wanted = queues.QUORUM if durable else 'invalid'
        else:
            wanted = queues.DURABLE if durable else queues.TRANSIENT
        if queue not in known:
            if auto_delete or wanted == 'invalid':
                raise AssertionError('not a queue kind the fake holds')
            known[queue] = wanted
            return (queue, 0, 0)
        if known[queue] != wanted or auto_delete or exclusive:
            self._refuse(amqp_errors.PreconditionFailed,
                         "PRECONDITION_FAILED - inequivalent arg for queue '%s' "
                         "in vhost '/'" % queue)
        return (queue, 0, 0)

    def close(self):
        self.close_calls += 1
        self.is_open = False


class FakeClock:
    """queues' clock: only the injected sleep moves it."""

    def __init__(self):
        self.now = 1000.0
        self.pauses = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.pauses.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(queues, 'time', types.SimpleNamespace(
        monotonic=fake.monotonic, sleep=fake.sleep))
    return fake


def messaging_conf(*argv):
    """oslo.messaging's options (novajoin's defaults) and novajoin's [notify]."""
    conf = cfg.ConfigOpts()
    listener.set_defaults(conf)
    notify_conf.register_opts(conf)
    conf(list(argv), project='novajoin', default_config_files=[])
    return conf


def rabbit(conf):
    group = conf.oslo_messaging_rabbit
    return group.rabbit_quorum_queue, group.amqp_durable_queues


def config_file(tmp_path, text):
    path = tmp_path / 'join.conf'
    path.write_text(text)
    return str(path)


def unreachable(calls, error=ConnectionRefusedError(111, 'Connection refused')):
    def connect():
        calls.append(1)
        raise error
    return connect


# -- decide(): what the broker's state means -------------------------------

def test_all_durable_exchanges_and_no_queue_yet_make_a_quorum_queue():
    kind, level, message = queues.decide(
        {'nova': 'durable', 'neutron': 'durable'}, None, POOL)
    assert (kind, level) == (queues.QUORUM, logging.INFO)
    assert POOL in message


def test_an_exchange_not_declared_yet_does_not_stop_a_quorum_queue():
    kind, level, _ = queues.decide({'nova': 'durable', 'neutron': None}, None, POOL)
    assert (kind, level) == (queues.QUORUM, logging.INFO)


def test_a_transient_exchange_makes_the_queue_transient_with_a_warning_saying_what_to_set():
    kind, level, message = queues.decide(
        {'nova': 'transient', 'neutron': None}, None, POOL)
    assert (kind, level) == (queues.TRANSIENT, logging.WARNING)
    assert message.startswith('exchanges nova are not durable')
    assert 'rabbit_quorum_queue' in message
    assert POOL in message


def test_durable_and_transient_exchanges_mixed_are_an_error_naming_both():
    kind, level, message = queues.decide(
        {'nova': 'durable', 'neutron': 'transient'}, None, POOL)
    assert (kind, level) == (queues.TRANSIENT, logging.ERROR)
    assert 'nova' in message and 'neutron' in message
    # each is named on its side of the disagreement
    assert message.index('nova') < message.index('durable but')
    assert message.index('neutron') > message.index('durable but')


def test_no_exchange_declared_yet_leaves_oslo_messaging_settings():
    kind, level, message = queues.decide({'nova': None, 'neutron': None}, None, POOL)
    assert kind is None
    assert level == logging.INFO
    assert 'not declared yet' in message


def test_no_exchange_at_all_ignores_an_existing_queue():
    # no exchange means nothing nova or neutron declared to agree with
    kind, _, _ = queues.decide({'nova': None}, queues.QUORUM, POOL)
    assert kind is None


def test_an_existing_classic_durable_queue_stays_durable_with_how_to_get_quorum():
    kind, level, message = queues.decide(
        {'nova': 'durable', 'neutron': 'durable'}, queues.DURABLE, POOL)
    assert (kind, level) == (queues.DURABLE, logging.WARNING)
    assert 'delete the queue' in message and POOL in message


def test_an_existing_transient_queue_stays_transient():
    kind, level, message = queues.decide(
        {'nova': 'durable', 'neutron': 'durable'}, queues.TRANSIENT, POOL)
    assert (kind, level) == (queues.TRANSIENT, logging.WARNING)
    assert POOL in message and 'delete' in message


def test_an_existing_quorum_queue_stays_quorum():
    kind, level, _ = queues.decide(
        {'nova': 'durable', 'neutron': 'durable'}, queues.QUORUM, POOL)
    assert (kind, level) == (queues.QUORUM, logging.INFO)


def test_a_transient_exchange_wins_over_an_existing_quorum_queue():
    # the exchanges decide: a quorum queue left from before does not make a
    # transient nova exchange durable
    kind, _, _ = queues.decide({'nova': 'transient'}, queues.QUORUM, POOL)
    assert kind == queues.TRANSIENT


# -- apply(): what oslo.messaging will declare ------------------------------

def test_apply_quorum_turns_rabbit_quorum_queue_on():
    conf = messaging_conf()
    queues.apply(conf, queues.QUORUM)
    assert rabbit(conf) == (True, False)


def test_apply_durable_turns_amqp_durable_queues_on():
    conf = messaging_conf()
    queues.apply(conf, queues.DURABLE)
    assert rabbit(conf) == (False, True)


def test_apply_transient_turns_both_off():
    conf = messaging_conf()
    conf.set_default('rabbit_quorum_queue', True, group=queues.RABBIT)
    conf.set_default('amqp_durable_queues', True, group=queues.RABBIT)
    queues.apply(conf, queues.TRANSIENT)
    assert rabbit(conf) == (False, False)


def test_apply_none_changes_nothing():
    conf = messaging_conf()
    before = rabbit(conf)
    queues.apply(conf, None)
    assert rabbit(conf) == before == (False, False)
    assert conf.get_location('rabbit_quorum_queue', queues.RABBIT).location.name \
        == 'opt_default'


# -- choose(): the probe against the stand-in broker ------------------------

def test_the_probe_never_creates_an_exchange_or_a_queue(clock):
    for exchanges, pool_queues in [
            ({}, {}),
            ({'nova': True}, {}),
            ({'nova': False, 'neutron': True}, {}),
            ({'nova': True, 'neutron': True}, {POOL: queues.DURABLE}),
            ({'nova': True, 'neutron': True}, {POOL: queues.TRANSIENT}),
            ({'nova': True, 'neutron': True}, {POOL: queues.QUORUM})]:
        broker = FakeBroker(exchanges, pool_queues)
        queues.choose(messaging_conf(), connect=broker.connect, sleep=clock.sleep)
        assert broker.exchanges == exchanges
        assert broker.queues == pool_queues
        assert len(broker.connections) == 1
        # each refusal closes its channel: one channel per declaration, all closed
        assert all(len(ch.declarations) == 1 for ch in broker.channels)
        assert all(ch.close_calls == 1 for ch in broker.channels)
        assert broker.connections[0].exited
    assert clock.pauses == []


def test_durable_nova_and_neutron_exchanges_give_a_quorum_queue(clock, caplog):
    caplog.set_level(logging.INFO, logger='novajoin.notify.queues')
    broker = FakeBroker({'nova': True, 'neutron': True})
    conf = messaging_conf()
    assert queues.choose(conf, connect=broker.connect, sleep=clock.sleep) == queues.QUORUM
    assert rabbit(conf) == (True, False)
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_transient_exchanges_give_a_transient_queue_and_a_warning(clock, caplog):
    caplog.set_level(logging.INFO, logger='novajoin.notify.queues')
    broker = FakeBroker({'nova': False, 'neutron': False})
    conf = messaging_conf()
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.TRANSIENT
    assert rabbit(conf) == (False, False)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert 'neutron, nova' in record.getMessage()
    assert 'rabbit_quorum_queue' in record.getMessage()


def test_one_durable_and_one_transient_exchange_is_logged_at_error(clock, caplog):
    caplog.set_level(logging.INFO, logger='novajoin.notify.queues')
    broker = FakeBroker({'nova': True, 'neutron': False})
    conf = messaging_conf()
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.TRANSIENT
    assert rabbit(conf) == (False, False)
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


def test_an_existing_classic_durable_pool_queue_is_kept_durable(clock):
    broker = FakeBroker({'nova': True, 'neutron': True}, {POOL: queues.DURABLE})
    conf = messaging_conf()
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.DURABLE
    assert rabbit(conf) == (False, True)


def test_an_existing_quorum_pool_queue_is_found_quorum(clock):
    broker = FakeBroker({'nova': True, 'neutron': True}, {POOL: queues.QUORUM})
    conf = messaging_conf()
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.QUORUM
    assert rabbit(conf) == (True, False)


def test_an_existing_transient_pool_queue_is_kept_transient(clock):
    broker = FakeBroker({'nova': True, 'neutron': True}, {POOL: queues.TRANSIENT})
    conf = messaging_conf()
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.TRANSIENT
    assert rabbit(conf) == (False, False)


def test_the_pool_queue_probed_is_the_configured_pool(clock):
    broker = FakeBroker({'nova': True}, {'other-pool': queues.DURABLE})
    conf = messaging_conf()
    conf.set_override('pool', 'other-pool', group='notify')
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.DURABLE


def test_only_the_configured_exchanges_are_probed(clock):
    broker = FakeBroker({'nova': True, 'neutron': False})
    conf = messaging_conf()
    conf.set_override('exchanges', ['nova'], group='notify')
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.QUORUM
    assert all(ch.declarations[0][1] != 'neutron' for ch in broker.channels)


def test_no_exchange_on_the_broker_keeps_the_configured_settings(clock):
    broker = FakeBroker()
    conf = messaging_conf()
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.CONFIGURED
    assert rabbit(conf) == (False, False)
    assert conf.get_location('rabbit_quorum_queue', queues.RABBIT).location.name \
        == 'opt_default'


@pytest.mark.parametrize('line', ['rabbit_quorum_queue = false',
                                  'amqp_durable_queues = true'])
def test_a_queue_setting_in_the_config_file_is_used_without_probing(
        tmp_path, clock, line):
    path = config_file(tmp_path, '[oslo_messaging_rabbit]\n%s\n' % line)
    conf = messaging_conf('--config-file', path)
    before = rabbit(conf)
    calls = []
    assert queues.choose(conf, connect=unreachable(calls),
                         sleep=clock.sleep) == queues.CONFIGURED
    assert calls == [] and clock.pauses == []
    assert rabbit(conf) == before


def test_a_config_file_read_before_the_messaging_options_exist_still_counts(
        tmp_path, clock):
    # novajoin-notify's order: config.load, then listener.set_defaults, then choose
    path = config_file(tmp_path, '[oslo_messaging_rabbit]\n'
                                 'rabbit_quorum_queue = false\n')
    conf = conf_pkg.new_conf()
    conf(['--config-file', path], project='novajoin', default_config_files=[])
    listener.set_defaults(conf)
    calls = []
    assert queues.choose(conf, connect=unreachable(calls),
                         sleep=clock.sleep) == queues.CONFIGURED
    assert calls == []
    assert rabbit(conf) == (False, False)


def test_other_rabbit_settings_in_the_file_do_not_stop_the_probe(tmp_path, clock):
    path = config_file(tmp_path, '[oslo_messaging_rabbit]\n'
                                 'rabbit_qos_prefetch_count = 8\n'
                                 'heartbeat_timeout_threshold = 30\n')
    conf = messaging_conf('--config-file', path)
    broker = FakeBroker({'nova': True, 'neutron': True})
    assert queues.choose(conf, connect=broker.connect,
                         sleep=clock.sleep) == queues.QUORUM


def test_no_pool_means_the_topic_queue_and_no_probe(clock):
    conf = messaging_conf()
    conf.set_override('pool', '', group='notify')
    calls = []
    assert queues.choose(conf, connect=unreachable(calls),
                         sleep=clock.sleep) == queues.CONFIGURED
    assert calls == []
    assert rabbit(conf) == (False, False)


@pytest.mark.parametrize('error', [
    ConnectionRefusedError(111, 'Connection refused'),
    OSError(113, 'No route to host'),
    amqp_errors.AccessRefused('ACCESS_REFUSED - Login was refused'),
])
def test_an_unreachable_broker_is_asked_again_then_configured_settings_apply(
        clock, caplog, error):
    caplog.set_level(logging.INFO, logger='novajoin.notify.queues')
    conf = messaging_conf()
    calls = []
    start = clock.now
    assert queues.choose(conf, connect=unreachable(calls, error), wait=5,
                         sleep=clock.sleep) == queues.CONFIGURED
    assert clock.pauses == [1.0, 2.0]       # the next 4 s would pass the 5 s
    assert len(calls) == 3
    assert clock.now - start <= 5
    assert rabbit(conf) == (False, False)
    assert caplog.records[-1].levelno == logging.ERROR
    assert 'unreachable' in caplog.records[-1].getMessage()


def test_pauses_between_attempts_grow_and_are_capped(clock):
    calls = []
    start = clock.now
    assert queues.choose(messaging_conf(), connect=unreachable(calls), wait=100,
                         sleep=clock.sleep) == queues.CONFIGURED
    assert clock.pauses == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0, 15.0, 15.0]
    assert len(calls) == len(clock.pauses) + 1
    assert clock.now - start <= 100


def test_no_wait_means_a_single_attempt(clock):
    calls = []
    assert queues.choose(messaging_conf(), connect=unreachable(calls), wait=0,
                         sleep=clock.sleep) == queues.CONFIGURED
    assert len(calls) == 1 and clock.pauses == []


def test_a_broker_that_comes_up_during_the_wait_is_probed(clock):
    broker = FakeBroker({'nova': True, 'neutron': True})
    attempts = []

    def connect():
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError(111, 'Connection refused')
        return broker.connect()
    conf = messaging_conf()
    assert queues.choose(conf, connect=connect, wait=60,
                         sleep=clock.sleep) == queues.QUORUM
    assert clock.pauses == [1.0, 2.0]
    assert rabbit(conf) == (True, False)
    assert broker.exchanges == {'nova': True, 'neutron': True} and not broker.queues


def test_the_rabbit_password_never_reaches_the_log(clock, caplog, monkeypatch):
    # the real kombu path (default connect) to a port nobody listens on;
    # kombu's own retry pause is skipped
    monkeypatch.setattr(kombu.utils.functional, 'sleep', lambda seconds: None)
    caplog.set_level(logging.DEBUG)
    conf = messaging_conf()
    conf.set_override('transport_url', 'rabbit://novajoin:%s@127.0.0.1:%d/'
                      % (PASSWORD, free_port()))
    assert queues.choose(conf, wait=5, sleep=clock.sleep) == queues.CONFIGURED
    assert clock.pauses                       # it did fail and try again
    assert any('unreachable' in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + str(record.exc_text)
        assert PASSWORD not in text


# -- kombu_url(): oslo.messaging's transport_url for kombu ------------------

def url_conf(transport_url):
    conf = messaging_conf()
    conf.set_override('transport_url', transport_url)
    return conf


def kombu_view(url):
    c = kombu.Connection(url)
    return c.hostname, c.port, c.userid, c.password, c.virtual_host


def test_kombu_url_of_one_host():
    url = queues.kombu_url(url_conf('rabbit://guest:secret@127.0.0.1:5672/'))
    assert url == 'amqp://guest:secret@127.0.0.1:5672/'
    # kombu reads an empty vhost as its default '/'
    assert kombu_view(url) == ('127.0.0.1', 5672, 'guest', 'secret', '/')


def test_kombu_url_of_several_hosts_keeps_each_and_the_vhost():
    url = queues.kombu_url(url_conf('rabbit://u:p@h1:5672,u:p@h2:5673/vh'))
    assert url == 'amqp://u:p@h1:5672/vh;amqp://u:p@h2:5673/vh'
    assert [kombu_view(u) for u in url.split(';')] == [
        ('h1', 5672, 'u', 'p', 'vh'), ('h2', 5673, 'u', 'p', 'vh')]


@pytest.mark.parametrize('transport_url, vhost', [
    ('rabbit://u:p@h:5672', '/'),
    ('rabbit://u:p@h:5672/', '/'),
    ('rabbit://u:p@h:5672/%2F', '/'),
    ('rabbit://u:p@h:5672/openstack', 'openstack'),
])
def test_kombu_url_vhost_is_the_one_oslo_messaging_uses(transport_url, vhost):
    assert kombu_view(queues.kombu_url(url_conf(transport_url)))[4] == vhost


def test_kombu_url_without_a_port_uses_5672():
    assert kombu_view(queues.kombu_url(url_conf('rabbit://u:p@h/')))[:2] == ('h', 5672)


def test_kombu_url_keeps_a_password_with_url_reserved_characters():
    url = queues.kombu_url(url_conf('rabbit://u:p%40s%2Fw@h:5672/vh'))
    assert kombu_view(url) == ('h', 5672, 'u', 'p@s/w', 'vh')


def test_kombu_url_keeps_an_ipv6_broker_address():
    url = queues.kombu_url(url_conf('rabbit://u:p@[::1]:5672/'))
    assert kombu_view(url)[:2] == ('::1', 5672)


def test_an_ipv6_transport_url_does_not_stop_novajoin_notify(clock, monkeypatch):
    monkeypatch.setattr(kombu.utils.functional, 'sleep', lambda seconds: None)
    conf = url_conf('rabbit://u:p@[::1]:%d/' % free_port())
    assert queues.choose(conf, wait=0, sleep=clock.sleep) == queues.CONFIGURED
