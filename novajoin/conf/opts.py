"""Entry point for oslo-config-generator (namespace ``novajoin``)."""
from novajoin import conf


def list_opts():
    result = []
    for module in conf.MODULES:
        for group, opts in module.list_opts().items():
            result.append((group, opts))
    return result
