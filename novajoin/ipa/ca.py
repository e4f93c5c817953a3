"""The IPA CA certificate that novajoin hands to guests with their OTP.

ipa-client-install's OTP path otherwise downloads the CA over plain HTTP
(trust on first use: anyone on the guest's path to IPA could substitute
it). Guarantee: what ``load_bundle`` returns is one or more PEM
certificates, each checked by OpenSSL, re-encoded from their bytes (no
comments or other text from the file), and small enough for nova's
vendordata; anything else is refused at start with a message naming the
file.
"""
import base64
import binascii
import re
import ssl

# A real IPA CA bundle is one to a few certificates of ~1.5 KiB each.
MAX_BYTES = 64 * 1024
MAX_CERTS = 8
_BLOCK = re.compile(r'-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*'
                    r'-----END CERTIFICATE-----')


def _pem(der):
    body = base64.b64encode(der).decode('ascii')
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' % (
        '\n'.join(lines))


def parse_bundle(text, source='CA file'):
    """``text``'s certificates, re-encoded as PEM; ValueError otherwise."""
    ders = []
    for match in _BLOCK.finditer(text):
        try:
            ders.append(base64.b64decode(''.join(match.group(1).split()),
                                         validate=True))
        except (binascii.Error, ValueError):
            raise ValueError('%s has a certificate that is not valid base64'
                             % source) from None
    if not ders:
        raise ValueError('%s holds no PEM certificate' % source)
    if len(ders) > MAX_CERTS:
        raise ValueError('%s holds %d certificates; at most %d are handed to '
                         'guests' % (source, len(ders), MAX_CERTS))
    bundle = ''.join(_pem(der) for der in ders)
    try:
        # OpenSSL parses every certificate, or refuses the lot.
        ssl.create_default_context(cadata=bundle)
    except ssl.SSLError as exc:
        raise ValueError('%s is not a bundle of X.509 certificates (%s)'
                         % (source, exc.reason or exc)) from None
    return bundle


def load_bundle(path):
    """The certificates of the PEM file ``path`` (see parse_bundle)."""
    try:
        with open(path, 'rb') as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ValueError('[ipa] ca_file %s cannot be read: %s'
                         % (path, exc.strerror or exc)) from None
    if len(data) > MAX_BYTES:
        raise ValueError('[ipa] ca_file %s is larger than %d bytes' % (path, MAX_BYTES))
    try:
        text = data.decode('ascii')
    except UnicodeDecodeError:
        raise ValueError('[ipa] ca_file %s is not a PEM (ASCII) file' % path) from None
    return parse_bundle(text, '[ipa] ca_file %s' % path)
