"""create_app's wiring from join.conf: the CA guests get with their OTP."""
import logging

import pytest

from novajoin.api import app
from tests.functional.novajoin_server import make_tls


def test_the_ipa_ca_file_is_what_guests_get(conf, tmp_path):
    tls = make_tls(tmp_path)
    conf.set_override('ca_file', tls['ca'], group='ipa')
    bundle = app.guest_ca_cert(conf)
    with open(tls['ca']) as f:
        assert bundle.split() == f.read().split()
    conf.set_override('send_ca_cert', False, group='join')
    assert app.guest_ca_cert(conf) is None


def test_a_missing_ca_file_is_a_warning_and_no_ca(conf, tmp_path, caplog):
    conf.set_override('ca_file', str(tmp_path / 'none.crt'), group='ipa')
    with caplog.at_level(logging.WARNING):
        assert app.guest_ca_cert(conf) is None
    assert 'trust on first use' in caplog.text


def test_a_ca_file_that_is_not_pem_stops_the_service(conf, tmp_path):
    bad = tmp_path / 'ca.crt'
    bad.write_text('not a certificate\n')
    conf.set_override('ca_file', str(bad), group='ipa')
    conf.set_override('servers', ['ipa.example.test'], group='ipa')
    with pytest.raises(ValueError, match='holds no PEM certificate'):
        app.build_enroller(conf)
