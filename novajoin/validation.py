"""Checks on what comes from outside: nova's request body and DNS names.

Everything here raises ``BadRequest`` with a message naming the problem; the
API turns it into a 400. No name reaches IPA without passing through here.
"""
import re
import uuid

# RFC 1123 label: letters, digits, hyphens; no hyphen at either end.
_LABEL = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')
_SERVICE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]{0,62}$')
MAX_LABEL = 63
MAX_FQDN = 253


class BadRequest(ValueError):
    """The request cannot be served as it is (HTTP 400)."""


def check_label(label, what='label'):
    if not label:
        raise BadRequest('%s is empty' % what)
    if len(label) > MAX_LABEL:
        raise BadRequest('%s %r is %d characters long; a DNS label has at most %d'
                         % (what, label, len(label), MAX_LABEL))
    if not _LABEL.match(label):
        raise BadRequest('%s %r is not a valid DNS label (RFC 1123: letters, '
                         'digits and hyphens, not starting or ending with a '
                         'hyphen)' % (what, label))
    return label


def check_fqdn(fqdn, what='host name'):
    """Lower-cased ``fqdn`` if every label is valid and it fits in 253."""
    if not isinstance(fqdn, str) or not fqdn:
        raise BadRequest('%s is empty' % what)
    fqdn = fqdn.lower().rstrip('.')
    if len(fqdn) > MAX_FQDN:
        raise BadRequest('%s %r is %d characters long; at most %d are allowed'
                         % (what, fqdn[:64] + '...', len(fqdn), MAX_FQDN))
    labels = fqdn.split('.')
    if len(labels) < 2:
        raise BadRequest('%s %r is not fully qualified' % (what, fqdn))
    for label in labels:
        check_label(label, 'label of %s %r' % (what, fqdn))
    return fqdn


def check_service_name(name):
    if not isinstance(name, str) or not _SERVICE.match(name):
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
        if not isinstance(body, dict):
            raise BadRequest('the body must be a JSON object')
        instance_id = _string(body, 'instance-id', required=True)
        try:
            instance_id = str(uuid.UUID(instance_id))
        except ValueError:
            raise BadRequest('instance-id %r is not a UUID' % instance_id[:64])
        project_id = _string(body, 'project-id', required=True)
        if not re.match(r'^[A-Za-z0-9_-]{1,64}$', project_id):
            raise BadRequest('project-id %r is not a keystone project id'
                             % project_id[:64])
        image_id = _string(body, 'image-id') or None
        if image_id is not None:
            try:
                image_id = str(uuid.UUID(image_id))
            except ValueError:
                raise BadRequest('image-id %r is not a UUID' % image_id[:64])
        hostname = _string(body, 'hostname', required=True)
        metadata = body.get('metadata') or {}
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str)
                for k, v in metadata.items()):
            raise BadRequest('metadata must be an object of strings')
        roles = _string(body, 'boot-roles') or ''
        boot_roles = [r.strip() for r in roles.split(',') if r.strip()]
        return cls(project_id, instance_id, image_id, hostname, metadata,
                   boot_roles)


def _string(body, key, required=False):
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest('%s is missing' % key)
        return None
    if not isinstance(value, str):
        raise BadRequest('%s must be a string' % key)
    if required and not value:
        raise BadRequest('%s is empty' % key)
    return value
