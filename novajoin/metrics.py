"""Prometheus metrics of novajoin (served at /metrics by the API).

Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR so that
/metrics reports all workers (prometheus-client's multiprocess mode).
"""
import os

import prometheus_client
from prometheus_client import multiprocess

REQUESTS = prometheus_client.Counter(
    'novajoin_vendordata_requests', 'Vendordata requests by outcome',
    ['outcome'])
ANSWERS_REUSED = prometheus_client.Counter(
    'novajoin_answers_reused', 'Repeated vendordata requests answered from '
    'the answer this process gave moments before ([join] answer_cache_ttl)')
OTPS_ISSUED = prometheus_client.Counter(
    'novajoin_otps_issued', 'Hosts created in IPA with a one-time password')
IPA_CALLS = prometheus_client.Counter(
    'novajoin_ipa_calls', 'IPA JSON-RPC calls by method and outcome',
    ['method', 'outcome'])
IPA_LATENCY = prometheus_client.Histogram(
    'novajoin_ipa_call_seconds', 'IPA JSON-RPC round trip time', ['method'],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8))
REQUEST_WAIT = prometheus_client.Histogram(
    'novajoin_request_wait_seconds', 'Time a vendordata request waited '
    'before novajoin started on it: for a free gunicorn thread, then for '
    'keystonemiddleware\'s check of the token',
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8))
IPA_BATCH_SIZE = prometheus_client.Histogram(
    'novajoin_ipa_round_trip_commands', 'IPA commands per round trip (group '
    'commit: more than one means a shared batch)',
    buckets=(1, 2, 4, 8, 16, 32, 64))
IPA_QUEUE_WAIT = prometheus_client.Histogram(
    'novajoin_ipa_queue_wait_seconds', 'Time a call waited for a free IPA slot',
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8))
SHED = prometheus_client.Counter(
    'novajoin_shed', 'Work refused fast instead of done late, by reason '
    '(deadline: an IPA call still queued when its caller\'s time ran out; '
    'queue full: too many IPA calls waiting; late: a request that waited too '
    'long for a thread; shutdown)', ['reason'])
NOTIFICATIONS = prometheus_client.Counter(
    'novajoin_notifications', 'Notifications handled by event type and outcome',
    ['event_type', 'outcome'])


def exposition():
    """(body, content type) of the current metrics."""
    if os.environ.get('PROMETHEUS_MULTIPROC_DIR'):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.REGISTRY
    return (prometheus_client.generate_latest(registry),
            prometheus_client.CONTENT_TYPE_LATEST)
