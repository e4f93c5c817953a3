"""The real nova compute API peer (nova 34's own nova-api on :8774).

``peers/up.sh --with-nova-api`` starts it (tools/test.sh does); a test that
needs it and finds it down FAILS with that command, never skips.
``peers/nova_api_seed.py`` stands in for conductor and compute: it writes the
rows a finished boot or a finished delete leaves, so "does nova still have
this instance?" gets nova-api's own answer (200, or 404 once deleted).

``Servers`` deletes the servers it created at the end; it never wipes (other
tests use the same nova-api at the same time).
"""
import json
import os
import subprocess

import pytest

from tests.functional import peers

SEED = peers.PEERS_DIR / 'nova_api_seed.py'


def require(peers_env):
    port = int(peers_env.get('NOVA_API_PORT', 8774))
    if not peers.port_open('127.0.0.1', port):
        pytest.fail('the nova compute API peer is not up on 127.0.0.1:%d; start '
                    'it with %s/up.sh --with-nova-api' % (port, peers.PEERS_DIR),
                    pytrace=False)


def service_credentials(peers_env, network_url=None):
    """join.conf lines: novajoin asks the real nova-api (found in keystone's
    catalog) as nova's service user; neutron at ``network_url`` if given."""
    text = '''
[service_credentials]
auth_type = password
auth_url = {keystone}
username = nova
password = {password}
project_name = service
user_domain_name = Default
project_domain_name = Default
'''.format(keystone=peers_env['KEYSTONE_URL'], password=peers_env['NOVA_PASSWORD'])
    if network_url:
        text += '\n[neutron]\nendpoint_override = %s\n' % network_url
    return text


class Servers:
    """Server records in the nova-api peer, made and removed by this test."""

    def __init__(self, peers_env):
        require(peers_env)
        self.python = os.path.join(peers_env['PEERS_VENV'], 'bin', 'python')
        self.created = set()

    def _seed(self, *args):
        out = subprocess.run([self.python, '-W', 'ignore', str(SEED)] + list(args),
                             capture_output=True, timeout=120,
                             cwd=str(peers.PEERS_DIR))
        if out.returncode:
            raise AssertionError('nova_api_seed %s failed: %s'
                                 % (args[0], out.stderr.decode()[-2000:]))
        return json.loads(out.stdout.decode() or 'null')

    def create(self, uuid, project, name, metadata=None):
        """Instance ``uuid`` of ``project`` now exists (ACTIVE) in nova, with
        hostname ``name`` and server ``metadata``."""
        args = ['create', '--uuid', uuid, '--project', project, '--name', name]
        if metadata:
            args += ['--metadata'] + ['%s=%s' % kv for kv in metadata.items()]
        self._seed(*args)
        self.created.add(uuid)

    def delete(self, uuid):
        """nova-compute's delete: GET /servers/<uuid> answers 404 after."""
        self._seed('delete', uuid)
        self.created.discard(uuid)

    def cleanup(self):
        """Delete what this made and nova still has: the seeder stops at an
        id it has already deleted, so only the live ones are named."""
        if self.created:
            live = {s['id'] for s in self._seed('list')}
            if self.created & live:
                self._seed('delete', *sorted(self.created & live))
            self.created.clear()
