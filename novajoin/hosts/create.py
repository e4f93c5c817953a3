"""Atomic IPA writes: a batch whose every call succeeds, or nothing it made.

IPA's ``batch`` runs each call on its own: some may succeed while others are
refused. ``run_atomically`` reads every result (errors, and refusals hidden in
``result.failed``) and, when anything failed, undoes what the successful calls
made -- links removed first, then services and hosts deleted -- so a failed
enrollment leaves no subhost, service or ``managedBy`` link behind for anyone
to claim. What existed before the batch (an entry whose add was a
DuplicateEntry, a link that was already there) is never undone.
"""
import logging

from novajoin.ipa import errors
from novajoin.ipa import results as results_mod

LOG = logging.getLogger(__name__)

# add call -> the call that takes it back (same entry, same options)
_UNDO_LINK = {'service_add_host': 'service_remove_host',
              'host_add_managedby': 'host_remove_managedby'}
_UNDO_ADD = {'host_add': 'host_del', 'service_add': 'service_del'}


class BatchFailed(errors.IPACommandError):
    """IPA refused a call of an atomic batch; what it made was undone.

    ``duplicate``: the names whose add IPA refused because they exist.
    """

    def __init__(self, message, problems, duplicate):
        super().__init__(message)
        self.problems = problems
        self.duplicate = duplicate


def _failed(call, result):
    if isinstance(result, errors.DuplicateEntry) and call[0] == 'service_add':
        return False    # the service was there: it is on a checked host
    if isinstance(result, Exception):
        return True
    return any(reason != results_mod.ALREADY_MEMBER
               for _, reason in results_mod.failed_members(result))


def undo_calls(calls, results):
    """The calls that take back what the successful ``calls`` made."""
    unlink, delete = [], []
    for (method, args, options), result in zip(calls, results):
        if isinstance(result, Exception) or _failed((method, args, options),
                                                    result):
            continue    # made nothing (or found it there already)
        if method in _UNDO_LINK:
            added = {name for name in options.get('host', [])}
            already = {name for name, reason in results_mod.failed_members(result)
                       if reason == results_mod.ALREADY_MEMBER}
            if added - already:
                unlink.append((_UNDO_LINK[method], list(args),
                               {'host': sorted(added - already)}))
        elif method in _UNDO_ADD:
            delete.append((_UNDO_ADD[method], list(args), {}))
    # services before hosts: a service's host may be among the deleted
    delete.sort(key=lambda call: call[0] != 'service_del')
    return unlink + delete


def run_atomically(ipa, calls, deadline=None, what='request', ours=None):
    """Run ``calls`` in one batch; on any failure undo the rest and raise
    ``BatchFailed`` (a transient ``IPAError`` first, if one was the cause).

    ``ours(names)``: asked when the only failures are ``host_add`` calls of
    ``names`` that exist. True (they are the caller's own, made a moment ago
    by a concurrent request for the same host) makes the batch a success:
    undoing would take back links the other request counts on.
    """
    results = ipa.batch(calls, deadline=deadline)
    failed = [(call, result) for call, result in zip(calls, results)
              if _failed(call, result)]
    if not failed:
        return results
    duplicate = [call[1][0] for call, result in failed
                 if call[0] == 'host_add'
                 and isinstance(result, errors.DuplicateEntry)]
    if ours is not None and len(duplicate) == len(failed) \
            and _is_ours(ours, duplicate, what):
        LOG.info('%s: %s was created by a concurrent request for the same '
                 'owner; kept', what, ', '.join(duplicate))
        return results
    problems = ['host_add %s: already exists' % name for name in duplicate]
    problems += results_mod.batch_problems([c for c, _ in failed],
                                           [r for _, r in failed])
    undo = undo_calls(calls, results)
    left = _undo(ipa, undo, what)
    LOG.warning('IPA refused part of %s (%s); undid %d changes%s', what,
                '; '.join(problems), len(undo) - len(left),
                ', could NOT undo: %s' % '; '.join(left) if left else '')
    transient = [r for _, r in failed
                 if isinstance(r, errors.IPAError) and r.transient]
    if transient:
        raise transient[0]
    raise BatchFailed('IPA refused %s: %s' % (what, problems[0]), problems,
                      duplicate)


def _is_ours(ours, names, what):
    try:
        return ours(names)
    except errors.IPAError as exc:
        # unknown owner: undo, as for a stranger's entry
        LOG.warning('%s: could not read the owner of %s (%s)', what,
                    ', '.join(names), exc)
        return False


def _undo(ipa, undo, what):
    """Run the undo calls; the descriptions of those that did not work."""
    if not undo:
        return []
    try:
        # no deadline: leaving half a request behind is worse than being late
        results = ipa.batch(undo)
    except errors.IPAError as exc:
        LOG.error('could not undo the partial %s: %s; the reconciler removes '
                  'subhosts no host manages', what, exc)
        return ['%s %s' % (c[0], c[1][0]) for c in undo]
    return ['%s %s: %s' % (c[0], c[1][0], r) for c, r in zip(undo, results)
            if isinstance(r, Exception) and not isinstance(r, errors.NotFound)]
