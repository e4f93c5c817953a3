"""Session fixtures for the real peers (see peers.py)."""
import uuid

import pytest

from novajoin.ipa import IPAClient
from novajoin.ipa import errors
from novajoin.ipa.auth import PasswordAuth
from tests.functional import peers


def pytest_collection_modifyitems(items):
    """The fault tests last: they stop and start keystone and RabbitMQ,
    which every other test shares."""
    items.sort(key=lambda item: item.module.__name__.endswith('.test_faults'))


@pytest.fixture
def cleanup(ipa_admin):
    """Append host names; they are deleted from IPA at the end (with their
    services), those already gone ignored."""
    hosts = []
    yield hosts
    for fqdn in hosts:
        try:
            ipa_admin.call('host_del', fqdn)
        except errors.NotFound:
            pass


@pytest.fixture(scope='session')
def ipa_env():
    return peers.ipa_env()


@pytest.fixture(scope='session')
def ipa_admin(ipa_env):
    """An IPA client logged in as admin (for set-up and checks, not the SUT)."""
    return IPAClient([ipa_env['IPA_SERVER']],
                     PasswordAuth(ipa_env['IPA_ADMIN_USER'], ipa_env['IPA_ADMIN_PASSWORD']),
                     ca_file=ipa_env['IPA_CA_CERT'], read_timeout=30, max_in_flight=4)


@pytest.fixture(scope='session')
def peers_env():
    return peers.peers_env()


@pytest.fixture(scope='session')
def rabbit_url():
    return peers.rabbit_url()


@pytest.fixture
def unique():
    """A short unique token for names in the shared IPA realm."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope='session')
def novajoin_identity(ipa_env, ipa_admin, tmp_path_factory):
    """novajoin's IPA identity as novajoin-ipa-setup makes it: a service
    principal in the "Nova Host Manager" role and its keytab.

    The principal is on a host of its own per test session (nova/njctl-<hex>),
    so parallel sessions never rotate each other's keys. Removed at the end.
    Returns {'principal', 'keytab', 'hostname'}.
    """
    from novajoin.ipa import errors
    from novajoin.ipa_setup import provision

    hostname = 'njctl-%s.%s' % (uuid.uuid4().hex[:10], ipa_env['IPA_DOMAIN'])
    keytab = str(tmp_path_factory.mktemp('novajoin-identity') / 'nova.keytab')
    report = provision(ipa_admin, hostname, keytab, server=ipa_env['IPA_SERVER'],
                       getkeytab=ipa_env['IPA_GETKEYTAB'],
                       ca_file=ipa_env['IPA_CA_CERT'],
                       krb5_config=ipa_env['IPA_KRB5_CONFIG'],
                       admin_principal=ipa_env['IPA_ADMIN_USER'],
                       admin_password=ipa_env['IPA_ADMIN_PASSWORD'], add_host=True)
    yield {'principal': report.principal, 'keytab': keytab, 'hostname': hostname}
    for method, name in (('service_del', report.principal), ('host_del', hostname)):
        try:
            ipa_admin.call(method, name)
        except errors.NotFound:
            pass


@pytest.fixture(scope='session')
def glance(peers_env):
    """A glance stand-in in keystone's catalog (see novajoin_server.Glance)."""
    from tests.functional.novajoin_server import Glance
    stand_in = Glance(peers_env)
    yield stand_in.handler
    stand_in.close()
