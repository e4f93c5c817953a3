"""One-time passwords derived from a shared secret.

OTP = HMAC-SHA256(secret, fqdn NUL instance-id), in 32 letters and digits. Every
worker and every replica with the same secret hands out the same OTP for the
same host and instance, so a guest's repeated fetches all get the password the
host was created with, and nothing needs to be stored or written to IPA again.
"""
import hashlib
import hmac

_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
LENGTH = 32
MIN_SECRET = 32


class OTPSource:

    def __init__(self, secret):
        if not secret or len(secret) < MIN_SECRET:
            raise ValueError('[join] otp_secret must be at least %d characters '
                             '(novajoin-install generates one)' % MIN_SECRET)
        self._key = secret.encode()

    def otp(self, fqdn, instance_id):
        digest = hmac.new(self._key, ('%s\0%s' % (fqdn, instance_id)).encode(),
                          hashlib.sha256).digest()
        number = int.from_bytes(digest, 'big')
        chars = []
        for _ in range(LENGTH):
            number, index = divmod(number, len(_ALPHABET))
            chars.append(_ALPHABET[index])
        return ''.join(chars)


def secret_from_conf(conf):
    if conf.join.otp_secret_file:
        with open(conf.join.otp_secret_file) as f:
            return f.readline().strip()
    return conf.join.otp_secret
