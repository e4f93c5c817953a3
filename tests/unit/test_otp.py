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
    assert otp.secrets_from_conf(conf) == ('f' * 40, [])


OLD, NEW = 'o' * 40, 'n' * 40


def test_further_lines_of_the_secret_file_and_the_option_are_previous_secrets(
        tmp_path, conf):
    path = tmp_path / 'secret'
    path.write_text('%s\n\n%s\n' % (NEW, OLD))
    conf.set_override('otp_secret_file', str(path), group='join')
    conf.set_override('previous_otp_secrets', ['p' * 40], group='join')
    assert otp.secrets_from_conf(conf) == (NEW, [OLD, 'p' * 40])
    assert otp.source_from_conf(conf).key_id == otp.key_id(NEW)


def test_a_host_made_with_a_previous_secret_keeps_its_otp():
    before = otp.OTPSource(OLD)
    issued = before.otp('vm1.example.test', 'i1')
    after = otp.OTPSource(NEW, previous=[OLD])
    assert after.key_id == otp.key_id(NEW) != before.key_id
    assert after.otp('vm1.example.test', 'i1') != issued       # new hosts: new
    assert after.otp_of_record('vm1.example.test', 'i1', before.key_id) == issued


def test_a_record_without_key_id_was_made_with_the_oldest_secret():
    issued = otp.OTPSource(OLD).otp('vm1.example.test', 'i1')
    assert otp.OTPSource(OLD).otp_of_record('vm1.example.test', 'i1', None) == issued
    rotated = otp.OTPSource(NEW, previous=['p' * 40, OLD])
    assert rotated.otp_of_record('vm1.example.test', 'i1', None) == issued


def test_a_dropped_secret_is_an_unknown_key_that_says_what_to_do():
    made = otp.OTPSource(OLD).key_id
    with pytest.raises(otp.UnknownKey, match='previous_otp_secrets'):
        otp.OTPSource(NEW).otp_of_record('vm1.example.test', 'i1', made)


def test_the_key_id_reveals_nothing_of_the_secret_and_tells_secrets_apart():
    assert len(otp.key_id(OLD)) == otp.KEY_ID_LENGTH
    assert otp.key_id(OLD) != otp.key_id(NEW) and otp.key_id(OLD) not in OLD


def test_a_weak_previous_secret_is_refused():
    with pytest.raises(ValueError, match='previous_otp_secrets'):
        otp.OTPSource(NEW, previous=['short'])


# -- the generation: a host reset after a rebuild (novajoin.hosts.rearm) -----

REQ = 'req-0c3f4a1e-2b6d-4e8f-9a0b-1c2d3e4f5a6b'
OLD_REQ = 'req-9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a'


def _formula(secret, text):
    """HMAC-SHA256(secret, text) in 32 letters and digits, as documented."""
    import hashlib
    import hmac
    alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, 'big')
    chars = []
    for _ in range(32):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return ''.join(chars)


def test_a_generation_changes_the_otp():
    src = otp.OTPSource('s' * 40)
    first = src.otp('vm1.example.test', 'i1')
    rebuilt = src.otp('vm1.example.test', 'i1', generation=REQ)
    assert len(rebuilt) == otp.LENGTH and rebuilt.isalnum()
    assert rebuilt != first
    assert src.otp('vm1.example.test', 'i1', generation=OLD_REQ) not in (
        first, rebuilt)
    # ... and is the same everywhere the secret is
    assert otp.OTPSource('s' * 40).otp('vm1.example.test', 'i1',
                                       generation=REQ) == rebuilt
    assert src.otp('vm2.example.test', 'i1', generation=REQ) != rebuilt
    assert src.otp('vm1.example.test', 'i2', generation=REQ) != rebuilt


@pytest.mark.parametrize('generation', [None, ''])
def test_no_generation_is_the_formula_from_before_generations(generation):
    src = otp.OTPSource('s' * 40)
    value = src.otp('vm1.example.test', 'i1', generation=generation)
    assert value == src.otp('vm1.example.test', 'i1')
    assert value == _formula('s' * 40, 'vm1.example.test\0i1')
    assert value == 'qS4EJbTkXpLDp9APWu9widYKFWGuJQ76'    # novajoin 2.0 gave


def test_a_generation_is_hashed_after_a_nul_as_documented():
    # every replica and version must derive the same OTP for a reset host
    src = otp.OTPSource('s' * 40)
    assert src.otp('vm1.example.test', 'i1', generation=REQ) == _formula(
        's' * 40, 'vm1.example.test\0i1\0' + REQ)


def test_the_generation_is_the_fourth_argument_after_the_key():
    src = otp.OTPSource('s' * 40)
    assert src.otp('vm1.example.test', 'i1', generation=REQ) == src.otp(
        'vm1.example.test', 'i1', otp.key_id('s' * 40), REQ)


def test_a_generation_with_a_previous_key_uses_that_secret():
    rotated = otp.OTPSource(NEW, previous=[OLD])
    expected = otp.OTPSource(OLD).otp('vm1.example.test', 'i1', generation=REQ)
    assert rotated.otp('vm1.example.test', 'i1', otp.key_id(OLD),
                       generation=REQ) == expected
    assert rotated.otp('vm1.example.test', 'i1', generation=REQ) != expected
    with pytest.raises(otp.UnknownKey):
        otp.OTPSource(NEW).otp('vm1.example.test', 'i1', otp.key_id(OLD),
                               generation=REQ)
