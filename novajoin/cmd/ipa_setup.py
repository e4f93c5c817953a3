"""novajoin-ipa-setup: novajoin's principal, role and keytab in IPA.

Run on each controller as an IPA admin (password or ``kinit admin`` ticket).
Idempotent: a second run reports "unchanged".
"""
import argparse
import os
import shutil
import socket
import sys

from novajoin import validation
from novajoin.install.settings import IPA_DEFAULT_CONF
from novajoin.install.settings import ipa_client_setting
from novajoin.ipa import errors
from novajoin.ipa_setup import admin as admin_mod
from novajoin.ipa_setup import provision
from novajoin.ipa_setup import SetupError

PASSWORD_ENV = admin_mod.PASSWORD_ENV


def parser():
    p = argparse.ArgumentParser(
        prog='novajoin-ipa-setup',
        description='Create or update, in IPA, the permissions, privilege, role '
                    'and service principal novajoin needs, and write its keytab.')
    p.add_argument('--server', default=ipa_client_setting('server'),
                   help='IPA server (default: server in %s)' % IPA_DEFAULT_CONF)
    p.add_argument('--hostname', default=socket.getfqdn(),
                   help='this controller\'s FQDN; it must be an IPA host '
                        '(default: %(default)s)')
    p.add_argument('--principal',
                   help='service principal (default: nova/<hostname>)')
    p.add_argument('--keytab', default='/etc/novajoin/krb5.keytab',
                   help='where to write the keytab (default: %(default)s)')
    p.add_argument('--user', help='owner of the keytab (default: novajoin if '
                                  'that user exists, else the current user)')
    p.add_argument('--ca-file', default='/etc/ipa/ca.crt',
                   help='IPA CA certificate (default: %(default)s)')
    p.add_argument('--krb5-config', help='krb5.conf to use (KRB5_CONFIG)')
    p.add_argument('--admin', default='admin',
                   help='IPA admin to log in as (default: %(default)s)')
    auth = p.add_mutually_exclusive_group()
    auth.add_argument('--password-file',
                      help='file whose first line is the admin\'s password '
                           '(else $%s, else a prompt)' % PASSWORD_ENV)
    auth.add_argument('--kerberos', action='store_true',
                      help='use the caller\'s Kerberos ticket (kinit admin) '
                           'instead of a password')
    p.add_argument('--getkeytab',
                   default=shutil.which('ipa-getkeytab') or '/usr/sbin/ipa-getkeytab',
                   help='ipa-getkeytab program (default: %(default)s)')
    p.add_argument('--add-host', action='store_true',
                   help='add the host to IPA if it is missing')
    p.add_argument('--api-version', default='2.254',
                   help='IPA API version (default: %(default)s, FreeIPA 4.12)')
    p.add_argument('--dry-run', action='store_true',
                   help='show what would change; change nothing')
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if not args.server:
        parser().error('--server is required (this machine has no %s)'
                       % IPA_DEFAULT_CONF)
    if args.krb5_config:
        os.environ['KRB5_CONFIG'] = args.krb5_config

    auth, password = admin_mod.auth(args.admin, args.password_file,
                                    args.kerberos, prog='novajoin-ipa-setup')
    ca_file = args.ca_file if os.path.exists(args.ca_file) else None
    admin = admin_mod.client([args.server], auth, ca_file,
                             api_version=args.api_version)
    try:
        report = provision(
            admin, args.hostname, args.keytab, principal=args.principal,
            user=args.user, server=args.server, getkeytab=args.getkeytab,
            ca_file=ca_file, krb5_config=args.krb5_config,
            admin_principal=args.admin, admin_password=password,
            add_host=args.add_host, dry_run=args.dry_run)
    except (SetupError, errors.IPAError,
            validation.BadRequest) as exc:
        print('novajoin-ipa-setup: error: %s' % exc, file=sys.stderr)
        return 1
    prefix = 'would change' if args.dry_run else 'changed'
    for change in report.changes:
        print('%s: %s' % (prefix, change))
    for warning in report.warnings:
        print('warning: %s' % warning, file=sys.stderr)
    print('principal %s, keytab %s' % (report.principal, report.keytab))
    if not report.changed:
        print('unchanged')
    else:
        print('%s (%d)' % ('dry run: changes pending' if args.dry_run
                           else 'changed', len(report.changes)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
