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
OTPS_ISSUED = prometheus_client.Counter(
    'novajoin_otps_issued', 'Hosts created in IPA with a one-time password')
IPA_CALLS = prometheus_client.Counter(
    'novajoin_ipa_calls', 'IPA JSON-RPC calls by method and outcome',
    ['method', 'outcome'])
IPA_LATENCY = prometheus_client.Histogram(
    'novajoin_ipa_call_seconds', 'IPA JSON-RPC round trip time', ['method'],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8))
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
