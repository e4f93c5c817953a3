"""Driver for bench/bootstorm.py; runs in the peers' venv (nova 34).

N instances fetch vendor_data2.json's dynamic part at once through nova's own
DynamicVendorData code (nova's keystone session, its timeouts, its error
handling), `concurrency` at a time. Prints one JSON document: per instance,
whether nova got an OTP and how long nova's call took.
"""
import argparse
import concurrent.futures
import json
import sys
import time
import uuid
import warnings

warnings.filterwarnings('ignore')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--peers', required=True)
    p.add_argument('-n', type=int, default=150)
    p.add_argument('--concurrency', type=int, default=32)
    p.add_argument('--prefix', required=True)
    p.add_argument('--read-timeout', type=int, default=5)
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

    def fetch(inst):
        start = time.monotonic()
        data = vendordata_dynamic.DynamicVendorData(instance=inst).get()
        join = data.get('join') or {}
        return {'ok': bool(join.get('ipaotp')),
                'ms': (time.monotonic() - start) * 1000}
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(a.concurrency) as pool:
        results = list(pool.map(fetch, instances))
    wall = time.monotonic() - start
    print(json.dumps({'wall_s': wall, 'results': results}))


if __name__ == '__main__':
    main()
