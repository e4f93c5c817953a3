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
    assert len(cache._map) <= 10


def test_bounded_map_forgets_the_least_recently_written():
    from novajoin.cache import BoundedMap
    m = BoundedMap(maxsize=3)
    for key in 'abc':
        m.put(key, key.upper())
    m.put('a', 'A2')            # rewritten: now the newest
    m.put('d', 'D')
    assert 'b' not in m and [k in m for k in 'acd'] == [True] * 3
    assert m.get('a') == 'A2' and len(m) == 3
    assert m.pop('a') == 'A2' and m.pop('a', 'gone') == 'gone'


def test_bounded_map_expiry_and_atomic_update():
    from novajoin.cache import BoundedMap
    clock = Clock()
    m = BoundedMap(ttl=10, clock=clock)
    assert m.update('k', lambda n: n + 1, 0) == 1
    assert m.update('k', lambda n: n + 1, 0) == 2
    clock.now = 11
    assert 'k' not in m and m.get('k') is None
    assert m.update('k', lambda n: n + 1, 0) == 1   # counting starts again


def test_put_if_absent_stores_once_per_ttl_and_keeps_the_first_value():
    from novajoin.cache import BoundedMap
    clock = Clock()
    m = BoundedMap(maxsize=1, ttl=60, clock=clock)
    assert m.put_if_absent('said', 1) is True
    clock.now = 59
    assert m.put_if_absent('said', 2) is False and m.get('said') == 1
    clock.now = 60                      # expired: stored again
    assert m.put_if_absent('said', 3) is True and m.get('said') == 3
