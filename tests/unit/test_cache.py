from novajoin.cache import TTLCache


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_caches_until_ttl_then_reloads():
    clock, loads = Clock(), []
    cache = TTLCache(10, clock=clock)

    def load(key):
        loads.append(key)
        return key.upper()
    assert cache.get_or_load('a', load) == 'A'
    assert cache.get_or_load('a', load) == 'A'
    clock.now = 11
    assert cache.get_or_load('a', load) == 'A'
    assert loads == ['a', 'a']


def test_zero_ttl_never_caches_and_errors_are_not_cached():
    cache = TTLCache(0)
    calls = []
    cache.get_or_load('k', calls.append)
    cache.get_or_load('k', calls.append)
    assert calls == ['k', 'k']
    failing = TTLCache(10)
    state = {'n': 0}

    def flaky(key):
        state['n'] += 1
        if state['n'] == 1:
            raise RuntimeError('down')
        return 'ok'
    try:
        failing.get_or_load('k', flaky)
    except RuntimeError:
        pass
    assert failing.get_or_load('k', flaky) == 'ok'


def test_bounded_size():
    cache = TTLCache(100, maxsize=10)
    for i in range(50):
        cache.get_or_load(i, lambda k: k)
    assert len(cache._data) <= 10
