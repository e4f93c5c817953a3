"""Real nova calling a vendordata target, with nova's TLS option for it.

  PEERS_PYTHON nova_call_tls.py --peers-dir DIR [--ssl-certfile CA] ARGS...

Runs ``nova_vendordata_call.main(ARGS)`` from the peers harness (DIR, read
only) exactly as test_server.py does, except that the nova.conf it writes
also gets ``[api] vendordata_dynamic_ssl_certfile = CA`` when --ssl-certfile
is given: the CA bundle nova verifies an https:// target against. Without
it nova verifies against the system CAs, as a real nova would. The harness
has no option for it, so its write_nova_conf is wrapped here; everything
else, the https request included, is nova's own code.

Run with the peers venv's python (nova is installed there, not in .venv).
"""
import argparse
import sys


def _with_certfile(write_nova_conf, certfile):
    def write(path, *args, **kwargs):
        path = write_nova_conf(path, *args, **kwargs)
        with open(path) as f:
            lines = f.read().splitlines()
        # Right under the header: the option belongs to nova's [api] group.
        at = lines.index('[api]') + 1
        lines.insert(at, 'vendordata_dynamic_ssl_certfile = %s' % certfile)
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return path
    return write


def main(argv=None):
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--peers-dir', required=True)
    parser.add_argument('--ssl-certfile')
    ours, rest = parser.parse_known_args(argv)
    sys.path.insert(0, ours.peers_dir)
    import nova_peer
    import nova_vendordata_call
    if ours.ssl_certfile:
        nova_peer.write_nova_conf = _with_certfile(nova_peer.write_nova_conf,
                                                   ours.ssl_certfile)
    return nova_vendordata_call.main(rest)


if __name__ == '__main__':
    sys.exit(main())
