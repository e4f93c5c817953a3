"""How the IPA client authenticates: a Kerberos keytab or a password.

Both end in the ``ipa_session`` cookie, which the client reuses until IPA
answers 401; only then is the credential used again.
"""
import logging
import os
import threading
import time
import uuid

from novajoin.ipa import errors

LOG = logging.getLogger(__name__)


class PasswordAuth:
    """``/ipa/session/login_password`` then ``/ipa/session/json``."""

    json_path = '/ipa/session/json'

    def __init__(self, user, password):
        if not user or not password:
            raise ValueError('[ipa] user and password are required for '
                             'auth_method = password')
        self.user = user
        self._password = password

    def request_auth(self):
        return None

    def login(self, session, base_url, referer, timeout, verify):
        resp = session.post(
            base_url + '/ipa/session/login_password',
            data={'user': self.user, 'password': self._password},
            headers={'Referer': referer, 'Accept': 'text/plain'},
            timeout=timeout, verify=verify)
        if resp.status_code == 401:
            reason = resp.headers.get('X-IPA-Rejection-Reason', 'rejected')
            raise errors.IPAAuthError('IPA refused the password of %s: %s'
                                      % (self.user, reason))
        if resp.status_code >= 400:
            raise errors.IPAUnavailable('IPA login answered HTTP %d'
                                        % resp.status_code)

    def describe(self):
        return 'password of %s' % self.user

    def ldap_bind(self, basedn):
        """ldap3.Connection arguments: a simple bind as the IPA user."""
        import ldap3
        from ldap3.utils.dn import escape_rdn
        user = 'uid=%s,cn=users,cn=accounts,%s' % (escape_rdn(self.user), basedn)
        return {'user': user, 'password': self._password,
                'authentication': ldap3.SIMPLE}


class KerberosAuth:
    """Negotiate on ``/ipa/json`` with a ticket from a keytab.

    The ticket lives in a private in-memory ccache (no process-wide
    KRB5CCNAME), obtained from the keytab on first use and again whenever fewer
    than ``renew_margin`` seconds are left on it.
    """

    json_path = '/ipa/json'

    def __init__(self, keytab, principal=None, renew_margin=300,
                 krb5_config=None):
        if not keytab:
            raise ValueError('[ipa] keytab is required for auth_method = kerberos')
        self.keytab = keytab
        self.principal = principal
        self.renew_margin = renew_margin
        if krb5_config:
            # MIT krb5 reads this on every new context; set before first use.
            os.environ['KRB5_CONFIG'] = krb5_config
        self._lock = threading.Lock()
        self._creds = None
        self._renew_at = 0.0
        self._ccache = 'MEMORY:novajoin-%s' % uuid.uuid4().hex

    def _acquire(self):
        import gssapi  # imported here: needs the krb5 libraries only when used
        if not os.access(self.keytab, os.R_OK):
            raise errors.IPAAuthError('cannot read keytab %s' % self.keytab)
        try:
            creds = self._handle(self._ccache)
            # Querying the lifetime makes MIT krb5 get the ticket from the
            # keytab now, so a bad keytab fails here and not mid-request.
            lifetime = creds.lifetime or 0
        except gssapi.exceptions.GSSError as exc:
            raise errors.IPAAuthError('Kerberos: cannot get a ticket from %s: %s'
                                      % (self.keytab, exc)) from exc
        self._creds = creds
        self._renew_at = self._renewal_time(lifetime)
        LOG.info('Kerberos ticket for %s from %s, valid %d s',
                 creds.name, self.keytab, lifetime)
        return creds

    def _handle(self, ccache):
        """A GSSAPI credential handle on ``ccache``, filled from the keytab
        when the ccache holds no ticket yet."""
        import gssapi
        name = None
        if self.principal:
            name = gssapi.Name(self.principal, gssapi.NameType.kerberos_principal)
        return gssapi.Credentials(name=name, usage='initiate', store={
            'client_keytab': self.keytab, 'ccache': ccache})

    def _renewal_time(self, lifetime):
        # renew_margin before expiry, but not before half the lifetime, or a
        # short-lived ticket would be renewed on every call.
        return time.monotonic() + max(lifetime - self.renew_margin, lifetime / 2)

    def credentials(self):
        with self._lock:
            if self._creds is None or time.monotonic() >= self._renew_at:
                # A fresh ccache: the old one would hand back the old ticket.
                self._ccache = 'MEMORY:novajoin-%s' % uuid.uuid4().hex
                self._acquire()
            return self._creds

    def request_auth(self):
        from requests_gssapi import DISABLED, HTTPSPNEGOAuth
        return HTTPSPNEGOAuth(creds=self.credentials(),
                              mutual_authentication=DISABLED)

    def login(self, session, base_url, referer, timeout, verify):
        # Negotiate happens on the 401 of the JSON call itself (requests-gssapi);
        # we get here only when IPA refused that too: start from a new ticket.
        with self._lock:
            self._creds = None
            self._ccache = 'MEMORY:novajoin-%s' % uuid.uuid4().hex
        self.credentials()

    def ldap_bind(self, basedn):
        """ldap3.Connection arguments: GSSAPI with this ticket.

        ldap3 takes over the credential handle it is given
        (``gssapi.Credentials(base=...)`` moves the handle and leaves the
        original empty, which then means "the default ccache"): handed the
        shared credential, the next LDAP bind of the process (the periodic
        reconciler's next run) and this process's next Negotiate failed. So
        each bind gets a handle of its own on the same ccache: the ticket is
        already there, the KDC is not asked again.
        """
        import gssapi
        import ldap3
        self.credentials()          # a valid ticket in the ccache, renewed if due
        with self._lock:
            ccache = self._ccache
        try:
            creds = self._handle(ccache)
        except gssapi.exceptions.GSSError as exc:
            raise errors.IPAAuthError('Kerberos: cannot use the ticket from %s: '
                                      '%s' % (self.keytab, exc)) from exc
        return {'authentication': ldap3.SASL, 'sasl_mechanism': ldap3.KERBEROS,
                'sasl_credentials': (None, None, creds)}

    def describe(self):
        return 'keytab %s' % self.keytab


def from_conf(conf):
    group = conf.ipa
    if group.auth_method == 'password':
        return PasswordAuth(group.user, group.password)
    return KerberosAuth(group.keytab, group.principal, group.ticket_renew_margin,
                        group.krb5_config)
