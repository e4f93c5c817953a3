"""Upgrading from novajoin 1.x, on the real peers.

- ``novajoin-reconcile --adopt`` on the real FreeIPA and the real nova compute
  API, then a real delete through novajoin-notify with novajoin's own
  least-privilege role. The hosts are made the way novajoin 1.x made them (its
  description, a random OTP, no owner; subhosts without a description, linked
  by managedBy).
- novajoin-server started with a novajoin 1.x join.conf ([DEFAULT] options)
  listens where it says, authenticates with its keytab, names hosts in its
  domain, and warns about every deprecated option.
"""
import contextlib
import json
import os
import subprocess
import sys
import uuid

import pytest

from novajoin import otp
from novajoin.hosts import records
from novajoin.ipa import errors
from tests.functional import notify_env
from tests.functional import nova_api
from tests.functional import peers
from tests.functional.notify_env import wait_until
from tests.functional.test_notify import PROJECT
from tests.functional.test_notify import bus  # noqa: F401 - fixture
from tests.functional.test_notify import delete_event
from tests.functional.test_notify import nova  # noqa: F401 - fixture
from tests.functional.test_server import instance as nova_instance
from tests.functional.test_server import join_of
from tests.functional.test_server import nova_call

SECRET = 'functional-adopt-' + 'y' * 40
SERVICES = {'compact_service_HTTP': json.dumps(['internalapi'])}


@pytest.fixture
def made(ipa_admin):
    """Hosts this test made as novajoin 1.x did; removed at the end."""
    names = []
    yield names
    for fqdn in sorted(names, key=len, reverse=True):
        try:
            ipa_admin.call('host_del', fqdn)
        except errors.NotFound:
            pass


def make_1x_host(ipa_admin, made, fqdn):
    # novajoin 1.x add_host: this description, a random OTP, force
    ipa_admin.call('host_add', fqdn, force=True,
                   description=records.LEGACY_1X_DESCRIPTION,
                   userpassword=uuid.uuid4().hex)
    made.append(fqdn)


def make_1x_subhost(ipa_admin, made, fqdn, manager):
    ipa_admin.call('host_add', fqdn, force=True)      # no description in 1.x
    made.append(fqdn)
    ipa_admin.call('host_add_managedby', fqdn, host=[manager])


def conf_for(tmp_path, bus, ipa_env, identity, peers_env, name):
    return notify_env.write_conf(
        tmp_path / (name + '.conf'), bus.url, ipa_env, identity, bus.topics,
        bus.pool, nova_api.service_credentials(peers_env)
        + '\n[join]\notp_secret = %s\nservice_projects = %s\n' % (SECRET, PROJECT))


def adopt(conf, ipa_env, *args):
    env = dict(os.environ, NOVAJOIN_IPA_ADMIN_PASSWORD=ipa_env['IPA_ADMIN_PASSWORD'])
    out = subprocess.run([peers.python(), '-m', 'novajoin.cmd.reconcile',
                          '--config-file', str(conf), '--adopt',
                          '--admin', ipa_env['IPA_ADMIN_USER']] + list(args),
                         capture_output=True, text=True, timeout=180,
                         cwd=str(peers.ROOT), env=env, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@contextlib.contextmanager
def deleted_in_nova(tmp_path, bus, nova, ipa_env, identity, peers_env,
                    instance, fqdn):
    """novajoin-notify, with novajoin's own role, running while nova deletes
    ``instance`` and sends its delete notification; stopped afterwards."""
    listener = notify_env.NotifyProcess(
        conf_for(tmp_path, bus, ipa_env, identity, peers_env, 'notify'),
        tmp_path / 'notify.log', None)
    listener.start()
    try:
        nova.delete(instance)
        notify_env.emit_nova(peers_env, bus.url, [delete_event(instance, fqdn)],
                             bus.legacy, bus.versioned, 'versioned')
        yield listener
    finally:
        listener.stop()


def show(ipa_admin, fqdn):
    try:
        return ipa_admin.call('host_show', fqdn, all=True)['result']
    except errors.NotFound:
        return None


def test_a_1x_host_is_adopted_enrolls_with_novajoins_otp_and_is_deleted(
        tmp_path, bus, nova, made, ipa_admin, ipa_env, novajoin_identity,
        peers_env, unique):
    domain = ipa_env['IPA_DOMAIN']
    instance = str(uuid.uuid4())
    short = 'nj%sa' % unique
    fqdn = '%s.%s' % (short, domain)
    sub = '%s.internalapi.%s' % (short, domain)
    orphan = 'nj%sz.%s' % (unique, domain)          # no server has this name
    make_1x_host(ipa_admin, made, fqdn)
    make_1x_subhost(ipa_admin, made, sub, fqdn)
    make_1x_host(ipa_admin, made, orphan)
    nova.create(instance, PROJECT, short, metadata=SERVICES)
    conf = conf_for(tmp_path, bus, ipa_env, novajoin_identity, peers_env, 'adopt')

    # the dry run (the default) lists, and changes nothing
    out = adopt(conf, ipa_env)
    assert 'would adopt %s: instance %s of project %s' % (fqdn, instance,
                                                          PROJECT) in out
    assert 'would adopt %s: subhost of project %s' % (sub, PROJECT) in out
    assert 'would leave %s: no live nova server is named so' % orphan in out
    assert records.description(show(ipa_admin, fqdn)) == \
        records.LEGACY_1X_DESCRIPTION

    out = adopt(conf, ipa_env, '--apply')
    assert '2 adopted, 1 left as they are' in out
    assert records.owner_of(show(ipa_admin, fqdn)) == (instance, PROJECT,
                                                       'default')
    assert records.subhost_owner(show(ipa_admin, sub)) == (PROJECT, 'default')
    assert records.description(show(ipa_admin, orphan)) == \
        records.LEGACY_1X_DESCRIPTION
    # No OTP in what it printed; the host now takes novajoin's OTP.
    novajoins_otp = otp.OTPSource(SECRET).otp(fqdn, instance)
    assert novajoins_otp not in out
    joined = peers.ipa_join(ipa_env, fqdn, novajoins_otp)
    assert joined.returncode == 0, joined.stderr
    assert show(ipa_admin, fqdn)['has_keytab']

    # A second run finds nothing left to adopt.
    assert '0 adopted, 1 left' in adopt(conf, ipa_env, '--apply')

    # The instance is deleted: novajoin-notify, with novajoin's own role,
    # removes the adopted host and its subhost; the orphan stays.
    with deleted_in_nova(tmp_path, bus, nova, ipa_env, novajoin_identity,
                         peers_env, instance, fqdn):
        wait_until(lambda: show(ipa_admin, fqdn) is None, 30, what='host removed')
        wait_until(lambda: show(ipa_admin, sub) is None, 10, what='subhost removed')
        assert show(ipa_admin, orphan) is not None


def test_a_1x_host_two_live_servers_are_named_after_is_left_alone(
        tmp_path, bus, nova, made, ipa_admin, ipa_env, novajoin_identity,
        peers_env, unique):
    short = 'nj%sb' % unique
    fqdn = '%s.%s' % (short, ipa_env['IPA_DOMAIN'])
    make_1x_host(ipa_admin, made, fqdn)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    nova.create(first, PROJECT, short)
    nova.create(second, PROJECT, short)
    conf = conf_for(tmp_path, bus, ipa_env, novajoin_identity, peers_env, 'adopt')
    out = adopt(conf, ipa_env, '--apply')
    assert 'leave %s: 2 live nova servers are named so (%s)' % (
        fqdn, ', '.join(sorted([first, second]))) in out
    assert records.description(show(ipa_admin, fqdn)) == \
        records.LEGACY_1X_DESCRIPTION


def test_an_enrolled_1x_host_is_adopted_without_touching_its_keys(
        tmp_path, bus, nova, made, ipa_admin, ipa_env, novajoin_identity,
        peers_env, unique):
    """IPA's host_find says nothing of keys: adoption must still see that
    the guest enrolled and leave its password alone (IPA refuses one on an
    enrolled host)."""
    instance = str(uuid.uuid4())
    short = 'nj%se' % unique
    fqdn = '%s.%s' % (short, ipa_env['IPA_DOMAIN'])
    ipa_admin.call('host_add', fqdn, force=True,
                   description=records.LEGACY_1X_DESCRIPTION,
                   userpassword='Otp-1x-' + unique)
    made.append(fqdn)
    joined = peers.ipa_join(ipa_env, fqdn, 'Otp-1x-' + unique)
    assert joined.returncode == 0, joined.stderr
    nova.create(instance, PROJECT, short)
    conf = conf_for(tmp_path, bus, ipa_env, novajoin_identity, peers_env, 'adopt')
    out = adopt(conf, ipa_env, '--apply')
    assert 'adopt %s: instance %s of project %s' % (fqdn, instance,
                                                    PROJECT) in out
    assert 'not enrolled yet' not in out
    host = show(ipa_admin, fqdn)
    assert records.owner_of(host) == (instance, PROJECT, 'default')
    assert host['has_keytab']


def test_description_records_move_to_userclass_only_when_nova_confirms(
        tmp_path, bus, nova, made, ipa_admin, ipa_env, novajoin_identity,
        peers_env, unique):
    """Hosts as novajoin 2.0 development builds made them (the record in the
    description only): an honest one is moved into userclass and then removed
    by a real delete; one whose guest rewrote its description to claim the
    first one's instance is listed and left as it is."""
    domain = ipa_env['IPA_DOMAIN']
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    honest = 'nj%sh.%s' % (unique, domain)
    forged = 'nj%sf.%s' % (unique, domain)
    key = otp.key_id(SECRET)
    for fqdn in (honest, forged):
        ipa_admin.call('host_add', fqdn, force=True,
                       description=records.owner_record(first, PROJECT,
                                                        'default', key),
                       userclass=['webservers'])
        made.append(fqdn)
    nova.create(first, PROJECT, honest.split('.')[0])
    nova.create(second, PROJECT, forged.split('.')[0])
    conf = conf_for(tmp_path, bus, ipa_env, novajoin_identity, peers_env, 'adopt')

    out = adopt(conf, ipa_env, '--apply')
    assert 'adopt %s: record moved to userclass: instance %s of project %s' % (
        honest, first, PROJECT) in out
    assert 'leave %s: its description names instance %s' % (forged, first) in out
    moved = show(ipa_admin, honest)
    assert records.owner_of(moved) == (first, PROJECT, 'default')
    assert records.otp_key_of(moved) == key
    assert 'webservers' in moved['userclass']
    assert records.owner_of(show(ipa_admin, forged)) is None

    with deleted_in_nova(tmp_path, bus, nova, ipa_env, novajoin_identity,
                         peers_env, first, honest):
        wait_until(lambda: show(ipa_admin, honest) is None, 30,
                   what='host removed')
        assert show(ipa_admin, forged) is not None


def test_novajoin_server_starts_with_a_1x_join_conf_and_warns(
        tmp_path, ipa_env, peers_env, novajoin_identity, ipa_admin, unique):
    port = peers.free_port()
    keystone = peers_env['KEYSTONE_URL']
    conf = tmp_path / 'join.conf'
    # novajoin 1.x's [DEFAULT] options, as /etc/nova/join.conf had them, plus
    # what 2.x needs that 1.x did not have ([ipa] servers, the OTP secret)
    conf.write_text('''[DEFAULT]
join_listen = 127.0.0.1
join_listen_port = {port}
keytab = {keytab}
domain = {domain}
project_subdomain = false
connect_retries = 3
url = https://{server}/ipa/json
normalize_project = true
auth_strategy = keystone

[ipa]
servers = {server}
ca_file = {ca}
principal = {principal}
krb5_config = {krb5}

[join]
otp_secret = {secret}

[keystone_authtoken]
auth_type = password
auth_url = {keystone}
www_authenticate_uri = {keystone}
username = vendordata
password = {vendordata}
project_name = service
user_domain_name = Default
project_domain_name = Default
'''.format(port=port, keytab=novajoin_identity['keytab'],
           domain=ipa_env['IPA_DOMAIN'], server=ipa_env['IPA_SERVER'],
           ca=ipa_env['IPA_CA_CERT'], principal=novajoin_identity['principal'],
           krb5=ipa_env['IPA_KRB5_CONFIG'], secret=SECRET, keystone=keystone,
           vendordata=peers_env['VENDORDATA_PASSWORD']))
    exe = os.path.join(os.path.dirname(sys.executable), 'novajoin-server')
    proc = peers.Process([exe, '--config-file', str(conf)], tmp_path / 'server.log')
    url = 'http://127.0.0.1:%d' % port
    fqdn = 'vm-%s.%s' % (unique, ipa_env['IPA_DOMAIN'])
    try:
        peers.wait_for_http(url + '/healthcheck', 60, proc.proc)
        inst = nova_instance(unique)
        result, _ = nova_call(url, inst, mode='direct')
        join = join_of(result, 'direct')
        assert join['hostname'] == fqdn
        assert join['ipaotp'] == otp.OTPSource(SECRET).otp(fqdn, inst['uuid'])
    finally:
        proc.stop()
        try:
            ipa_admin.call('host_del', fqdn)
        except errors.NotFound:
            pass
    log = proc.log()
    for old, new in [('join_listen', '"bind_host" from group "api"'),
                     ('join_listen_port', '"bind_port" from group "api"'),
                     ('keytab', '"keytab" from group "ipa"'),
                     ('domain', '"domain" from group "join"'),
                     ('connect_retries', '"retries" from group "ipa"')]:
        assert 'Option "%s" from group "DEFAULT" is deprecated. Use option %s' % (
            old, new) in log, old
    for gone in ('url', 'normalize_project', 'auth_strategy'):
        assert 'Option "%s" from group "DEFAULT" is deprecated for removal' % gone \
            in log, gone
    assert join['ipaotp'] not in log
