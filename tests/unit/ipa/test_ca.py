"""The CA bundle handed to guests: only checked, re-encoded certificates."""
import base64

import pytest

from novajoin.ipa import ca
from tests.functional.novajoin_server import make_tls


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp('pki'))


def read(path):
    with open(path) as f:
        return f.read()


def test_a_pem_ca_is_handed_on_as_its_certificate_only(pki, tmp_path):
    path = tmp_path / 'ca.crt'
    # comments and text around the block (as some tools write) are dropped
    path.write_text('Subject: CN=test\n' + read(pki['ca']) + '# trailing text\n')
    bundle = ca.load_bundle(str(path))
    assert bundle.startswith('-----BEGIN CERTIFICATE-----\n')
    assert bundle.endswith('-----END CERTIFICATE-----\n')
    assert 'Subject' not in bundle and 'trailing' not in bundle
    assert ca.parse_bundle(read(pki['ca'])) == bundle


def test_a_chain_keeps_every_certificate_in_order(pki, tmp_path):
    path = tmp_path / 'chain.crt'
    path.write_text(read(pki['cert']) + read(pki['ca']))
    bundle = ca.load_bundle(str(path))
    assert bundle.count('BEGIN CERTIFICATE') == 2
    assert bundle.index(ca.parse_bundle(read(pki['ca']))) > 0


@pytest.mark.parametrize('text,message', [
    ('', 'holds no PEM certificate'),
    ('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
     'holds no PEM certificate'),
    ('-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n'
     % base64.b64encode(b'not a certificate').decode(), 'not a bundle of X.509'),
])
def test_anything_but_certificates_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        ca.parse_bundle(text)


def test_a_private_key_in_the_file_is_never_handed_on(pki, tmp_path):
    path = tmp_path / 'mixed.pem'
    path.write_text(read(pki['key']) + read(pki['ca']))
    bundle = ca.load_bundle(str(path))
    assert 'PRIVATE' not in bundle and bundle.count('BEGIN') == 1


def test_unreadable_large_or_binary_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match='cannot be read'):
        ca.load_bundle(str(tmp_path / 'missing.crt'))
    big = tmp_path / 'big.crt'
    big.write_text('x' * (ca.MAX_BYTES + 1))
    with pytest.raises(ValueError, match='larger than'):
        ca.load_bundle(str(big))
    binary = tmp_path / 'ca.der'
    binary.write_bytes(b'\x30\x82\xff\xfe')
    with pytest.raises(ValueError, match='not a PEM'):
        ca.load_bundle(str(binary))
