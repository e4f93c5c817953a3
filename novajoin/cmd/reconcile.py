"""novajoin-reconcile: remove what novajoin left in IPA for deleted servers;
with ``--adopt``, adopt the hosts novajoin 1.x made and move the records of
novajoin 2.0 development builds into userclass (novajoin.notify.adopt)."""
import logging
import sys

from oslo_config import cfg

from novajoin import config
from novajoin import openstack
from novajoin.ipa import errors
from novajoin.ipa_setup import admin as admin_mod
from novajoin.notify import adopt
from novajoin.notify import wiring

LOG = logging.getLogger(__name__)

CLI_OPTS = [
    cfg.BoolOpt('dry-run', default=False,
                help='Print what would be removed; change nothing.'),
    cfg.IntOpt('grace', min=0,
               help='Override [notify] reconcile_grace (seconds).'),
    cfg.BoolOpt('adopt', default=False,
                help='Instead of removing leaks, give the hosts novajoin 1.x '
                     'made (description "IPA host for OpenStack", no owner) '
                     'the owner record of the one live nova server they are '
                     'named after, and move the records novajoin 2.0 '
                     'development builds kept in the description into '
                     'userclass once nova confirms them. A dry run unless '
                     '--apply is given. Needs an IPA administrator (--admin).'),
    cfg.BoolOpt('apply', default=False,
                help='With --adopt: write the owner records.'),
    cfg.StrOpt('admin', default='admin',
               help='With --adopt: the IPA administrator to log in as.'),
    cfg.StrOpt('admin-password-file',
               help='With --adopt: file whose first line is the '
                    'administrator\'s password (else $%s, else a prompt).'
                    % admin_mod.PASSWORD_ENV),
    cfg.BoolOpt('admin-kerberos', default=False,
                help='With --adopt: use the caller\'s Kerberos ticket (kinit '
                     'admin) instead of a password.'),
]


def main(argv=None, out=None):
    argv = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    conf = config.load(argv, prog='novajoin-reconcile', cli_opts=CLI_OPTS)
    if conf.adopt:
        return _adopt(conf, out)
    if conf.apply:
        print('novajoin-reconcile: --apply goes with --adopt; the reconciler '
              'itself changes IPA unless --dry-run is given', file=sys.stderr)
        return 2
    try:
        parts = wiring.Parts(conf, service='novajoin-reconcile')
    except ValueError as exc:
        print('novajoin-reconcile: %s' % exc, file=sys.stderr)
        return 2
    reconciler = parts.reconciler(grace=conf.grace)
    if reconciler is None:
        print('novajoin-reconcile: [service_credentials] is not set: nova '
              'cannot be asked which servers exist', file=sys.stderr)
        return 2
    try:
        report = reconciler.run(dry_run=conf.dry_run)
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        LOG.exception('reconciler failed')
        print('novajoin-reconcile: failed: %s' % exc, file=sys.stderr)
        return 1
    prefix = 'would ' if conf.dry_run else ''
    for line in report.lines():
        print('%s%s' % (prefix, line), file=out)
    print('%s%s' % ('dry run: ' if conf.dry_run else '', report.summary()),
          file=out)
    return 0


def _adopt(conf, out):
    from novajoin.api.app import build_enroller   # its naming and OTPs
    if not conf.service_credentials.auth_type:
        print('novajoin-reconcile: [service_credentials] is not set: nova '
              'cannot be asked which servers exist', file=sys.stderr)
        return 2
    apply = conf.apply and not conf.dry_run
    try:
        auth, _ = admin_mod.auth(conf.admin, conf.admin_password_file,
                                 conf.admin_kerberos, prog='novajoin-reconcile')
        admin = admin_mod.client(conf.ipa.servers, auth, conf.ipa.ca_file,
                                 api_version=conf.ipa.api_version)
        enroller = build_enroller(conf, ipa=admin)
        servers, _ = openstack.servers_from_conf(conf)
        report = adopt.Adopter(admin, servers, enroller).run(apply=apply)
    except (ValueError, OSError, errors.IPAError,
            openstack.UpstreamError) as exc:
        LOG.exception('adoption failed')
        print('novajoin-reconcile: adoption failed: %s' % exc, file=sys.stderr)
        return 1
    prefix = '' if apply else 'would '
    for line in report.lines():
        print('%s%s' % (prefix, line), file=out)
    print('%s%s' % ('' if apply else 'dry run (add --apply to write): ',
                    report.summary()), file=out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
