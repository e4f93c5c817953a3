"""An IPA administrator's session for the commands that need one
(novajoin-ipa-setup, novajoin-reconcile --adopt).

The password comes from a file, ``$NOVAJOIN_IPA_ADMIN_PASSWORD`` or a prompt
on a terminal, never from the command line (where ``ps`` shows it); or the
caller's Kerberos ticket (``kinit admin``) is used instead.
"""
import getpass
import os
import sys

from novajoin.ipa import IPAClient
from novajoin.ipa.auth import PasswordAuth
from novajoin.ipa_setup import kerberos

PASSWORD_ENV = 'NOVAJOIN_IPA_ADMIN_PASSWORD'


def password(admin, password_file=None, prog='novajoin'):
    """The administrator's password; SystemExit when there is no way to
    get one."""
    if password_file:
        with open(password_file) as f:
            secret = f.readline().rstrip('\n')
        if not secret:
            raise SystemExit('%s: the password file %s is empty (its first line '
                             'is the password of IPA %s)'
                             % (prog, password_file, admin))
        return secret
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        return getpass.getpass('Password for IPA %s: ' % admin)
    raise SystemExit('%s: no password for IPA %s: use a password file, $%s, '
                     'Kerberos, or run on a terminal' % (prog, admin,
                                                         PASSWORD_ENV))


def auth(admin, password_file=None, use_kerberos=False, prog='novajoin'):
    """(IPA auth, password or None)."""
    if use_kerberos:
        return kerberos.CcacheAuth(), None
    secret = password(admin, password_file, prog)
    return PasswordAuth(admin, secret), secret


def client(servers, ipa_auth, ca_file=None, api_version='2.254'):
    """An IPAClient for bulk administrative work (long read timeout)."""
    ca_file = ca_file if ca_file and os.path.exists(ca_file) else None
    return IPAClient(list(servers), ipa_auth, ca_file=ca_file,
                     api_version=api_version, read_timeout=60)
