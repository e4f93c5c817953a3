"""novajoin-reconcile: remove what novajoin left in IPA for deleted servers."""
import logging
import sys

from oslo_config import cfg

from novajoin import config
from novajoin.notify import wiring

LOG = logging.getLogger(__name__)

CLI_OPTS = [
    cfg.BoolOpt('dry-run', default=False,
                help='Print what would be removed; change nothing.'),
    cfg.IntOpt('grace', min=0,
               help='Override [notify] reconcile_grace (seconds).'),
]


def main(argv=None, out=None):
    argv = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    conf = config.load(argv, prog='novajoin-reconcile', cli_opts=CLI_OPTS)
    try:
        parts = wiring.Parts(conf)
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


if __name__ == '__main__':
    sys.exit(main())
