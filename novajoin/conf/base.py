"""Registering an option group on a ConfigOpts."""
from oslo_config import cfg


def register(conf, group, opts):
    """Register ``opts`` in a copy of ``group`` of this conf's own.

    oslo.config keeps per-option state (overrides, defaults) in the group
    object; a module-level group registered in several ConfigOpts would share
    it, and a set_override on one would show in all of them.
    """
    conf.register_group(cfg.OptGroup(group.name, title=group.title, help=group.help))
    conf.register_opts(opts, group=group.name)
