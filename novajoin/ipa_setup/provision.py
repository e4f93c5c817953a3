"""``provision``: novajoin's principal, role and keytab in IPA, idempotently."""
import os

from novajoin import validation
from novajoin.ipa_setup import kerberos
from novajoin.ipa_setup import rbac
from novajoin.ipa_setup.errors import SetupError


class Report:
    """What a run changed (or, dry run, would change); empty: unchanged."""

    def __init__(self):
        self.changes = []
        self.warnings = []
        self.principal = None
        self.keytab = None

    def change(self, message):
        self.changes.append(message)

    def warn(self, message):
        self.warnings.append(message)

    @property
    def changed(self):
        return bool(self.changes)


def provision(admin, hostname, keytab, principal=None, user=None, server=None,
              getkeytab='ipa-getkeytab', ca_file=None, krb5_config=None,
              admin_principal=None, admin_password=None, ccache=None,
              add_host=False, role=rbac.ROLE, privilege=rbac.PRIVILEGE,
              dry_run=False):
    """Make IPA and ``keytab`` ready for novajoin on ``hostname``.

    admin: an ``IPAClient`` authenticated as an IPA admin.
    principal: default ``nova/<hostname>``; its host must exist in IPA
        (``add_host`` adds it).
    keytab: written 0600 and owned by ``user`` (see ``service_user``) with new
        keys, unless it already holds working keys for the principal.
    admin_principal/admin_password: get the ticket ipa-getkeytab needs with this
        password; otherwise ipa-getkeytab uses ``ccache`` or the caller's ticket.
    Returns a ``Report``; raises ``SetupError`` or ``errors.IPAError``.
    """
    hostname = validation.check_fqdn(hostname)
    if krb5_config:
        os.environ['KRB5_CONFIG'] = krb5_config  # for the keytab check (gssapi)
    env = admin.call('env', 'realm', 'basedn')['result']
    realm, basedn = env['realm'], env['basedn']
    ca_enabled = bool(admin.call('ca_is_enabled').get('result'))
    principal = principal or 'nova/%s' % hostname
    if '@' not in principal:
        principal = '%s@%s' % (principal, realm)
    owner = kerberos.service_user(user)

    report = Report()
    report.principal, report.keytab = principal, os.path.abspath(keytab)
    conv = rbac.Converger(admin, report, dry_run=dry_run)

    conv.service(principal, add_host)
    for name, (options, _why) in rbac.CUSTOM_PERMISSIONS.items():
        conv.permission(name, options, basedn)
    for name in rbac.permission_names(ca_enabled):
        if name not in rbac.CUSTOM_PERMISSIONS:
            conv.builtin_exists(name)
    conv.privilege(privilege, rbac.PRIVILEGE_DESCRIPTION,
                   rbac.permission_names(ca_enabled))
    conv.role(role, rbac.ROLE_DESCRIPTION, privilege, principal)

    _keytab(report, admin, principal, keytab, owner, dry_run, server=server,
            getkeytab=getkeytab, ca_file=ca_file, krb5_config=krb5_config,
            admin_principal=admin_principal, admin_password=admin_password,
            ccache=ccache)
    return report


def _keytab(report, admin, principal, path, owner, dry_run, server, getkeytab,
            ca_file, krb5_config, admin_principal, admin_password, ccache):
    path = os.path.abspath(path)
    if kerberos.keytab_works(path, principal):
        for what in kerberos.secure_file(path, owner, apply=not dry_run):
            report.change('keytab %s: %s' % (path, what))
    else:
        report.change('new keys for %s in %s' % (principal, path))
        if dry_run:
            return
        server = server or admin.servers[0]
        if admin_password:
            with kerberos.password_ccache(admin_principal or 'admin',
                                          admin_password) as tmp_ccache:
                kerberos.fetch_keytab(getkeytab, server, principal, path,
                                      tmp_ccache, ca_file, krb5_config, owner)
        else:
            kerberos.fetch_keytab(getkeytab, server, principal, path, ccache,
                                  ca_file, krb5_config, owner)
        if not kerberos.keytab_works(path, principal):
            raise SetupError('the new keytab %s gives no ticket for %s'
                             % (path, principal))
    if os.geteuid() != 0 and os.stat(path).st_uid != owner.pw_uid:
        report.warn('keytab %s is not owned by %s: run as root to chown it'
                    % (path, owner.pw_name))
