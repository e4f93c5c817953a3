"""Session fixtures for the real peers (see peers.py)."""
import uuid

import pytest

from novajoin.ipa import IPAClient
from novajoin.ipa.auth import PasswordAuth
from tests.functional import peers


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
