"""novajoin-notify: the notification listener (and the periodic reconciler)."""
import logging
import signal
import sys
import threading

from novajoin import config
from novajoin.notify import listener
from novajoin.notify import queues
from novajoin.notify import wiring

LOG = logging.getLogger(__name__)


class PeriodicReconciler(threading.Thread):
    """Runs the reconciler every ``interval`` s until ``stopping`` is set."""

    def __init__(self, reconciler, interval, stopping, first_delay=300):
        super().__init__(name='reconciler', daemon=True)
        self.reconciler = reconciler
        self.interval = interval
        self.stopping = stopping
        # The first run waits a little: the queue's backlog goes first.
        self.first_delay = min(interval, first_delay)

    def run(self):
        delay = self.first_delay
        while not self.stopping.wait(delay):
            delay = self.interval
            try:
                report = self.reconciler.run()
                LOG.info('reconciler: %s', report.summary())
            except Exception:  # noqa: BLE001 - keep the listener alive
                LOG.exception('reconciler run failed; next in %d s', delay)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = config.load(argv, prog='novajoin-notify')
    try:
        parts = wiring.Parts(conf)
    except ValueError as exc:   # e.g. no [ipa] servers: fail now, clearly
        LOG.error('cannot start: %s', exc)
        print('novajoin-notify: %s' % exc, file=sys.stderr)
        return 2
    stopping = threading.Event()
    endpoint = listener.Endpoint(parts.handlers(), conf.notify.max_attempts,
                                 conf.notify.retry_backoff,
                                 conf.notify.retry_backoff_max, stopping)
    listener.set_defaults(conf)
    queue_kind = queues.choose(conf)   # before anything is declared
    server, transport = listener.build(conf, endpoint)
    stop_requested = threading.Event()

    def on_signal(signum, _frame):
        LOG.info('signal %d: stopping', signum)
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    LOG.info('novajoin-notify listening on %s, pool %s (%s queue)',
             ', '.join('%s/%s' % (t.exchange, t.topic)
                       for t in listener.targets(conf)),
             conf.notify.pool or '(none)', queue_kind)
    reconciler = parts.reconciler()
    if conf.notify.reconcile_interval and reconciler is not None:
        PeriodicReconciler(reconciler, conf.notify.reconcile_interval,
                           stopping).start()
    elif conf.notify.reconcile_interval:
        LOG.warning('no periodic reconciler: [service_credentials] is not set, '
                    'so nova cannot be asked which servers exist')
    while not stop_requested.wait(1.0):
        pass
    # Handlers pausing before a requeue wake up and requeue at once.
    stopping.set()
    server.stop()
    server.wait()
    transport.cleanup()
    LOG.info('novajoin-notify stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
