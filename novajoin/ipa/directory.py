"""novajoin's hosts read straight from IPA's LDAP (389-ds), page by page.

Why not JSON-RPC: ``host_find`` answers every match in one response and
spends about 3 ms per host inside ipaserver: with 6,000 novajoin hosts the
reconciler's one listing took 19 s (and failed on the 4 s read timeout made
for nova's vendordata path), 50,000 would need minutes of IPA time in one
request and the whole answer in memory. 389-ds hands out the same entries in
pages (the simple paged results control), at a fraction of the cost, so the
reconciler's IPA load and its memory per page stay bounded.

Same identity as the JSON-RPC calls, so IPA's access rules are the same: the
service's Kerberos ticket (GSSAPI) or the IPA user's password (simple bind),
always after StartTLS, verified against ``[ipa] ca_file``. Read only.

Entries come back in ``host_find``'s shape, so the rest of novajoin reads
them alike: lower-case attribute names, lists of strings, ``managedBy`` as
``managedby_host`` (host names). ``managing_host`` (what a host manages) is
not an LDAP attribute: IPA computes it from every other host's managedBy.
``managers()`` does the same for all hosts at once, in one paged search, so
that the reconciler need not ask IPA what each orphan manages (measured: a
``service_find``/``host_find`` round trip per host was most of a dry run's
time at 1,000 hosts).

``naming()`` is the delete handler's ownership look-up over LDAP: two
indexed searches (~10 ms of 389-ds) on one of a few connections kept for
the next look-up, instead of a ``host_find`` through ipaserver: a delete's
JSON-RPC work is then its ``host_del`` alone (bench/notify.py: 0.10 IPA
round trips per delete instead of 0.20). Kept connections are bound once;
one that fails (389-ds closed it) is replaced once, at once.
"""
import logging
import math
import ssl
import threading

from novajoin.ipa import errors
from novajoin.ipa.client import server_host

LOG = logging.getLogger(__name__)

# LDAP attribute -> host_find's name for it
ATTRIBUTES = {'fqdn': 'fqdn', 'userClass': 'userclass',
              'managedBy': 'managedby_host', 'krbLastPwdChange': 'krblastpwdchange',
              'ipaUniqueID': 'ipauniqueid', 'description': 'description'}


class Directory:

    def __init__(self, servers, auth, basedn, ca_file=None, verify=True,
                 connect_timeout=1.5, read_timeout=60.0, page_size=1000,
                 port=389, connections=4, lookup_timeout=None):
        """``basedn``: the suffix, or a callable that returns it (asked
        from IPA's ``env`` when first needed). ``read_timeout``: seconds
        for one page of a listing; ``lookup_timeout`` (default the same):
        for one of ``naming()``'s searches, which a delete waits on."""
        self.servers = list(servers)
        self.auth = auth
        self._basedn = basedn
        self.ca_file = ca_file
        self.verify = verify
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.lookup_timeout = (read_timeout if lookup_timeout is None
                               else lookup_timeout)
        self.page_size = page_size
        self.port = port
        # naming()'s bound connections: at most this many, kept between
        # look-ups (a look-up is ~10 ms of 389-ds; a new connection costs a
        # TLS handshake and a bind); more callers wait for one
        self._slots = threading.BoundedSemaphore(connections)
        self._idle = []
        self._lock = threading.Lock()

    @property
    def basedn(self):
        if callable(self._basedn):
            self._basedn = self._basedn()
        return self._basedn

    def hosts(self, userclass):
        """Every host entry carrying ``userclass`` (an exact value), a page
        at a time; raises ``errors.IPAUnavailable`` when LDAP fails."""
        from ldap3.utils.conv import escape_filter_chars
        search = ('(&(objectClass=ipaHost)(userClass=%s))'
                  % escape_filter_chars(userclass))
        for attributes in self._search(search, list(ATTRIBUTES)):
            yield to_entry(attributes)

    def managers(self):
        """The names of the hosts that manage another host (a set): what
        IPA's ``managing_host`` is made of, for every host at once. Read
        from each host's ``managedBy`` a page at a time; memory grows with
        the managers only. Raises ``errors.IPAUnavailable`` when LDAP
        fails."""
        found = set()
        for attributes in self._search('(&(objectClass=ipaHost)(managedBy=*))',
                                       ['fqdn', 'managedBy']):
            entry = to_entry(attributes)
            own = {f.lower() for f in entry.get('fqdn', [])}
            found.update(set(entry.get('managedby_host', [])) - own)
        return found

    def naming(self, text, userclass):
        """Host entries carrying ``userclass`` (an exact value) whose
        description contains ``text``: ``host_find <text> all=True
        userclass=<userclass>`` over LDAP (IPA indexes the description; the
        userclass narrows its few candidates), each with ``managing_host``:
        the other hosts whose managedBy names it. Raises
        ``errors.IPAUnavailable`` when LDAP fails."""
        from ldap3.utils.conv import escape_filter_chars
        search = ('(&(objectClass=ipaHost)(description=*%s*)(userClass=%s))'
                  % (escape_filter_chars(text), escape_filter_chars(userclass)))

        def look(conn):
            base = self._computers()
            found = _entries(conn, base, search, list(ATTRIBUTES))
            if not found:
                return []
            managed = [to_entry(a) for _, a in _entries(conn, base, (
                '(&(objectClass=ipaHost)(|%s))' % ''.join(
                    '(managedBy=%s)' % escape_filter_chars(dn)
                    for dn, _ in found)), ['fqdn', 'managedBy'])]
            return [_with_managing(to_entry(attributes), managed)
                    for _, attributes in found]
        return self._kept(look)

    def close(self):
        """Unbind the kept connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)

    def _computers(self):
        return 'cn=computers,cn=accounts,%s' % self.basedn

    def _kept(self, work):
        """``work(conn)`` on one of the kept bound connections (made when
        none is idle), which is kept again afterwards."""
        from ldap3.core import exceptions as ldap_errors
        with self._slots:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            fresh = conn is None
            while True:
                if conn is None:
                    conn = self._connect(self.lookup_timeout)
                try:
                    result = work(conn)
                    break
                except (ldap_errors.LDAPException, OSError) as exc:
                    _close(conn)
                    conn = None
                    if fresh:
                        raise errors.IPAUnavailable('LDAP search of IPA hosts '
                                                    'failed: %s' % exc) from exc
                    # a kept connection 389-ds has closed since: one new try
                    LOG.info('kept LDAP connection failed (%s); reconnecting',
                             exc)
                    fresh = True
            with self._lock:
                self._idle.append(conn)
        return result

    def _search(self, search, attributes):
        """The attributes of each host entry ``search`` matches, paged."""
        import ldap3
        from ldap3.core import exceptions as ldap_errors
        conn = self._connect(self.read_timeout)
        try:
            found = conn.extend.standard.paged_search(
                self._computers(), search,
                search_scope=ldap3.LEVEL, attributes=attributes,
                paged_size=self.page_size, generator=True)
            for item in found:
                if item.get('type') == 'searchResEntry':
                    yield item['attributes']
        except ldap_errors.LDAPException as exc:
            raise errors.IPAUnavailable('LDAP search of IPA hosts failed: %s'
                                        % exc) from exc
        finally:
            conn.unbind()

    def _connect(self, timeout):
        # ldap3 binds GSSAPI to the TLS channel (channel bindings) with it;
        # without it the bind fails only once on the wire
        import cryptography  # noqa: F401
        import ldap3
        from ldap3.core import exceptions as ldap_errors
        refused = (ldap_errors.LDAPBindError,
                   ldap_errors.LDAPInvalidCredentialsResult,
                   ldap_errors.LDAPInappropriateAuthenticationResult,
                   ldap_errors.LDAPStrongerAuthRequiredResult)
        try:
            tls = ldap3.Tls(ca_certs_file=self.ca_file, validate=(
                ssl.CERT_REQUIRED if self.verify else ssl.CERT_NONE))
        except ldap_errors.LDAPException as exc:
            raise errors.IPAUnavailable('LDAP TLS set-up ([ipa] ca_file %s): %s'
                                        % (self.ca_file, exc)) from exc
        last = None
        for server in self.servers:
            host = server_host(server)
            conn = ldap3.Connection(
                # get_info NONE: no schema read at connect; IPA's costs 389-ds
                # 0.25 s and this process more to parse (nothing here needs it)
                ldap3.Server(host, port=self.port, tls=tls,
                             connect_timeout=self.connect_timeout,
                             get_info=ldap3.NONE),
                # ldap3 packs it into a timeval: whole seconds
                receive_timeout=int(math.ceil(timeout)),
                read_only=True, raise_exceptions=True,
                **self.auth.ldap_bind(self.basedn))
            try:
                conn.open()
                conn.start_tls()     # before any credential goes out
                conn.bind()
                LOG.info('LDAP: bound to %s with the %s', host,
                         self.auth.describe())
                return conn
            except refused as exc:
                _close(conn)
                # our credential is the problem; another server won't help
                raise errors.IPAAuthError('LDAP on %s refused %s: %s' % (
                    host, self.auth.describe(), exc)) from exc
            except (ldap_errors.LDAPException, OSError) as exc:
                _close(conn)
                LOG.warning('LDAP on %s failed: %s', host, exc)
                last = exc
        raise errors.IPAUnavailable('no IPA LDAP server answered: %s' % last)


def _entries(conn, base, search, attributes):
    """(dn, attributes) of each entry one level under ``base`` that
    ``search`` matches, in one (unpaged) search."""
    import ldap3
    conn.search(base, search, search_scope=ldap3.LEVEL, attributes=attributes)
    return [(item['dn'], item['attributes']) for item in conn.response or ()
            if item.get('type') == 'searchResEntry']


def _with_managing(entry, managed):
    """``entry`` with ``managing_host``: the other hosts among ``managed``
    (entries) whose managedBy names it, as IPA computes it."""
    own = {f.lower() for f in entry.get('fqdn', [])}
    entry['managing_host'] = sorted(
        {f.lower() for m in managed for f in m.get('fqdn', [])
         if own & set(m.get('managedby_host', []))} - own)
    return entry


def _close(conn):
    """Close a connection that failed half-way; its own failure is moot."""
    try:
        conn.unbind()
    except Exception:  # noqa: BLE001 - already failing; keep the first error
        pass


def to_entry(attributes):
    """An LDAP entry's attributes in host_find's shape."""
    entry = {}
    for ldap_name, name in ATTRIBUTES.items():
        values = attributes.get(ldap_name) or []
        if not isinstance(values, list):
            values = [values]
        values = [v if isinstance(v, str) else str(v) for v in values]
        if name == 'managedby_host':
            values = [host for host in map(host_of_dn, values) if host]
        if values:
            entry[name] = values
    return entry


def host_of_dn(dn):
    """'a.example.test' from 'fqdn=a.example.test,cn=computers,...'; None
    for anything that is not a host entry's DN."""
    first, _, rest = dn.partition(',')
    key, _, value = first.partition('=')
    if key.strip().lower() != 'fqdn' or not rest.lower().startswith(
            'cn=computers,') or not value or '\\' in value:
        return None
    return value.strip().lower()
