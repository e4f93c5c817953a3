"""nova 34 fetching vendordata for many instances at once (bench/bootstorm.py,
tests/functional/test_server.py); runs in the peers' venv.

N instances fetch vendor_data2.json's dynamic part through nova's own
DynamicVendorData code (nova's keystone session, its timeouts, its error
handling), `concurrency` at a time, `passes` times over the same instances
(pass 1: the boot storm; later passes: refetches). Prints one JSON document:
per pass, the wall time and per instance whether nova got an OTP, a short
digest of it (never the OTP itself), how long nova's call took and, when
nova got nothing, the warning nova logged (why: a status, a timeout).
"""
import argparse
import concurrent.futures
import hashlib
import json
import logging
import sys
import threading
import time
import uuid
import warnings

warnings.filterwarnings('ignore')


class NovaWarnings(logging.Handler):
    """What nova's vendordata code logged, per fetching thread."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record):
        seen = getattr(self.local, 'seen', None)
        if seen is not None:
            seen.append(record.getMessage()[:300])

    def start(self):
        self.local.seen = []

    def take(self):
        seen, self.local.seen = self.local.seen, None
        return '; '.join(seen) or None


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--peers', required=True)
    p.add_argument('-n', type=int, default=150)
    p.add_argument('--concurrency', type=int, default=32)
    p.add_argument('--prefix', required=True)
    p.add_argument('--passes', type=int, default=1)
    p.add_argument('--read-timeout', type=int, default=5)
    p.add_argument('--warm', action='append', default=[],
                   help='also send the warm-up fetch straight to this URL '
                        '(each replica behind a load balancer), so that each '
                        'has seen nova\'s token before the storm')
    p.add_argument('target')
    a = p.parse_args()
    sys.path.insert(0, a.peers)
    import nova_peer
    args = nova_peer.add_nova_args(argparse.ArgumentParser()).parse_args(
        [a.target, '--read-timeout', str(a.read_timeout), '--connect-timeout', '5'])
    nova_peer.setup_from_args(args)
    from nova.api.metadata import vendordata_dynamic
    instances = [nova_peer.make_instance(
        uuid=str(uuid.uuid4()), hostname='%s-%d' % (a.prefix, i),
        metadata={'ipa_enroll': 'true'}) for i in range(a.n)]
    # nova caches its service session per process: warm it, as a running
    # nova-api-metadata would be.
    warm = nova_peer.make_instance(uuid=str(uuid.uuid4()), hostname=a.prefix + '-warm',
                                   metadata={})
    vendordata_dynamic.DynamicVendorData(instance=warm).get()
    for url in a.warm:
        driver = vendordata_dynamic.DynamicVendorData(instance=warm)
        driver._do_request('warm', url)   # nova's own request, its token

    why = NovaWarnings()
    logging.getLogger('nova.api.metadata.vendordata_dynamic').addHandler(why)

    def fetch(inst):
        why.start()
        start = time.monotonic()
        data = vendordata_dynamic.DynamicVendorData(instance=inst).get()
        ms = (time.monotonic() - start) * 1000
        join = data.get('join') or {}
        otp = join.get('ipaotp')
        return {'ok': bool(join), 'otp': bool(otp), 'ms': ms, 'error': why.take(),
                'digest': hashlib.sha256(otp.encode()).hexdigest()[:12] if otp else None}
    passes = []
    with concurrent.futures.ThreadPoolExecutor(a.concurrency) as pool:
        for _ in range(a.passes):
            start = time.monotonic()
            results = list(pool.map(fetch, instances))
            passes.append({'wall_s': time.monotonic() - start, 'results': results})
    print(json.dumps({'passes': passes}))


if __name__ == '__main__':
    main()
