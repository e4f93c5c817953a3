"""One-time passwords derived from a shared secret, and rotating that secret.

OTP = HMAC-SHA256(secret, fqdn NUL instance-id), in 32 letters and digits; for a
host reset after a rebuild, HMAC-SHA256(secret, fqdn NUL instance-id NUL the
rebuild's request id) (``novajoin.hosts.rearm``). Every
worker and every replica with the same secret hands out the same OTP for the
same host and instance, so a guest's repeated fetches all get the password the
host was created with, and nothing needs to be stored or written to IPA again.

Rotation. Each secret has a key id, an HMAC of a fixed text under the secret
(it tells secrets apart and reveals nothing of them). A host is created with
the current secret, and its owner record names that key id
(``novajoin.hosts.records``), so after ``[join] otp_secret`` is replaced a
host created before, and not enrolled yet, still gets its OTP from the
previous secret it was made with (``[join] previous_otp_secrets``). Records
made before key ids existed name none: they were made with the oldest secret
configured (the current one until the first rotation).
"""
import hashlib
import hmac

_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
LENGTH = 32
MIN_SECRET = 32
_KEY_ID_TEXT = b'novajoin otp key id'
KEY_ID_LENGTH = 8


class UnknownKey(Exception):
    """A host was made with a secret that is no longer configured."""


def key_id(secret):
    return hmac.new(secret.encode(), _KEY_ID_TEXT,
                    hashlib.sha256).hexdigest()[:KEY_ID_LENGTH]


def _check(secret, what):
    if not secret or len(secret) < MIN_SECRET:
        raise ValueError('%s must be at least %d characters (novajoin-install '
                         'generates one)' % (what, MIN_SECRET))


class OTPSource:
    """``secret``: the current secret; ``previous``: older ones, newest
    first, kept while hosts made with them may still enroll."""

    def __init__(self, secret, previous=()):
        _check(secret, '[join] otp_secret')
        for old in previous:
            _check(old, 'every [join] previous_otp_secrets entry')
        secrets = [secret] + [s for s in previous if s != secret]
        self._keys = {key_id(s): s.encode() for s in secrets}
        if len(self._keys) != len(secrets):
            raise ValueError('two OTP secrets share a key id; use other secrets')
        self.key_id = key_id(secret)
        self._oldest = key_id(secrets[-1])

    def otp(self, fqdn, instance_id, key=None, generation=None):
        """The OTP of a host made with the secret ``key`` (a key id); the
        current secret by default. ``generation``: the request id of the
        rebuild the host was reset for, if any. ``UnknownKey`` when that
        secret is gone."""
        key = self.key_id if key is None else key
        try:
            secret = self._keys[key]
        except KeyError:
            raise UnknownKey('the host %s was made with OTP key %s, which is no '
                             'longer configured: put its secret back in [join] '
                             'previous_otp_secrets' % (fqdn, key)) from None
        text = '%s\0%s' % (fqdn, instance_id)
        if generation:
            text += '\0' + generation
        digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()
        number = int.from_bytes(digest, 'big')
        chars = []
        for _ in range(LENGTH):
            number, index = divmod(number, len(_ALPHABET))
            chars.append(_ALPHABET[index])
        return ''.join(chars)

    def otp_of_record(self, fqdn, instance_id, key):
        """The OTP of a host whose owner record names ``key`` (None: a record
        from before key ids, made with the oldest secret)."""
        return self.otp(fqdn, instance_id, self._oldest if key is None else key)


def secrets_from_conf(conf):
    """(current secret, previous secrets newest first).

    ``[join] otp_secret_file``: its first line is the current secret, the
    following non-empty lines previous ones; ``[join] previous_otp_secrets``
    adds to them.
    """
    previous = list(conf.join.previous_otp_secrets)
    if conf.join.otp_secret_file:
        with open(conf.join.otp_secret_file) as f:
            lines = [line.strip() for line in f]
        lines = [line for line in lines if line]
        return (lines[0] if lines else ''), lines[1:] + previous
    return conf.join.otp_secret, previous


def source_from_conf(conf):
    current, previous = secrets_from_conf(conf)
    return OTPSource(current, previous)
