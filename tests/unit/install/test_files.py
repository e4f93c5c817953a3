"""novajoin.install.files: what it prints of a config file."""
from novajoin.install import files


def test_mask_hides_passwords_secrets_and_url_credentials():
    assert files.mask('password = NovaPass') == 'password = ***'
    assert files.mask('otp_secret = abc') == 'otp_secret = ***'
    assert files.mask('transport_url = rabbit://u:p@h:5672/') == \
        'transport_url = rabbit://***@h:5672/'
    assert files.mask('my_ip = 10.0.0.1') == 'my_ip = 10.0.0.1'
