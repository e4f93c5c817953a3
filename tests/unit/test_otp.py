import pytest

from novajoin import otp


def test_same_inputs_same_otp_across_instances_of_the_source():
    a = otp.OTPSource('s' * 40)
    b = otp.OTPSource('s' * 40)   # another worker or replica
    assert a.otp('vm1.example.test', 'i1') == b.otp('vm1.example.test', 'i1')


def test_otp_depends_on_host_instance_and_secret():
    src = otp.OTPSource('s' * 40)
    base = src.otp('vm1.example.test', 'i1')
    assert len(base) == otp.LENGTH and base.isalnum()
    assert src.otp('vm2.example.test', 'i1') != base
    assert src.otp('vm1.example.test', 'i2') != base
    assert otp.OTPSource('t' * 40).otp('vm1.example.test', 'i1') != base


@pytest.mark.parametrize('secret', [None, '', 'short'])
def test_weak_secret_is_refused(secret):
    with pytest.raises(ValueError, match='otp_secret'):
        otp.OTPSource(secret)


def test_secret_file(tmp_path, conf):
    path = tmp_path / 'secret'
    path.write_text('f' * 40 + '\n')
    conf.set_override('otp_secret_file', str(path), group='join')
    assert otp.secret_from_conf(conf) == 'f' * 40
