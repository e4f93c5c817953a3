"""Floating-IP records against the REAL neutron 29 peer (``peers/up.sh
--with-neutron``): neutron's own API makes the ports and floating IPs, neutron
publishes the notifications on the real RabbitMQ, and novajoin-notify reads
the port back from neutron (found in keystone's catalog) before it writes a
record.

The rule proven here: any tenant may create a port on its own network whose
``device_id`` names another project's instance, and attach a floating IP to
it; neutron accepts that. novajoin writes a record for a floating IP only when
the port's project is the project IPA records as the host's owner.
"""
import json
import os
import subprocess

import pytest

from tests.functional import notify_env
from tests.functional import nova_api
from tests.functional import peers
from tests.functional.notify_env import wait_until
from tests.functional.test_notify import FORWARD
from tests.functional.test_notify import IPAState
from tests.functional.test_server import project_ids

SEED = peers.PEERS_DIR / 'neutron_seed.py'


class Neutron:
    """neutron_seed.py: acts on a project as that project's own user."""

    def __init__(self, peers_env):
        port = int(peers_env.get('NEUTRON_PORT', 9697))
        if not peers.port_open('127.0.0.1', port):
            pytest.fail('the neutron peer is not up on 127.0.0.1:%d; start it with '
                        '%s/up.sh --with-neutron' % (port, peers.PEERS_DIR),
                        pytrace=False)
        self.python = os.path.join(peers_env['PEERS_VENV'], 'bin', 'python')
        self.made = []      # (kind, id, project), deleted in reverse order

    def __call__(self, *args):
        out = subprocess.run([self.python, '-W', 'ignore', str(SEED)] + list(args),
                             capture_output=True, timeout=180,
                             cwd=str(peers.PEERS_DIR))
        if out.returncode:
            raise AssertionError('neutron_seed %s failed: %s'
                                 % (' '.join(args), out.stderr.decode()[-2000:]))
        return json.loads(out.stdout.decode() or 'null')

    def port(self, device_id, project):
        port = self('port-create', '--device-id', device_id, '--project', project)
        self.made.append(('port', port['id'], project))
        return port

    def fip(self, project, port_id=None):
        fip = self('fip-create', '--project', project,
                   *(['--port-id', port_id] if port_id else []))
        self.made.append(('fip', fip['id'], project))
        return fip

    def cleanup(self):
        while self.made:
            kind, ident, project = self.made.pop()
            try:
                self('%s-delete' % kind, '--%s-id' % kind, ident, '--project', project)
            except AssertionError:
                pass    # gone already


@pytest.fixture(scope='module')
def neutron(peers_env):
    seed = Neutron(peers_env)
    for project in ('demo', 'service'):
        seed('setup', '--project', project)
    return seed


@pytest.fixture
def ports(neutron):
    yield neutron
    neutron.cleanup()


@pytest.fixture
def state(ipa_admin, unique):
    state = IPAState(ipa_admin, unique)
    yield state
    for fqdn in state.hosts:
        short = fqdn.split('.')[0]
        try:
            ipa_admin.call('dnsrecord_del', FORWARD, short, del_all=True)
        except Exception:  # noqa: BLE001 - no record left: fine
            pass
    state.cleanup()


@pytest.fixture
def listener(tmp_path, rabbit_url, ipa_env, novajoin_identity, peers_env, unique):
    """novajoin-notify on neutron's own topic with a pool of its own; nova and
    neutron come from keystone's catalog (no endpoint override)."""
    nova_api.require(peers_env)
    pool = 'nj-neutron-%s' % unique
    conf = notify_env.write_conf(tmp_path / 'notify.conf', rabbit_url, ipa_env,
                                 novajoin_identity, ['notifications'], pool,
                                 nova_api.service_credentials(peers_env))
    proc = notify_env.NotifyProcess(conf, tmp_path / 'notify.log')
    yield proc.start()
    proc.stop()
    notify_env.delete_queues(rabbit_url, [pool])


def a_values(ipa, short):
    try:
        return ipa.call('dnsrecord_show', FORWARD, short)['result'].get('arecord', [])
    except Exception:  # noqa: BLE001 - NotFound: no record
        return []


def test_a_tenants_port_naming_another_projects_instance_gets_no_record(
        listener, ports, state, ipa_admin, peers_env, unique):
    ids = project_ids(peers_env)
    # the victim: an enrolled server of project "service"
    instance, fqdn = state.enroll('nj%s' % unique, project=ids['service'])
    short = fqdn.split('.')[0]

    # the attacker (demo's own user): a port on demo's network claiming the
    # victim's instance, and a floating IP attached to it -- neutron allows both
    port = ports.port(instance, 'demo')
    assert port['project_id'] == ids['demo']
    fip = ports.fip('demo')
    ports('fip-associate', '--project', 'demo', '--port-id', port['id'],
          '--fip-id', fip['id'])
    ip = fip['floating_ip_address']
    wait_until(lambda: 'SUSPICIOUS: floating IP %s is on a port of project %s'
               % (ip, ids['demo']) in listener.log(), 60, what='the claim refused')
    assert a_values(ipa_admin, short) == []

    # the control: the owner's own port (nova, as project service) gets one
    own = ports.port(instance, 'service')
    own_fip = ports.fip('service', own['id'])
    own_ip = own_fip['floating_ip_address']
    wait_until(lambda: a_values(ipa_admin, short) == [own_ip], 60,
               what='A record of the owner\'s floating IP')

    ports('fip-disassociate', '--project', 'service', '--fip-id', own_fip['id'])
    wait_until(lambda: a_values(ipa_admin, short) == [], 60,
               what='A record removed on disassociate')
    assert ip not in a_values(ipa_admin, short)
    assert 'Traceback' not in listener.log()
