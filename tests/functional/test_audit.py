"""The audit trail on the real bus: CADF events that novajoin-server and
novajoin-notify publish with oslo.messaging on the real RabbitMQ, for a host
created through real nova, an enrollment refused (409) and a host removed by
a real delete (nova's own notification, confirmed with the real nova API)."""
import uuid

import pytest

from tests.functional import notify_env
from tests.functional import nova_api
from tests.functional.novajoin_server import identity_conf
from tests.functional.novajoin_server import start_server
from tests.functional.notify_env import wait_until
from tests.functional.test_notify import bus  # noqa: F401 - fixture
from tests.functional.test_notify import delete_event
from tests.functional.test_notify import emit
from tests.functional.test_notify import start_listener  # noqa: F401 - fixture
from tests.functional.test_server import instance
from tests.functional.test_server import join_of
from tests.functional.test_server import nova_call

CADF_EVENT = 'http://schemas.dmtf.org/cloud/audit/1.0/event'


@pytest.fixture
def audit_topic(rabbit_url, unique):
    topic = 'nj-audit-%s' % unique
    yield topic
    notify_env.delete_queues(rabbit_url, [topic + '.info'])


def audit_lines(rabbit_url, topic):
    return ['[DEFAULT]', 'transport_url = %s' % rabbit_url,
            '[oslo_messaging_notifications]', 'driver = messagingv2',
            'topics = %s' % topic]


def test_created_refused_and_removed_hosts_are_cadf_events_on_the_bus(
        tmp_path, ipa_env, peers_env, novajoin_identity, ipa_admin, rabbit_url,
        audit_topic, start_listener, bus, unique, cleanup):  # noqa: F811
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    cleanup.append(fqdn)
    owner = instance(unique)
    squatter = instance(unique)           # same hostname, another instance
    proc, url = start_server(
        tmp_path, 'audit', ipa_env, peers_env,
        identity_conf(novajoin_identity, ipa_env)
        + audit_lines(rabbit_url, audit_topic))
    try:
        answer = join_of(nova_call(url, owner, mode='direct')[0], 'direct')
        refused, _ = nova_call(url, squatter, mode='direct')
    finally:
        proc.stop()
    assert answer['hostname'] == fqdn and answer['ipaotp']
    assert 'ipaotp' not in repr(refused)         # nova served {} for the 409

    seen = []
    wait_until(lambda: seen.extend(notify_env.notifications(
        rabbit_url, audit_topic + '.info')) or len(seen) >= 2, 30,
        what='two audit events from novajoin-server')
    by_type = {m['event_type']: m for m in seen}
    created = by_type['novajoin.host.created']['payload']
    assert created['typeURI'] == CADF_EVENT
    assert (created['action'], created['outcome']) == ('create', 'success')
    assert (created['target']['id'], created['target']['name']) == (
        owner['uuid'], fqdn)
    assert by_type['novajoin.host.created']['publisher_id'].startswith(
        'novajoin-server.')
    refusal = by_type['novajoin.enrollment.refused']['payload']
    assert (refusal['outcome'], refusal['reason']['reasonCode']) == (
        'failure', '409')
    assert refusal['target']['id'] == squatter['uuid']
    assert answer['ipaotp'] not in repr(seen)

    # novajoin-notify: nova's delete, confirmed gone with the real nova API
    nova_api.require(peers_env)
    listener = start_listener(extra='\n[oslo_messaging_notifications]\n'
                                    'driver = messagingv2\ntopics = %s\n'
                              % audit_topic)
    emit(peers_env, bus, [delete_event(owner['uuid'], fqdn)], 'versioned')
    wait_until(lambda: 'removed IPA host %s' % fqdn in listener.log(), 30,
               what='host removed')
    seen = []
    wait_until(lambda: seen.extend(notify_env.notifications(
        rabbit_url, audit_topic + '.info')) or seen, 30,
        what='the removal on the bus')
    [removed] = [m for m in seen if m['event_type'] == 'novajoin.host.removed']
    assert (removed['payload']['action'], removed['payload']['outcome']) == (
        'delete', 'success')
    assert removed['payload']['target']['name'] == fqdn
    assert removed['publisher_id'].startswith('novajoin-notify.')
    assert uuid.UUID(removed['payload']['id'])
