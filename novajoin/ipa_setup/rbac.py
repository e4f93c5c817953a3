"""The IPA permissions, privilege and role novajoin runs with, and how to
converge IPA to them.

Every entry says which novajoin call needs it. The set was found by removing
each candidate in turn on a real FreeIPA 4.12 and running every call
novajoin-server and novajoin-notify make (tests/functional/test_ipa_setup.py
runs those calls with nothing but this role).

Rights on hosts reach only the hosts novajoin made (NOVAJOIN_HOSTS): IPA
itself refuses novajoin's principal on an administrator's host or an IPA
server. Services and DNS records carry nothing an ACI could tell novajoin's
apart by, so those rights are not scoped (README, "What FreeIPA rights
novajoin holds").
"""
from novajoin.ipa import errors
from novajoin.ipa_setup.errors import SetupError

PRIVILEGE = 'Nova Host Management'
ROLE = 'Nova Host Manager'
PRIVILEGE_DESCRIPTION = ('What novajoin needs: add, change and remove hosts, '
                         'their services and DNS records (novajoin-ipa-setup)')
ROLE_DESCRIPTION = 'novajoin service principals (novajoin-ipa-setup)'

# Record entries inside a zone (idnsname=<rec>,idnsname=<zone>,cn=dns,...),
# never a zone entry itself: novajoin must not create, remove or reconfigure
# zones, unlike the built-in "System: * DNS Entries" permissions.
DNS_RECORDS_TARGET = 'idnsname=*,idnsname=*,cn=dns,%(basedn)s'
DNS_LOCATION = 'cn=dns,%(basedn)s'
# The record types novajoin writes (A, PTR) and those host_del updatedns
# clears (A, AAAA, SSHFP -- a guest's ipa-client-install adds SSHFP).
DNS_RECORD_ATTRS = ['arecord', 'aaaarecord', 'ptrrecord', 'sshfprecord']

# Every host novajoin creates carries userclass values that start with this
# (novajoin.hosts.records: "novajoin: instance=...", "novajoin: cloud=...").
# The role sets userclass when it adds a host, and may change it later only
# on hosts that match the filter already (the rebuild record); a host cannot
# write its own userclass (it can write its own description: IPA's default
# ACI "Hosts can modify their own certs and keytabs"). So the filter below
# tells the hosts novajoin made from those an administrator made, IPA
# servers included, and neither novajoin nor a host can draw a host in. IPA ANDs
# it with its own (objectclass=ipahost) for type=host; permission_add/_mod
# take it, and permission_show reports it, as ``extratargetfilter``.
NOVAJOIN_HOSTS = '(userclass=novajoin:*)'
NO_FILTER = ()

# name -> (permission_add options, why). %(basedn)s is filled in from IPA.
# Every entry states its ``extratargetfilter`` (NO_FILTER: none), so that a
# re-run puts a missing filter back and takes away one added by hand: the
# permissions are novajoin's by name, and what they allow is what is
# written here.
CUSTOM_PERMISSIONS = {
    'Novajoin - Add Hosts': (
        {'type': 'host', 'ipapermright': ['add'],
         'extratargetfilter': [NOVAJOIN_HOSTS]},
        'host_add (instance hosts with OTP, userclass and description, and '
        'service subhosts), only with a "novajoin:" userclass: everything '
        'novajoin creates is then something it may later manage and remove, '
        'never a host it cannot clean up. Replaces System: Add Hosts'),
    'Novajoin - Remove Hosts': (
        {'type': 'host', 'ipapermright': ['delete'],
         'extratargetfilter': [NOVAJOIN_HOSTS]},
        'host_del (instance deleted, failed enrollment rolled back, leaks '
        'reconciled) of novajoin\'s hosts only: IPA refuses to delete an '
        'administrator\'s host, so novajoin cannot delete one and add it '
        'again as its own. Replaces System: Remove Hosts'),
    'Novajoin - Manage Host Enrollment Password': (
        {'type': 'host', 'ipapermright': ['write'], 'attrs': ['userpassword'],
         'extratargetfilter': [NOVAJOIN_HOSTS]},
        'host_mod userpassword (the OTP again on a host with neither keys nor '
        'password) of novajoin\'s hosts only: an OTP on an administrator\'s '
        'host that is not enrolled yet would let whoever holds it enroll as '
        'that host. Replaces System: Manage Host Enrollment Password'),
    'Novajoin - Modify Host managedBy': (
        {'type': 'host', 'ipapermright': ['write'], 'attrs': ['managedby'],
         'extratargetfilter': [NOVAJOIN_HOSTS]},
        'host_add_managedby / host_remove_managedby: an instance host manages '
        'its service subhosts; no built-in permission writes host managedBy. '
        'Only on novajoin\'s hosts: a host in another host\'s managedBy may '
        'fetch its keytab and certificates, so on any other host (an IPA '
        'server, an administrator\'s) this would hand out its identity'),
    'Novajoin - Record Host Rebuilds': (
        {'type': 'host', 'ipapermright': ['write'], 'attrs': ['userclass'],
         'extratargetfilter': [NOVAJOIN_HOSTS]},
        'host_mod addattr/delattr userclass "novajoin: rebuild=..." (the '
        'rebuild a host is reset for, novajoin.hosts.rearm) on novajoin\'s '
        'hosts only. The filter needs a "novajoin:" value there already, so '
        'no other host can be drawn in'),
    'Novajoin - Manage Host Keytab': (
        {'type': 'host', 'ipapermright': ['write'],
         'attrs': ['krbprincipalkey', 'krblastpwdchange'],
         'extratargetfilter': [NOVAJOIN_HOSTS]},
        'host_disable (a rebuilt instance\'s host: the old guest\'s keys '
        'removed) of novajoin\'s hosts only. Replaces System: Manage Host '
        'Keytab, which reaches every host but IPA servers'),
    'Novajoin - Modify Service managedBy': (
        # Not scoped: a service entry has no description or other free-text
        # attribute (ipaService, krbPrincipalAux, pkiUser), and an ACI
        # filter cannot look at the service's host.
        {'type': 'service', 'ipapermright': ['write'], 'attrs': ['managedby'],
         'extratargetfilter': NO_FILTER},
        'service_add_host / service_remove_host: the instance host manages '
        'services on its subhosts'),
    'Novajoin - Add DNS Records': (
        {'ipapermright': ['add'], 'ipapermlocation': DNS_LOCATION,
         'ipapermtarget': DNS_RECORDS_TARGET, 'extratargetfilter': NO_FILTER},
        'dnsrecord_add of a new name (floating-IP A and PTR records)'),
    'Novajoin - Update DNS Records': (
        {'ipapermright': ['write'], 'ipapermlocation': DNS_LOCATION,
         'ipapermtarget': DNS_RECORDS_TARGET, 'attrs': DNS_RECORD_ATTRS,
         'extratargetfilter': NO_FILTER},
        'dnsrecord_add/_del of a value on an existing name; host_del updatedns '
        'clears A, AAAA and SSHFP'),
    'Novajoin - Remove DNS Records': (
        {'ipapermright': ['delete'], 'ipapermlocation': DNS_LOCATION,
         'ipapermtarget': DNS_RECORDS_TARGET, 'extratargetfilter': NO_FILTER},
        'dnsrecord_del / host_del updatedns of a name\'s last record removes '
        'the entry'),
}

# Built-in permissions used as they are: name -> why.
BUILTIN_PERMISSIONS = {
    'System: Add Services': 'service_add (ipa_services metadata)',
    'System: Remove Services': 'service_del, and host_del, which removes the '
                               'host\'s services first',
    'System: Manage Service Keytab': 'host_disable disables the services on '
                                     'the host (service_disable removes their '
                                     'keys); novajoin may delete any service '
                                     'already (System: Remove Services)',
    'System: Read DNS Entries': 'dnszone_show/_find, dnsrecord_show/_find, '
                                'and host_del updatedns reads the host\'s '
                                'records (zones are not world-readable)',
}

# Only when IPA has a CA: host_del and service_del revoke the certificates of
# what they delete (cert_find, cert_show, cert_revoke), and an enrolled guest
# usually has a host certificate.
CA_PERMISSIONS = {
    'Revoke Certificate': 'host_del/service_del revoke the deleted '
                          'principal\'s certificates',
    'Retrieve Certificates from the CA': 'cert_revoke reads the certificate '
                                         'first (cert_show)',
}


def permission_names(ca_enabled):
    names = list(CUSTOM_PERMISSIONS) + list(BUILTIN_PERMISSIONS)
    if ca_enabled:
        names += list(CA_PERMISSIONS)
    return names


def _fill(options, basedn):
    out = {}
    for key, value in options.items():
        if isinstance(value, str):
            value = value % {'basedn': basedn}
        out[key] = value
    return out


def _norm(value):
    if value is None:
        return set()
    if isinstance(value, (list, tuple)):
        return {str(v).lower() for v in value}
    return {str(value).lower()}


def permission_diff(wanted, shown):
    """Options of ``wanted`` that ``shown`` (permission_show all) does not match.

    permission_show answers under the option names permission_add takes.
    """
    return {key: value for key, value in wanted.items()
            if _norm(value) != _norm(shown.get(key))}


class Converger:
    """Brings IPA objects to the wanted state; records what it changed.

    ``dry_run``: read everything, change nothing, record what would change.
    """

    def __init__(self, ipa, report, dry_run=False):
        self.ipa = ipa
        self.report = report
        self.dry_run = dry_run

    def write(self, message, method, *args, **options):
        self.report.change(message)
        if self.dry_run:
            return {}
        result = self.ipa.call(method, *args, **options)
        failed = _failed_members(result)
        if failed:
            raise errors.IPACommandError('%s %s refused: %s'
                                         % (method, args[0], '; '.join(failed)))
        return result

    def show(self, method, name, **options):
        try:
            return self.ipa.call(method, name, **options)['result']
        except errors.NotFound:
            return None

    def permission(self, name, options, basedn):
        wanted = _fill(options, basedn)
        shown = self.show('permission_show', name, all=True)
        if shown is None:
            try:
                self.write('added permission %r' % name, 'permission_add',
                           name, **wanted)
                return
            except errors.DuplicateEntry:
                # Another set-up run added it meanwhile: check it like ours.
                shown = self.show('permission_show', name, all=True) or {}
        diff = permission_diff(wanted, shown)
        if diff:
            self.write('corrected permission %r (%s)' % (name, ', '.join(sorted(diff))),
                       'permission_mod', name, **diff)

    def builtin_exists(self, name):
        if self.show('permission_show', name) is None:
            raise SetupError('IPA has no permission %r: is this FreeIPA 4.5 '
                             'or newer?' % name)

    def privilege(self, name, description, permissions):
        shown = self.show('privilege_show', name)
        if shown is None:
            self._add_container('privilege_add', name, description,
                                'added privilege %r' % name)
            shown = {}
        have = {p.lower(): p for p in shown.get('memberof_permission', [])}
        missing = [p for p in permissions if p.lower() not in have]
        extra = sorted(set(have) - {p.lower() for p in permissions})
        if missing:
            self.write('privilege %r: added %s' % (name, ', '.join(missing)),
                       'privilege_add_permission', name, permission=missing)
        if extra:
            # The privilege is ours by name: anything else in it (an old
            # novajoin's set, a manual addition) widens novajoin's rights.
            extra = [have[p] for p in extra]
            self.write('privilege %r: removed %s' % (name, ', '.join(extra)),
                       'privilege_remove_permission', name, permission=extra)

    def role(self, name, description, privilege, principal):
        shown = self.show('role_show', name)
        if shown is None:
            self._add_container('role_add', name, description,
                                'added role %r' % name)
            shown = {}
        have = {p.lower(): p for p in shown.get('memberof_privilege', [])}
        if privilege.lower() not in have:
            self.write('role %r: added privilege %r' % (name, privilege),
                       'role_add_privilege', name, privilege=[privilege])
        extra = [p for key, p in have.items() if key != privilege.lower()]
        if extra:
            self.write('role %r: removed privileges %s' % (name, ', '.join(extra)),
                       'role_remove_privilege', name, privilege=extra)
        # Other members stay: every controller's principal may be in the role.
        members = {_bare(m) for m in shown.get('member_service', [])}
        if _bare(principal) not in members:
            self.write('role %r: added member %s' % (name, principal),
                       'role_add_member', name, service=[principal])

    def _add_container(self, method, name, description, message):
        try:
            self.write(message, method, name, description=description)
        except errors.DuplicateEntry:
            self.report.changes.pop()  # added by a concurrent run, not us

    def service(self, principal, add_host):
        """The service principal, and its host if ``add_host``."""
        if self.show('service_show', principal) is not None:
            return
        host = principal.partition('/')[2].partition('@')[0]
        if self.show('host_show', host) is None:
            if not add_host:
                raise SetupError('host %s is not in IPA: enroll this controller '
                                 'with ipa-client-install, or pass --add-host'
                                 % host)
            self.write('added host %s' % host, 'host_add', host, force=True)
        try:
            # force: no DNS check of the host, which IPA may not resolve.
            self.write('added service %s' % principal, 'service_add', principal,
                       force=True)
        except errors.DuplicateEntry:
            self.report.changes.pop()  # a concurrent run added it


def _bare(principal):
    return principal.partition('@')[0].lower()


def _failed_members(result):
    """Refusals that *_add_member-style commands report inside the result."""
    out = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + [key])
        elif isinstance(node, (list, tuple)):
            if len(node) == 2 and all(isinstance(v, str) for v in node):
                if 'already a member' not in node[1]:
                    out.append('%s %s: %s' % ('/'.join(path), node[0], node[1]))
            else:
                for value in node:
                    walk(value, path)
        elif isinstance(node, str) and node:
            # privilege_add_permission lists bare names it could not add.
            out.append('%s %s' % ('/'.join(path), node))
    walk((result or {}).get('failed') or {}, [])
    return out
