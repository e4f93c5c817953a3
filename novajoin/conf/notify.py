"""[notify]: novajoin-notify (filled in by the notification listener work)."""
from oslo_config import cfg

GROUP = cfg.OptGroup('notify', title='Notification listener')
OPTS = []


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return {GROUP: OPTS}
