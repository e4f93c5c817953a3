"""Kerberos for the set-up tool: the admin's ticket and novajoin's keytab.

IPA's JSON-RPC has no command that hands out keys: a keytab comes from the
LDAP "get keytab" extended operation, which ``ipa-getkeytab`` implements. It
binds to LDAP with the caller's Kerberos ticket, so a password login first
gets a ticket into a private, temporary ccache (never KRB5CCNAME of the
process, never the password on a command line).
"""
import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import uuid

from novajoin.ipa import errors
from novajoin.ipa_setup.errors import SetupError


class CcacheAuth:
    """Negotiate with the caller's own ticket (``kinit admin`` beforehand)."""

    json_path = '/ipa/json'

    def __init__(self, ccache=None):
        self.ccache = ccache

    def _creds(self):
        import gssapi
        store = {'ccache': self.ccache} if self.ccache else None
        try:
            creds = gssapi.Credentials(usage='initiate', store=store)
            creds.lifetime  # fails now if there is no valid ticket
        except gssapi.exceptions.GSSError as exc:
            raise errors.IPAAuthError('no usable Kerberos ticket (run kinit '
                                      'as an IPA admin first): %s' % exc) from exc
        return creds

    def request_auth(self):
        from requests_gssapi import DISABLED, HTTPSPNEGOAuth
        return HTTPSPNEGOAuth(creds=self._creds(), mutual_authentication=DISABLED)

    def login(self, session, base_url, referer, timeout, verify):
        self._creds()

    def describe(self):
        return 'Kerberos ticket in %s' % (self.ccache or 'the default ccache')


@contextlib.contextmanager
def password_ccache(principal, password):
    """A FILE ccache holding a ticket for ``principal``; removed afterwards."""
    import gssapi
    from gssapi import raw
    tmpdir = tempfile.mkdtemp(prefix='novajoin-setup-')  # mode 0700
    ccache = 'FILE:' + os.path.join(tmpdir, 'ccache')
    try:
        name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
        try:
            creds = raw.acquire_cred_with_password(
                name, password.encode(), usage='initiate').creds
            raw.store_cred_into({'ccache': ccache}, creds, usage='initiate',
                                overwrite=True)
        except gssapi.exceptions.GSSError as exc:
            raise SetupError('cannot get a Kerberos ticket for %s with the '
                             'password: %s' % (principal, exc)) from exc
        yield ccache
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def keytab_works(path, principal):
    """Whether the KDC gives ``principal`` a ticket for the keys in ``path``.

    False for a missing file, a foreign principal, or keys IPA has replaced.
    """
    if not os.path.isfile(path):
        return False
    import gssapi
    store = {'client_keytab': path,
             'ccache': 'MEMORY:novajoin-setup-%s' % uuid.uuid4().hex}
    try:
        name = gssapi.Name(principal, gssapi.NameType.kerberos_principal)
        creds = gssapi.Credentials(name=name, usage='initiate', store=store)
        return bool(creds.lifetime)  # makes MIT krb5 do the AS exchange now
    except gssapi.exceptions.GSSError:
        return False


def fetch_keytab(getkeytab, server, principal, path, ccache=None, ca_file=None,
                 krb5_config=None, owner=None):
    """New keys for ``principal`` into ``path`` (0600, ``owner``), atomically.

    This rotates the principal's keys: any other copy of its keytab stops
    working. ipa-getkeytab appends to an existing file, so it writes a fresh
    file in a private directory next to ``path`` that then replaces ``path``.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix='.novajoin-keytab-', dir=directory)
    tmp = os.path.join(tmpdir, 'keytab')
    cmd = [getkeytab, '-s', server, '-p', principal, '-k', tmp]
    if ca_file:
        cmd += ['--cacert', ca_file]
    env = dict(os.environ)
    if ccache:
        env['KRB5CCNAME'] = ccache
    if krb5_config:
        env['KRB5_CONFIG'] = krb5_config
    try:
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                  timeout=120)
        except FileNotFoundError as exc:
            raise SetupError('%s not found: install the FreeIPA client tools '
                             'or pass --getkeytab' % getkeytab) from exc
        if proc.returncode != 0 or not os.path.isfile(tmp):
            raise SetupError('%s failed (exit %d): %s' % (
                os.path.basename(getkeytab), proc.returncode,
                (proc.stderr or proc.stdout).strip()))
        secure_file(tmp, owner)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def secure_file(path, owner, apply=True):
    """Mode 0600, owned by ``owner`` (a pwd entry) when we may chown (root).

    Returns what it changed (``apply`` false: would change), as short phrases.
    """
    changed = []
    st = os.stat(path)
    if stat.S_IMODE(st.st_mode) != 0o600:
        changed.append('mode 0600')
        if apply:
            os.chmod(path, 0o600)
    if owner is not None and os.geteuid() == 0 and (
            st.st_uid, st.st_gid) != (owner.pw_uid, owner.pw_gid):
        changed.append('owner %s' % owner.pw_name)
        if apply:
            os.chown(path, owner.pw_uid, owner.pw_gid)
    return changed


def service_user(name=None):
    """The pwd entry of the user novajoin runs as.

    ``name`` if given (it must exist), else ``novajoin`` if that user exists,
    else the current user.
    """
    if name:
        try:
            return pwd.getpwnam(name)
        except KeyError as exc:
            raise SetupError('no local user %r (--user)' % name) from exc
    try:
        return pwd.getpwnam('novajoin')
    except KeyError:
        return pwd.getpwuid(os.geteuid())
