import pytest

from novajoin.ipa import auth
from novajoin.ipa import errors


def test_password_auth_needs_both():
    with pytest.raises(ValueError, match='user and password'):
        auth.PasswordAuth('admin', None)


def test_kerberos_needs_a_keytab():
    with pytest.raises(ValueError, match='keytab'):
        auth.KerberosAuth(None)


def test_unreadable_keytab_is_an_auth_error(tmp_path):
    a = auth.KerberosAuth(str(tmp_path / 'missing.keytab'))
    with pytest.raises(errors.IPAAuthError, match='cannot read keytab'):
        a.credentials()


class FakeCreds:
    def __init__(self, lifetime):
        self.lifetime = lifetime
        self.name = 'nova/x@R'


def test_ticket_is_renewed_before_expiry(monkeypatch, tmp_path):
    clock = {'now': 1000.0}
    monkeypatch.setattr(auth.time, 'monotonic', lambda: clock['now'])
    a = auth.KerberosAuth(str(tmp_path / 'kt'), renew_margin=300)
    acquired = []
    lifetime = {'s': 3600}

    def acquire():
        acquired.append(a._ccache)
        a._creds = FakeCreds(lifetime['s'])
        a._renew_at = a._renewal_time(lifetime['s'])
        return a._creds
    monkeypatch.setattr(a, '_acquire', acquire)
    a.credentials()
    clock['now'] += 3000          # 600 s left: still fine
    a.credentials()
    assert len(acquired) == 1
    clock['now'] += 301           # 299 s left: renew, into a new ccache
    a.credentials()
    assert len(acquired) == 2 and acquired[0] != acquired[1]
    # a 400 s ticket is renewed at half its life, not on every call
    lifetime['s'] = 400
    clock['now'] += 3600
    a.credentials()
    clock['now'] += 150
    a.credentials()
    assert len(acquired) == 3
    clock['now'] += 60
    a.credentials()
    assert len(acquired) == 4


def test_from_conf_picks_the_method(conf):
    conf.set_override('auth_method', 'password', group='ipa')
    conf.set_override('user', 'svc', group='ipa')
    conf.set_override('password', 'pw', group='ipa')
    assert isinstance(auth.from_conf(conf), auth.PasswordAuth)
    conf.set_override('auth_method', 'kerberos', group='ipa')
    assert isinstance(auth.from_conf(conf), auth.KerberosAuth)
