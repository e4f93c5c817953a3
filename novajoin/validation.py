"""Checks on what comes from outside: nova's request body and DNS names.

Guarantees:
- every pattern matches the *whole* string (``re.fullmatch``): a trailing
  newline or any other extra character is refused, never let through;
- a name is accepted as it is or refused, never reshaped into another name
  (the only normalisations are ASCII lower-casing and dropping the one
  trailing dot of an absolute name);
- a request body is parsed only if it is at most ``MAX_BODY`` bytes of UTF-8
  JSON nested at most ``MAX_JSON_DEPTH`` deep, without duplicate keys or
  NaN/Infinity, and every field nova sends has the type nova sends.

Everything here raises ``BadRequest`` with a message naming the problem; the
API turns it into a 400. No name reaches IPA without passing through here.
"""
import itertools
import json
import re
import uuid

# RFC 1123 label: letters, digits, hyphens; no hyphen at either end.
_LABEL = re.compile(r'[a-z0-9]([a-z0-9-]*[a-z0-9])?')
_SERVICE = re.compile(r'[A-Za-z][A-Za-z0-9_-]{0,62}')
_PROJECT_ID = re.compile(r'[A-Za-z0-9_-]{1,64}')
# Canonical 8-4-4-4-12 only: uuid.UUID() alone would also take braces,
# "urn:uuid:" or hyphens anywhere.
_UUID = re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-'
                   r'[0-9a-fA-F]{4}-[0-9a-fA-F]{12}')
MAX_LABEL = 63
MAX_FQDN = 253
# An OpenStack request id (oslo.context, oslo.middleware), matched whole.
REQUEST_ID = re.compile(r'req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}'
                        r'-[0-9a-f]{12}')

# nova's body is a few KiB (user-data <= 64 KiB of base64, metadata a few
# hundred short strings); 1 MiB leaves room and bounds memory.
MAX_BODY = 1024 * 1024
# nova's body nests 2 deep (the object, its "metadata" object); 4 leaves
# room for a field nova may add, and json never recurses near its limit.
MAX_JSON_DEPTH = 4
# JSON strings (escapes included), then the brackets outside them.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r'[^\[\]{}]+')


class BadRequest(ValueError):
    """The request cannot be served as it is (HTTP 400)."""


def check_label(label, what='label'):
    """``label`` itself if it is one RFC 1123 label in lower case."""
    if not isinstance(label, str):
        raise BadRequest('%s must be a string' % what)
    if not label:
        raise BadRequest('%s is empty' % what)
    if len(label) > MAX_LABEL:
        raise BadRequest('%s %r is %d characters long; a DNS label has at most %d'
                         % (what, label, len(label), MAX_LABEL))
    if not _LABEL.fullmatch(label):
        raise BadRequest('%s %r is not a valid DNS label (RFC 1123: letters, '
                         'digits and hyphens, not starting or ending with a '
                         'hyphen)' % (what, label))
    return label


def lower_name(name, what):
    """``name`` lower-cased, refused unless ASCII: str.lower() maps some
    non-ASCII letters onto ASCII ones (KELVIN SIGN -> "k"), which would
    turn a refused name into another, valid one."""
    if not isinstance(name, str):
        raise BadRequest('%s must be a string' % what)
    if not name:
        raise BadRequest('%s is empty' % what)
    if not name.isascii():
        raise BadRequest('%s %r is not a valid DNS name (ASCII letters, '
                         'digits, hyphens and dots only)' % (what, name[:64]))
    return name.lower()


def _drop_root_dot(name, original, what):
    # An absolute name ends with the root's one dot; "a.b.." has an empty
    # label, and "." is no host at all.
    if name.endswith('.'):
        name = name[:-1]
    if not name:
        raise BadRequest('%s %r is not a host name' % (what, original))
    return name


def _check_labels(labels, original, what):
    for label in labels:
        if not label:
            raise BadRequest('%s %r has an empty label' % (what, original))
        check_label(label, 'label of %s %r' % (what, original))


def check_fqdn(fqdn, what='host name'):
    """Lower-cased ``fqdn`` if every label is valid and it fits in 253.

    One trailing dot (an absolute name) is dropped; anything else that is
    not an RFC 1123 name is refused, never reshaped.
    """
    name = _drop_root_dot(lower_name(fqdn, what), fqdn, what)
    if len(name) > MAX_FQDN:
        raise BadRequest('%s %r is %d characters long; at most %d are allowed'
                         % (what, name[:64] + '...', len(name), MAX_FQDN))
    labels = name.split('.')
    if len(labels) < 2:
        raise BadRequest('%s %r is not fully qualified' % (what, fqdn))
    _check_labels(labels, fqdn, what)
    return name


def check_hostname(hostname, what='hostname'):
    """Lower-cased ``hostname``: one label, or a name of valid labels.

    This is what nova may send: its sanitized short name, or (API >= 2.94)
    an FQDN. The same no-reshaping rules as ``check_fqdn`` apply.
    """
    name = _drop_root_dot(lower_name(hostname, what), hostname, what)
    if len(name) > MAX_FQDN:
        raise BadRequest('%s %r is %d characters long; at most %d are allowed'
                         % (what, name[:64] + '...', len(name), MAX_FQDN))
    if '.' not in name:
        return check_label(name, what)
    _check_labels(name.split('.'), hostname, what)
    return name


def check_service_name(name):
    if not isinstance(name, str) or not _SERVICE.fullmatch(name):
        raise BadRequest('service name %r is not valid (a letter, then letters, '
                         'digits, "-" or "_", at most 63)' % (name,))
    return name


def dns_label_from(name):
    """A DNS label made from a free-form name (a project name)."""
    label = re.sub(r'[^a-z0-9-]+', '-', (name or '').lower()).strip('-')
    label = label[:MAX_LABEL].rstrip('-')
    if not label:
        raise BadRequest('%r cannot be made into a DNS label' % (name,))
    return label


def json_depth(text):
    """How deep arrays and objects nest in the JSON ``text``, found without
    parsing it (so without recursion); exact for valid JSON."""
    brackets = _NOT_BRACKET.sub('', _JSON_STRING.sub('', text))
    steps = (1 if c in '[{' else -1 for c in brackets)
    return max(itertools.accumulate(steps, initial=0))


def _no_duplicates(pairs):
    # Parsers disagree on which of two equal keys wins; nova sends none.
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise BadRequest('body has the key %r twice' % key[:64])
        obj[key] = value
    return obj


def _no_constant(name):
    raise BadRequest('body has %s, which is not JSON' % name)


def parse_json_body(raw):
    """The JSON value of the bytes ``raw``, within the bounds above."""
    if len(raw) > MAX_BODY:
        raise BadRequest('body too large (more than %d bytes)' % MAX_BODY)
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise BadRequest('body is not UTF-8: %s' % exc)
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise BadRequest('body nests arrays/objects %d deep; at most %d '
                         '(nova sends an object of strings)'
                         % (depth, MAX_JSON_DEPTH))
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constant)
    except ValueError as exc:
        if isinstance(exc, BadRequest):
            raise
        raise BadRequest('body is not valid JSON: %s' % exc)


class VendordataRequest:
    """The body nova's DynamicJSON provider POSTs, checked."""

    __slots__ = ('project_id', 'instance_id', 'image_id', 'hostname',
                 'metadata', 'boot_roles')

    def __init__(self, project_id, instance_id, image_id, hostname, metadata,
                 boot_roles):
        self.project_id = project_id
        self.instance_id = instance_id
        self.image_id = image_id
        self.hostname = hostname
        self.metadata = metadata
        self.boot_roles = boot_roles

    @classmethod
    def from_json(cls, body):
        """Checked fields of nova's body (DESIGN.md 2).

        Keys nova does not send are ignored (a later nova may add some);
        the ones it sends must have its types: strings, ``user-data`` a
        string or null, ``metadata`` an object of strings.
        """
        if not isinstance(body, dict):
            raise BadRequest('the body must be a JSON object, not %s'
                             % _json_type(body))
        instance_id = _uuid(_string(body, 'instance-id', required=True),
                            'instance-id')
        project_id = _string(body, 'project-id', required=True)
        if not _PROJECT_ID.fullmatch(project_id):
            raise BadRequest('project-id %r is not a keystone project id'
                             % project_id[:64])
        image_id = _string(body, 'image-id') or None   # "" boot from volume
        if image_id is not None:
            image_id = _uuid(image_id, 'image-id')
        hostname = _string(body, 'hostname', required=True)
        check_hostname(hostname)
        _string(body, 'user-data')      # unused; still nova's type or 400
        metadata = body.get('metadata')
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise BadRequest('metadata must be an object of strings, not %s'
                             % _json_type(metadata))
        for key, value in metadata.items():
            if not isinstance(value, str):
                raise BadRequest('metadata must be an object of strings; %r '
                                 'is %s' % (key[:64], _json_type(value)))
        roles = _string(body, 'boot-roles') or ''
        boot_roles = [r.strip() for r in roles.split(',') if r.strip()]
        return cls(project_id, instance_id, image_id, hostname, metadata,
                   boot_roles)


def _json_type(value):
    for kind, name in ((bool, 'a boolean'), (str, 'a string'),
                       (dict, 'an object'), (list, 'an array'),
                       ((int, float), 'a number')):
        if isinstance(value, kind):
            return name
    return 'null' if value is None else type(value).__name__


def canonical_uuid(value):
    """``value`` as nova writes instance ids (lower case), or None when it is
    not a canonical UUID (a notification's or a port's claim)."""
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        return None
    return str(uuid.UUID(value))


def _uuid(value, key):
    if not _UUID.fullmatch(value):
        raise BadRequest('%s %r is not a UUID' % (key, value[:64]))
    return str(uuid.UUID(value))


def _string(body, key, required=False):
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest('%s is missing' % key)
        return None
    if not isinstance(value, str):
        raise BadRequest('%s must be a string, not %s' % (key, _json_type(value)))
    if required and not value:
        raise BadRequest('%s is empty' % key)
    return value
