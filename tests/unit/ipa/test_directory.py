"""novajoin.ipa.directory: IPA hosts listed from LDAP, page by page.

ldap3 is replaced by a recording stand-in (``FakeLDAP``): no socket is ever
opened. Two tests run ldap3's own code on its offline MOCK_SYNC strategy, with
the socket module disabled, to check what real ldap3 does with what
``Directory`` asks.
"""
import concurrent.futures
import datetime
import logging
import socket
import ssl
import threading
import types
import uuid

import ldap3
import pytest
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars

from novajoin.ipa import auth
from novajoin.ipa import directory
from novajoin.ipa import errors

BASEDN = 'dc=example,dc=test'
COMPUTERS = 'cn=computers,cn=accounts,' + BASEDN
ADMIN_DN = 'uid=admin,cn=users,cn=accounts,' + BASEDN
CLOUD = 'novajoin: cloud=default'


def host_dn(fqdn):
    return 'fqdn=%s,%s' % (fqdn, COMPUTERS)


def result_entry(fqdn, **attributes):
    attributes.setdefault('fqdn', [fqdn])
    return {'type': 'searchResEntry', 'dn': host_dn(fqdn),
            'attributes': attributes}


# -- to_entry / host_of_dn ---------------------------------------------------

def test_to_entry_gives_host_find_names_and_lists_of_strings():
    changed = datetime.datetime(2026, 12, 4, 8, 15, 32,
                                tzinfo=datetime.timezone.utc)
    unique = str(uuid.uuid1())
    entry = directory.to_entry({
        'fqdn': 'vm1.example.test',                 # single value, no list
        'userClass': [CLOUD, 'web'],
        'managedBy': ['fqdn=VM1.Example.Test,' + COMPUTERS,
                      'fqdn=ctl.example.test,' + COMPUTERS],
        'krbLastPwdChange': changed,                # ldap3 decodes it
        'ipaUniqueID': [unique],
        'description': ['a host'],
    })
    assert entry == {
        'fqdn': ['vm1.example.test'],
        'userclass': [CLOUD, 'web'],
        'managedby_host': ['vm1.example.test', 'ctl.example.test'],
        'krblastpwdchange': [str(changed)],
        'ipauniqueid': [unique],
        'description': ['a host'],
    }
    assert all(isinstance(v, str) for values in entry.values() for v in values)


def test_to_entry_leaves_out_empty_and_missing_attributes():
    entry = directory.to_entry({
        'fqdn': ['vm1.example.test'],
        'description': [],                          # ldap3: asked, not set
        'krbLastPwdChange': None,
        # a service manages nothing host_find would list
        'managedBy': ['krbprincipalname=HTTP/x@R,cn=services,cn=accounts,'
                      + BASEDN],
        'attributeNotAsked': ['x'],
    })
    assert entry == {'fqdn': ['vm1.example.test']}


@pytest.mark.parametrize('dn, host', [
    ('fqdn=A.Example.Test,cn=computers,cn=accounts,dc=example,dc=test',
     'a.example.test'),
    ('FQDN=b.example.test,CN=Computers,cn=accounts,dc=example,dc=test',
     'b.example.test'),
    ('krbprincipalname=HTTP/x@R,cn=services,cn=accounts,dc=example,dc=test',
     None),
    ('fqdn=a\\,b.example.test,cn=computers,cn=accounts,dc=example,dc=test',
     None),
    ('fqdn=a\\2cb.example.test,cn=computers,cn=accounts,dc=example,dc=test',
     None),
    ('fqdn=,cn=computers,cn=accounts,dc=example,dc=test', None),
    ('uid=admin,cn=users,cn=accounts,dc=example,dc=test', None),
    # a host's name, but not in the hosts' container
    ('fqdn=a.example.test,cn=users,cn=accounts,dc=example,dc=test', None),
])
def test_host_of_dn_names_only_host_entries(dn, host):
    assert directory.host_of_dn(dn) == host


# -- a recording ldap3 ---------------------------------------------------------

class FakeLDAP:
    """ldap3.Server and ldap3.Connection that record what is done, in order.

    ``fail[(host, step)]``: raised by that step (open, start_tls, bind) on
    that host. ``items``: what the paged search hands out; ``search_error``:
    raised after ``error_after`` of them.
    """

    def __init__(self):
        self.calls = []           # (host, step)
        self.servers = []         # FakeServer
        self.connections = []     # FakeConnection
        self.searches = []        # (base, filter, kwargs)
        self.fail = {}
        self.items = []
        self.search_error = None
        self.error_after = 0
        self.answers = []         # each plain search's entries, in turn
        self.search_failures = []  # raised by plain searches, in turn

    def install(self, monkeypatch):
        monkeypatch.setattr(ldap3, 'Server', self.server)
        monkeypatch.setattr(ldap3, 'Connection', self.connection)

    def server(self, host, **kwargs):
        made = FakeServer(host, **kwargs)
        self.servers.append(made)
        return made

    def connection(self, server, **kwargs):
        made = FakeConnection(self, server, kwargs)
        self.connections.append(made)
        return made

    def steps(self):
        return [step for _, step in self.calls]


class FakeServer:
    def __init__(self, host, port=389, tls=None, connect_timeout=None,
                 get_info=None):
        self.host = host
        self.get_info = get_info
        self.port = port
        self.tls = tls
        self.connect_timeout = connect_timeout


class FakeConnection:
    def __init__(self, ldap, server, kwargs):
        self.ldap = ldap
        self.server = server
        self.kwargs = kwargs
        self.extend = types.SimpleNamespace(
            standard=types.SimpleNamespace(paged_search=self.paged_search))

    def _step(self, step):
        self.ldap.calls.append((self.server.host, step))
        error = self.ldap.fail.get((self.server.host, step))
        if error is not None:
            raise error
        return True

    def open(self):
        return self._step('open')

    def start_tls(self):
        return self._step('start_tls')

    def bind(self):
        return self._step('bind')

    def unbind(self):
        return self._step('unbind')

    def search(self, base, search_filter, **kwargs):
        self.ldap.calls.append((self.server.host, 'search'))
        self.ldap.searches.append((base, search_filter, kwargs))
        if self.ldap.search_failures:
            raise self.ldap.search_failures.pop(0)
        self.response = self.ldap.answers.pop(0) if self.ldap.answers else []
        return bool(self.response)

    def paged_search(self, base, search_filter, **kwargs):
        self.ldap.calls.append((self.server.host, 'search'))
        self.ldap.searches.append((base, search_filter, kwargs))
        return self._results()

    def _results(self):
        for n, item in enumerate(self.ldap.items):
            if self.ldap.search_error is not None and n == self.ldap.error_after:
                raise self.ldap.search_error
            yield item
        if self.ldap.search_error is not None:
            raise self.ldap.search_error


@pytest.fixture
def fake_ldap(monkeypatch):
    ldap = FakeLDAP()
    ldap.install(monkeypatch)
    return ldap


def make_directory(servers=('ipa1.example.test',), basedn=BASEDN,
                   user_auth=None, **kwargs):
    return directory.Directory(
        list(servers), user_auth or auth.PasswordAuth('admin', 'Secret123'),
        basedn, **kwargs)


# -- connecting ----------------------------------------------------------------

def test_tls_is_started_after_open_and_before_the_bind(fake_ldap):
    fake_ldap.items = [result_entry('vm1.example.test')]
    assert list(make_directory().hosts(CLOUD)) == [
        {'fqdn': ['vm1.example.test']}]
    assert fake_ldap.steps() == ['open', 'start_tls', 'bind', 'search',
                                 'unbind']


def test_the_connection_is_read_only_raises_and_binds_as_the_auth_says(
        fake_ldap):
    list(make_directory(read_timeout=2.5).hosts(CLOUD))
    [conn] = fake_ldap.connections
    assert conn.kwargs == {
        'receive_timeout': 3,             # ldap3 takes whole seconds
        'read_only': True,
        'raise_exceptions': True,
        'user': ADMIN_DN,
        'password': 'Secret123',
        'authentication': ldap3.SIMPLE,
    }


def test_look_ups_wait_their_own_timeout_and_listings_the_read_timeout(
        fake_ldap):
    d = make_directory(read_timeout=60, lookup_timeout=4)
    d.naming('8a3c2f0e', CLOUD)
    list(d.hosts(CLOUD))
    assert [c.kwargs['receive_timeout'] for c in fake_ldap.connections] == [
        4, 60]


def test_the_server_verifies_the_ipa_ca(fake_ldap, tmp_path):
    ca = tmp_path / 'ca.crt'
    ca.write_text('not parsed here\n')
    list(make_directory(ca_file=str(ca), connect_timeout=0.7).hosts(CLOUD))
    [server] = fake_ldap.servers
    assert server.tls.validate == ssl.CERT_REQUIRED
    assert server.tls.ca_certs_file == str(ca)
    assert server.connect_timeout == 0.7
    # verify = false: no verification (lab only)
    list(make_directory(ca_file=str(ca), verify=False).hosts(CLOUD))
    assert fake_ldap.servers[1].tls.validate == ssl.CERT_NONE


def test_a_server_with_an_https_port_is_reached_on_the_ldap_port(fake_ldap):
    fake_ldap.fail[('ipa1.example.test', 'open')] = \
        ldap_errors.LDAPSocketOpenError('refused')
    list(make_directory(['ipa1.example.test:443', 'ipa2.example.test'])
         .hosts(CLOUD))
    assert [(s.host, s.port) for s in fake_ldap.servers] == [
        ('ipa1.example.test', 389), ('ipa2.example.test', 389)]
    fake_ldap.servers.clear()
    list(make_directory(['ipa3.example.test:443'], port=3389).hosts(CLOUD))
    assert [(s.host, s.port) for s in fake_ldap.servers] == [
        ('ipa3.example.test', 3389)]


# -- searching -----------------------------------------------------------------

def test_the_search_is_one_level_under_computers_paged_by_page_size(
        fake_ldap):
    list(make_directory(page_size=250).hosts(CLOUD))
    [(base, search_filter, kwargs)] = fake_ldap.searches
    assert base == COMPUTERS
    assert search_filter == ('(&(objectClass=ipaHost)(userClass=%s))'
                             % escape_filter_chars(CLOUD))
    assert kwargs['paged_size'] == 250
    assert kwargs['search_scope'] == ldap3.LEVEL
    assert kwargs['generator'] is True
    assert sorted(kwargs['attributes']) == sorted(directory.ATTRIBUTES)


def test_ldap_special_characters_in_the_userclass_are_escaped(fake_ldap):
    value = 'novajoin: cloud=a*(b)\\c'
    list(make_directory().hosts(value))
    [(_, search_filter, _)] = fake_ldap.searches
    assert search_filter == ('(&(objectClass=ipaHost)(userClass=%s))'
                             % escape_filter_chars(value))
    # RFC 4515: * ( ) \ as \2a \28 \29 \5c -- the value matches only itself
    assert search_filter == ('(&(objectClass=ipaHost)'
                             '(userClass=novajoin: cloud=a\\2a\\28b\\29\\5cc))')


def test_only_entries_are_yielded_in_host_find_shape(fake_ldap):
    fake_ldap.items = [
        result_entry('vm1.example.test', userClass=[CLOUD],
                     managedBy=[host_dn('VM1.example.test')]),
        {'type': 'searchResRef', 'uri': ['ldap://elsewhere/' + BASEDN]},
        result_entry('vm2.example.test', userClass=CLOUD),
    ]
    assert list(make_directory().hosts(CLOUD)) == [
        {'fqdn': ['vm1.example.test'], 'userclass': [CLOUD],
         'managedby_host': ['vm1.example.test']},
        {'fqdn': ['vm2.example.test'], 'userclass': [CLOUD]},
    ]


def test_managers_are_the_hosts_named_in_another_hosts_managed_by(fake_ldap):
    fake_ldap.items = [
        result_entry('vm1.example.test', managedBy=[host_dn('vm1.example.test')]),
        result_entry('sub.example.test', managedBy=[
            host_dn('sub.example.test'), host_dn('VM1.example.test'),
            'uid=admin,cn=users,cn=accounts,' + BASEDN]),
        result_entry('self.example.test', managedBy=host_dn('self.example.test')),
        {'type': 'searchResRef', 'uri': ['ldap://elsewhere/' + BASEDN]},
    ]
    assert make_directory(page_size=300).managers() == {'vm1.example.test'}
    [(base, search_filter, kwargs)] = fake_ldap.searches
    assert (base, search_filter) == (COMPUTERS,
                                     '(&(objectClass=ipaHost)(managedBy=*))')
    assert kwargs['attributes'] == ['fqdn', 'managedBy']
    assert (kwargs['paged_size'], kwargs['search_scope']) == (300, ldap3.LEVEL)
    assert fake_ldap.steps()[-1] == 'unbind'


def test_a_failed_managers_search_is_ipa_unavailable(fake_ldap):
    fake_ldap.items = [result_entry('vm1.example.test')]
    fake_ldap.search_error = ldap_errors.LDAPOperationResult('busy')
    with pytest.raises(errors.IPAUnavailable):
        make_directory().managers()
    assert fake_ldap.steps()[-1] == 'unbind'


def test_nothing_is_connected_before_the_first_host_is_asked(fake_ldap):
    found = make_directory().hosts(CLOUD)
    assert fake_ldap.calls == []
    found.close()
    assert fake_ldap.calls == []


def test_unbinds_when_the_caller_stops_early(fake_ldap):
    fake_ldap.items = [result_entry('vm%d.example.test' % n) for n in range(3)]
    found = make_directory().hosts(CLOUD)
    assert next(found) == {'fqdn': ['vm0.example.test']}
    assert 'unbind' not in fake_ldap.steps()
    found.close()
    assert fake_ldap.steps()[-1] == 'unbind'
    assert fake_ldap.steps().count('unbind') == 1


def test_a_failed_search_is_ipa_unavailable_and_unbinds(fake_ldap):
    fake_ldap.items = [result_entry('vm%d.example.test' % n) for n in range(3)]
    fake_ldap.search_error = ldap_errors.LDAPSocketReceiveError('reset')
    fake_ldap.error_after = 1                   # mid-way through the pages
    found = make_directory().hosts(CLOUD)
    assert next(found) == {'fqdn': ['vm0.example.test']}
    with pytest.raises(errors.IPAUnavailable, match='LDAP search') as caught:
        next(found)
    assert isinstance(caught.value.__cause__, ldap_errors.LDAPSocketReceiveError)
    assert fake_ldap.steps()[-1] == 'unbind'


def test_a_search_refused_at_once_is_ipa_unavailable_and_unbinds(fake_ldap):
    fake_ldap.search_error = ldap_errors.LDAPOperationResult(
        result=51, description='busy')
    with pytest.raises(errors.IPAUnavailable, match='LDAP search'):
        list(make_directory().hosts(CLOUD))
    assert fake_ldap.steps() == ['open', 'start_tls', 'bind', 'search',
                                 'unbind']


# -- the base DN -----------------------------------------------------------------

def test_a_callable_basedn_is_asked_once_when_first_needed(fake_ldap):
    asked = []

    def basedn():
        asked.append(1)
        return BASEDN
    d = make_directory(basedn=basedn)
    found = d.hosts(CLOUD)
    assert asked == []
    list(found)
    list(d.hosts(CLOUD))
    assert d.basedn == BASEDN
    assert asked == [1]
    # used for the bind DN and for the search base alike
    assert [c.kwargs['user'] for c in fake_ldap.connections] == [ADMIN_DN] * 2
    assert [base for base, _, _ in fake_ldap.searches] == [COMPUTERS] * 2


# -- failover and failures ---------------------------------------------------------

def test_the_next_server_is_used_when_one_is_down(fake_ldap, caplog):
    fake_ldap.fail[('ipa1.example.test', 'open')] = \
        ldap_errors.LDAPSocketOpenError('connection refused')
    fake_ldap.items = [result_entry('vm1.example.test')]
    with caplog.at_level(logging.WARNING, logger=directory.__name__):
        found = list(make_directory(['ipa1.example.test',
                                     'ipa2.example.test']).hosts(CLOUD))
    assert found == [{'fqdn': ['vm1.example.test']}]
    assert fake_ldap.calls == [
        ('ipa1.example.test', 'open'), ('ipa1.example.test', 'unbind'),
        ('ipa2.example.test', 'open'), ('ipa2.example.test', 'start_tls'),
        ('ipa2.example.test', 'bind'), ('ipa2.example.test', 'search'),
        ('ipa2.example.test', 'unbind')]
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert 'ipa1.example.test' in warnings[0]
    assert 'connection refused' in warnings[0]


def test_a_failed_start_tls_moves_on_and_never_sends_credentials(fake_ldap):
    fake_ldap.fail[('ipa1.example.test', 'start_tls')] = \
        ldap_errors.LDAPStartTLSError('certificate verify failed')
    list(make_directory(['ipa1.example.test', 'ipa2.example.test'])
         .hosts(CLOUD))
    assert ('ipa1.example.test', 'bind') not in fake_ldap.calls
    assert ('ipa2.example.test', 'bind') in fake_ldap.calls


def test_no_server_answering_is_ipa_unavailable(fake_ldap):
    fake_ldap.fail[('ipa1.example.test', 'open')] = \
        ldap_errors.LDAPSocketOpenError('connection refused')
    fake_ldap.fail[('ipa2.example.test', 'open')] = OSError('no route')
    with pytest.raises(errors.IPAUnavailable,
                       match='no IPA LDAP server answered') as caught:
        list(make_directory(['ipa1.example.test', 'ipa2.example.test'])
             .hosts(CLOUD))
    assert not isinstance(caught.value, errors.IPAAuthError)
    # each failed connection is closed, not left to the garbage collector
    assert fake_ldap.steps() == ['open', 'unbind', 'open', 'unbind']


def test_a_refused_bind_is_an_auth_error_and_no_other_server_is_tried(
        fake_ldap):
    fake_ldap.fail[('ipa1.example.test', 'bind')] = \
        ldap_errors.LDAPBindError('invalid credentials')
    with pytest.raises(errors.IPAAuthError, match='password of admin'):
        list(make_directory(['ipa1.example.test', 'ipa2.example.test'])
             .hosts(CLOUD))
    assert [host for host, _ in fake_ldap.calls] == ['ipa1.example.test'] * 4
    assert fake_ldap.steps() == ['open', 'start_tls', 'bind', 'unbind']


# -- real ldap3, offline (MOCK_SYNC) ---------------------------------------------

@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('a test tried to use the network')
    monkeypatch.setattr(socket, 'getaddrinfo', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setattr(socket.socket, 'connect', refuse)


@pytest.fixture
def mock_ldap3(monkeypatch, no_network):
    """Real ldap3 Connections on its in-memory MOCK_SYNC strategy, seeded
    with the IPA admin (password 'right') and ``entries``; StartTLS is a
    no-op (there is no socket). ``connected``: the hosts connected to."""
    real = ldap3.Connection
    connected = []
    entries = [(ADMIN_DN, {'objectClass': ['person'], 'uid': ['admin'],
                           'userPassword': ['right']}),
               (COMPUTERS, {'objectClass': ['nsContainer'],
                            'cn': ['computers']})]

    class MockConnection(real):
        def __init__(self, server, **kwargs):
            kwargs['client_strategy'] = ldap3.MOCK_SYNC
            super().__init__(server, **kwargs)
            for dn, attributes in entries:
                self.strategy.add_entry(dn, attributes)
            connected.append(server.host)

        def start_tls(self, read_server_info=True):
            return True

    monkeypatch.setattr(ldap3, 'Connection', MockConnection)
    return types.SimpleNamespace(entries=entries, connected=connected)


def test_ldap3_pages_through_the_clouds_hosts_one_level_deep(mock_ldap3):
    tricky = 'novajoin: cloud=a*(b)\\c'
    for n in range(5):
        mock_ldap3.entries.append((host_dn('h%d.example.test' % n), {
            'objectClass': ['ipaHost'], 'fqdn': ['h%d.example.test' % n],
            'userClass': [tricky if n % 2 == 0 else 'novajoin: cloud=a',
                          'web'],
            'managedBy': [host_dn('h%d.example.test' % n)]}))
    # not a host of the container itself
    mock_ldap3.entries.append(('fqdn=deep.example.test,cn=x,' + COMPUTERS, {
        'objectClass': ['ipaHost'], 'fqdn': ['deep.example.test'],
        'userClass': [tricky]}))
    found = make_directory(user_auth=auth.PasswordAuth('admin', 'right'),
                           page_size=2).hosts(tricky)
    assert sorted((h['fqdn'], h['userclass'], h['managedby_host'])
                  for h in found) == [
        ([name], [tricky, 'web'], [name])
        for name in ('h0.example.test', 'h2.example.test', 'h4.example.test')]


def test_ldap3_finds_the_hosts_that_manage_another(mock_ldap3):
    for name, managers in (('boss.example.test', ['boss.example.test']),
                           ('sub.example.test', ['sub.example.test',
                                                 'boss.example.test']),
                           ('lone.example.test', ['lone.example.test'])):
        mock_ldap3.entries.append((host_dn(name), {
            'objectClass': ['ipaHost'], 'fqdn': [name],
            'managedBy': [host_dn(m) for m in managers]}))
    found = make_directory(user_auth=auth.PasswordAuth('admin', 'right'),
                           page_size=1).managers()
    assert found == {'boss.example.test'}


VM = '8a1dd4c2-5a47-4c3b-9c07-0d5bd1d7e8f3'
INDEX = 'novajoin: instance=%s cloud=default' % VM


def test_ldap3_naming_matches_the_description_and_the_exact_userclass(
        mock_ldap3):
    def host(name, userclass, description, managers=()):
        mock_ldap3.entries.append((host_dn(name), {
            'objectClass': ['ipaHost'], 'fqdn': [name],
            'userClass': userclass, 'description': [description],
            'managedBy': [host_dn(name)] + [host_dn(m) for m in managers]}))
    host('vm1.example.test', [INDEX, CLOUD], 'novajoin: owner %s' % VM)
    host('sub.example.test', [CLOUD], 'subhost', managers=['vm1.example.test'])
    host('named.example.test', [CLOUD], 'names %s, no index' % VM)
    host('indexed.example.test', [INDEX, CLOUD], 'a rewritten description')
    found = make_directory(
        user_auth=auth.PasswordAuth('admin', 'right')).naming(VM, INDEX)
    assert [(h['fqdn'], h['managing_host']) for h in found] == [
        (['vm1.example.test'], ['sub.example.test'])]


def test_ldap3_naming_finds_nothing_for_another_instance(mock_ldap3):
    mock_ldap3.entries.append((host_dn('vm1.example.test'), {
        'objectClass': ['ipaHost'], 'fqdn': ['vm1.example.test'],
        'userClass': [INDEX], 'description': ['novajoin: owner %s' % VM]}))
    other = '11111111-2222-4333-8444-555555555555'
    assert make_directory(user_auth=auth.PasswordAuth('admin', 'right')).naming(
        other, INDEX.replace(VM, other)) == []


def test_naming_escapes_what_it_is_given_and_asks_one_level_down(fake_ldap):
    make_directory().naming('a*)(b', 'x)(|(y=*')
    [(base, search, kwargs)] = fake_ldap.searches
    assert base == COMPUTERS and kwargs['search_scope'] == ldap3.LEVEL
    assert search == '(&(objectClass=ipaHost)(description=*%s*)(userClass=%s))' % (
        escape_filter_chars('a*)(b'), escape_filter_chars('x)(|(y=*'))


def test_naming_asks_what_the_found_hosts_manage_in_one_search(fake_ldap):
    fake_ldap.answers = [
        [result_entry('vm1.example.test'), result_entry('vm2.example.test')],
        [result_entry('sub.example.test', managedBy=[
            host_dn('sub.example.test'), host_dn('vm2.example.test')])]]
    found = make_directory().naming(VM, INDEX)
    assert fake_ldap.searches[1][1] == (
        '(&(objectClass=ipaHost)(|(managedBy=%s)(managedBy=%s)))' % (
            host_dn('vm1.example.test'), host_dn('vm2.example.test')))
    assert [(h['fqdn'][0], h['managing_host']) for h in found] == [
        ('vm1.example.test', []), ('vm2.example.test', ['sub.example.test'])]


def test_naming_keeps_its_bound_connection_for_the_next_look_up(fake_ldap):
    d = make_directory()
    for _ in range(3):
        d.naming(VM, INDEX)
    assert fake_ldap.steps() == ['open', 'start_tls', 'bind',
                                 'search', 'search', 'search']
    d.close()
    assert fake_ldap.steps()[-1] == 'unbind'


def test_a_kept_connection_that_fails_is_replaced_once(fake_ldap, caplog):
    d = make_directory()
    d.naming(VM, INDEX)
    fake_ldap.search_failures = [ldap_errors.LDAPSocketReceiveError('closed')]
    fake_ldap.answers = [[result_entry('vm1.example.test')], []]
    with caplog.at_level(logging.INFO, logger='novajoin.ipa.directory'):
        (found,) = d.naming(VM, INDEX)
    assert found['fqdn'] == ['vm1.example.test']
    assert fake_ldap.steps() == ['open', 'start_tls', 'bind', 'search',
                                 'search', 'unbind',
                                 'open', 'start_tls', 'bind', 'search', 'search']
    assert 'reconnecting' in caplog.text


def test_a_new_connection_that_fails_is_ipa_unavailable_and_unbound(fake_ldap):
    fake_ldap.search_failures = [ldap_errors.LDAPSocketReceiveError('reset')]
    d = make_directory()
    with pytest.raises(errors.IPAUnavailable, match='reset'):
        d.naming(VM, INDEX)
    assert fake_ldap.steps() == ['open', 'start_tls', 'bind', 'search',
                                 'unbind']
    d.naming(VM, INDEX)                 # the next look-up connects anew
    assert fake_ldap.steps()[-4:] == ['open', 'start_tls', 'bind', 'search']


def test_look_ups_share_at_most_connections_bound_connections(fake_ldap):
    d = make_directory(connections=2)
    inside = threading.Semaphore(0)
    release = threading.Event()
    used = []

    def work(conn):
        used.append(conn)
        inside.release()
        release.wait(5)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        running = [pool.submit(d._kept, work) for _ in range(3)]
        assert inside.acquire(timeout=5) and inside.acquire(timeout=5)
        # the third waits for a connection rather than opening one
        assert not inside.acquire(timeout=0.2)
        assert len(fake_ldap.connections) == 2
        release.set()
        for f in running:
            f.result(5)
    assert len(fake_ldap.connections) == 2
    assert set(used) == set(fake_ldap.connections)
    assert fake_ldap.steps().count('unbind') == 0


def test_no_schema_is_read_when_connecting(fake_ldap):
    # IPA's schema: 0.25 s of 389-ds per connection, parsed here for nothing
    make_directory().naming(VM, INDEX)
    assert [s.get_info for s in fake_ldap.servers] == [ldap3.NONE]


def test_a_wrong_password_is_an_auth_error_with_real_ldap3(mock_ldap3):
    # What ldap3 raises on a refused simple bind (raise_exceptions=True) is
    # LDAPInvalidCredentialsResult, not LDAPBindError (that one only comes
    # from auto_bind, "with conn:" and rebind()): the refusal must still be
    # told as IPA refusing novajoin's credentials, and not be tried on every
    # other server as if the first were down.
    d = make_directory(['ipa1.example.test', 'ipa2.example.test'],
                       user_auth=auth.PasswordAuth('admin', 'wrong'))
    with pytest.raises(errors.IPAAuthError):
        list(d.hosts(CLOUD))
    assert mock_ldap3.connected == ['ipa1.example.test']


# -- what the auth methods hand to ldap3 --------------------------------------------

def test_password_auth_binds_simply_as_the_ipa_user_with_its_dn_escaped():
    bind = auth.PasswordAuth('ad,min', 'pw').ldap_bind(BASEDN)
    assert bind == {
        'user': 'uid=ad\\,min,cn=users,cn=accounts,dc=example,dc=test',
        'password': 'pw',
        'authentication': ldap3.SIMPLE,
    }


class Handles:
    """gssapi.Credentials as KerberosAuth.ldap_bind makes them: recorded."""

    def __init__(self, monkeypatch):
        import gssapi
        self.made = []
        monkeypatch.setattr(gssapi, 'Credentials', self.credentials)

    def credentials(self, name=None, usage=None, store=None):
        handle = types.SimpleNamespace(name=name, usage=usage, store=store)
        self.made.append(handle)
        return handle


def test_kerberos_auth_binds_with_gssapi_on_its_ticket(monkeypatch, tmp_path):
    kerberos = auth.KerberosAuth(str(tmp_path / 'krb5.keytab'),
                                 'nova/ctl.example.test@EXAMPLE.TEST')
    ticket = object()
    monkeypatch.setattr(kerberos, 'credentials', lambda: ticket)
    handles = Handles(monkeypatch)
    bind = kerberos.ldap_bind(BASEDN)
    assert bind['authentication'] == ldap3.SASL
    assert bind['sasl_mechanism'] == ldap3.KERBEROS
    assert bind['sasl_credentials'][:2] == (None, None)
    assert set(bind) == {'authentication', 'sasl_mechanism', 'sasl_credentials'}
    [handle] = handles.made
    assert bind['sasl_credentials'][2] is handle
    assert handle.usage == 'initiate'
    assert str(handle.name) == 'nova/ctl.example.test@EXAMPLE.TEST'
    # the ccache that holds the ticket, so no new ticket is asked for
    assert handle.store == {'client_keytab': str(tmp_path / 'krb5.keytab'),
                            'ccache': kerberos._ccache}


def test_each_ldap_bind_gets_a_credential_handle_of_its_own(monkeypatch,
                                                            tmp_path):
    """ldap3 takes over the handle it is given (it leaves the original
    empty): the one the process shares (JSON-RPC's Negotiate, the next
    bind) is never handed to it."""
    kerberos = auth.KerberosAuth(str(tmp_path / 'krb5.keytab'))
    shared = object()
    monkeypatch.setattr(kerberos, 'credentials', lambda: shared)
    handles = Handles(monkeypatch)
    first = kerberos.ldap_bind(BASEDN)['sasl_credentials'][2]
    second = kerberos.ldap_bind(BASEDN)['sasl_credentials'][2]
    assert first is not second and shared not in (first, second)
    assert handles.made == [first, second]


def test_a_kerberos_directory_hands_a_ticket_to_each_connection(
        fake_ldap, monkeypatch, tmp_path):
    kerberos = auth.KerberosAuth(str(tmp_path / 'krb5.keytab'))
    monkeypatch.setattr(kerberos, 'credentials', lambda: object())
    handles = Handles(monkeypatch)
    reader = make_directory(user_auth=kerberos)
    list(reader.hosts(CLOUD))
    reader.managers()
    first, second = fake_ldap.connections
    assert [first.kwargs['sasl_credentials'][2],
            second.kwargs['sasl_credentials'][2]] == handles.made
    assert 'password' not in first.kwargs
    assert fake_ldap.steps() == ['open', 'start_tls', 'bind', 'search',
                                 'unbind'] * 2


def test_a_missing_ca_file_is_ipa_unavailable_naming_it(tmp_path):
    missing = str(tmp_path / 'no-ca.crt')
    reader = directory.Directory(['ipa1.example.test'],
                                 auth.PasswordAuth('admin', 'pw'),
                                 BASEDN, ca_file=missing)
    with pytest.raises(errors.IPAUnavailable, match='ca_file'):
        list(reader.hosts(CLOUD))
