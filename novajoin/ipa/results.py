"""Reading what IPA reports inside a successful answer.

``*_add_member``-style commands (service_add_host, host_add_managedby, ...)
report refusals inside ``result.failed``, not as an error; ``batch`` reports
per-call errors in its results.
"""
from novajoin.ipa import errors

ALREADY_MEMBER = 'This entry is already a member'


def failed_members(result):
    """(member, reason) pairs in a ``*_add_member``-style ``failed`` object."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            if (len(node) == 2 and isinstance(node[0], str)
                    and isinstance(node[1], str)):
                out.append((node[0], node[1]))
            else:
                for value in node:
                    walk(value)
    walk(result.get('failed') or {})
    return out


def batch_problems(calls, results):
    """Human-readable refusals in batch results, ignoring harmless ones
    (an entry that already exists, a member that already is one)."""
    problems = []
    for (method, args, _), result in zip(calls, results):
        if isinstance(result, errors.DuplicateEntry):
            continue
        if isinstance(result, Exception):
            problems.append('%s %s: %s' % (method, args[0], result))
            continue
        for name, reason in failed_members(result):
            if reason != ALREADY_MEMBER:
                problems.append('%s %s: %s: %s' % (method, args[0], name, reason))
    return problems
