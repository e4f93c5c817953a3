"""Pieces for the notification tests: publishers, the listener process, a proxy.

- ``emit_nova``: nova 34's own code (tests/functional/nova_emit.py, run in the
  peers' venv) publishes instance notifications to RabbitMQ;
- ``Publisher``: an oslo.messaging Notifier on a given exchange (messages a
  test writes itself: a bad payload, a forged one);
- ``NotifyProcess``: novajoin-notify as a child process, with its own join.conf;
- ``ipa_proxy``: a forwarder to the real IPA that the test can cut and restore,
  to take IPA away from the listener without stopping the shared IPA peer;
- ``delete_queues``, ``delete_exchanges``: remove what a test declared on
  the broker.
"""
import json
import os
import pathlib
import subprocess
import time

import kombu
import oslo_messaging
from oslo_config import cfg

from tests.functional import peers

NOVA_EMIT = pathlib.Path(__file__).with_name('nova_emit.py')


def wait_until(predicate, timeout=30.0, interval=0.2, what='condition'):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('%s not reached within %.0f s' % (what, timeout))


# -- publishing ----------------------------------------------------------------

def emit_nova(peers_env, rabbit_url, events, legacy_topic, versioned_topic,
              notification_format='both', **nova_conf):
    """nova publishes ``events`` (see nova_emit.py) with its own code;
    ``nova_conf``: control_exchange, rabbit_quorum_queue."""
    spec = {'transport_url': rabbit_url, 'legacy_topics': [legacy_topic],
            'versioned_topics': [versioned_topic], 'format': notification_format,
            'events': events}
    spec.update(nova_conf)
    python = os.path.join(peers_env['PEERS_VENV'], 'bin', 'python')
    out = subprocess.run([python, '-W', 'ignore', str(NOVA_EMIT)],
                         input=json.dumps(spec).encode(), capture_output=True,
                         timeout=120)
    if out.returncode:
        raise AssertionError('nova_emit failed: %s' % out.stderr.decode()[-3000:])


def nova_instance(uuid, project, hostname, metadata=None, **extra):
    spec = {'uuid': uuid, 'project_id': project, 'hostname': hostname,
            'metadata': dict(metadata or {})}
    spec.update(extra)
    return spec


class Publisher:
    """Notifications as a service with ``exchange`` as control_exchange sends."""

    def __init__(self, rabbit_url, exchange, publisher_id, topic):
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[])
        oslo_messaging.get_notification_transport(conf, url=rabbit_url).cleanup()
        conf.set_override('control_exchange', exchange)  # read at creation
        self.transport = oslo_messaging.get_notification_transport(conf,
                                                                   url=rabbit_url)
        self.notifier = oslo_messaging.Notifier(
            self.transport, publisher_id=publisher_id, driver='messaging',
            topics=[topic])

    def info(self, event_type, payload, ctxt=None):
        self.notifier.info(ctxt or {'request_id': 'req-test'}, event_type, payload)

    def close(self):
        self.transport.cleanup()


def _amqp(rabbit_url):
    # kombu's name for oslo.messaging's rabbit:// scheme
    return 'amqp://' + rabbit_url.split('://', 1)[1]


def delete_queues(rabbit_url, names):
    with kombu.Connection(_amqp(rabbit_url)) as conn:
        channel = conn.channel()
        for name in names:
            try:
                channel.queue_delete(name)
            except Exception:  # noqa: BLE001 - gone already: fine
                channel = conn.channel()


def delete_exchanges(rabbit_url, names):
    with kombu.Connection(_amqp(rabbit_url)) as conn:
        for name in names:
            try:
                conn.channel().exchange_delete(name)
            except Exception:  # noqa: BLE001 - gone already: fine
                pass


def notifications(rabbit_url, queue):
    """Take every message waiting in ``queue`` (oslo.messaging's envelope
    opened): [{'event_type', 'payload', 'publisher_id', '_context_...'}]."""
    found = []
    with kombu.Connection(_amqp(rabbit_url)) as conn:
        channel = conn.channel()
        while True:
            try:
                message = channel.basic_get(queue, no_ack=True)
            except Exception:  # noqa: BLE001 - no such queue (yet): nothing
                return found
            if message is None:
                return found
            body = json.loads(message.body)
            found.append(json.loads(body['oslo.message'])
                         if 'oslo.message' in body else body)


def queue_depth(rabbit_url, name):
    with kombu.Connection(_amqp(rabbit_url)) as conn:
        return conn.channel().queue_declare(name, passive=True).message_count


# -- the listener ----------------------------------------------------------------

def write_conf(path, rabbit_url, ipa_env, identity, topics, pool, extra='', debug=False):
    """join.conf for novajoin-notify, with the least-privilege keytab of
    ``identity`` (the novajoin_identity fixture, made by novajoin-ipa-setup)."""
    path = pathlib.Path(path)
    path.write_text('''[DEFAULT]
transport_url = {rabbit}
debug = {debug}

[notify]
topics = {topics}
exchanges = nova,neutron
pool = {pool}
max_attempts = 6
retry_backoff = 0.5
retry_backoff_max = 4
reconcile_interval = 0
floating_ip_ranges = 192.0.2.0/24,198.51.100.0/24

[ipa]
servers = {server}
auth_method = kerberos
keytab = {keytab}
principal = {principal}
krb5_config = {krb5}
ca_file = {ca}
retries = 1
retry_backoff = 0.1
connect_timeout = 1
read_timeout = 10
{extra}
'''.format(rabbit=rabbit_url, topics=','.join(topics), pool=pool,
           server=ipa_env['IPA_SERVER'], keytab=identity['keytab'],
           principal=identity['principal'], krb5=ipa_env['IPA_KRB5_CONFIG'],
           ca=ipa_env['IPA_CA_CERT'],
           extra=extra, debug=str(bool(debug)).lower()))
    return path


class NotifyProcess:
    """novajoin-notify in a child process; its log in ``log_path``."""

    def __init__(self, conf_path, log_path, ipa_port=None):
        self.conf_path = conf_path
        self.log_path = log_path
        self.ipa_port = ipa_port
        self.proc = None
        self.starts = 0

    def start(self):
        env = dict(os.environ)
        if self.ipa_port:
            env['NJ_TEST_IPA_PORT'] = str(self.ipa_port)
        self.starts += 1
        log = '%s.%d' % (self.log_path, self.starts)
        self.proc = peers.Process([peers.python(), '-m',
                                   'tests.functional.notify_launcher',
                                   '--config-file', str(self.conf_path)],
                                  log, env=env, cwd=str(peers.ROOT))
        wait_until(lambda: 'novajoin-notify listening on' in self.proc.log()
                   or self.proc.proc.poll() is not None, 60,
                   what='novajoin-notify start')
        if self.proc.proc.poll() is not None:
            raise AssertionError('novajoin-notify exited:\n' + self.proc.log())
        return self

    def log(self):
        return self.proc.log() if self.proc else ''

    def stop(self):
        if self.proc:
            self.proc.stop(timeout=30)
            return self.proc.proc.returncode


# -- taking IPA away -----------------------------------------------------------------

def ipa_proxy():
    """A forwarder to the real IPA (127.0.0.1:443) that a test can cut and
    restore. The client still connects as https://ipa.example.test
    (notify_launcher maps that name's port 443 to the forwarder), so TLS, the
    certificate check and IPA's Referer check are all real."""
    return peers.TCPForwarder(('127.0.0.1', 443))
