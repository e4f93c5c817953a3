from novajoin.ipa import errors
from novajoin.ipa import results


def test_failed_members_finds_every_pair():
    result = {'failed': {'managedby': {'host': [['a', results.ALREADY_MEMBER],
                                                ['b', 'no such entry']]}}}
    assert results.failed_members(result) == [('a', results.ALREADY_MEMBER),
                                              ('b', 'no such entry')]
    assert results.failed_members({'failed': {'managedby': {'host': []}}}) == []
    assert results.failed_members({}) == []


def test_batch_problems_ignores_duplicates_and_already_members():
    calls = [('host_add', ['h1'], {}), ('host_add_managedby', ['x'], {}),
             ('service_add', ['s'], {}), ('host_add_managedby', ['y'], {})]
    out = [errors.DuplicateEntry('exists', code=4002),
           {'failed': {'managedby': {'host': [['b', 'no such entry']]}}},
           errors.ACIError('Insufficient access', code=2100),
           {'failed': {'managedby': {'host': [['c', results.ALREADY_MEMBER]]}}}]
    assert results.batch_problems(calls, out) == [
        'host_add_managedby x: b: no such entry',
        'service_add s: Insufficient access (2100 ACIError)']
