"""Reading and writing config files; diffs with the secrets masked."""
import difflib
import grp
import os
import re
import shutil
import sys
import tempfile

_SECRET_KEY = re.compile(r'^(\s*[#;]?\s*)([A-Za-z0-9_.\-]*(password|secret|_key|token)'
                         r'[A-Za-z0-9_.\-]*)(\s*[=:]\s*)(.+)$', re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r'(://)[^/@\s]+@')


def mask(line):
    """``line`` with passwords, secrets and URL credentials replaced by ***."""
    match = _SECRET_KEY.match(line)
    if match:
        line = match.group(1) + match.group(2) + match.group(4) + '***'
    return _URL_CREDENTIALS.sub(r'\1***@', line)


def masked_diff(path, old, new):
    """A unified diff of two texts of ``path``, safe to print."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(),
                                 fromfile=path, tofile=path + ' (new)', lineterm='')
    out = []
    for line in lines:
        if line[:1] in '+- ' and not line.startswith(('+++', '---')):
            line = line[0] + mask(line[1:])
        out.append(line)
    return '\n'.join(out) + '\n' if out else ''


def read(path):
    """The file's text, or None if it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_atomic(path, text, new_mode=0o640, new_group=None):
    """Replace ``path`` with ``text`` in one step.

    An existing file keeps its mode and owner (nova.conf is usually
    root:nova 0640). A new one gets ``new_mode``, and ``new_group`` when
    running as root, so the service can read its secrets and others cannot.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    try:
        st = os.stat(path)
        mode, uid, gid = st.st_mode & 0o7777, st.st_uid, st.st_gid
    except FileNotFoundError:
        mode, uid, gid = new_mode, os.geteuid(), os.getegid()
        if new_group and os.geteuid() == 0:
            try:
                gid = grp.getgrnam(new_group).gr_gid
            except KeyError:
                pass
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.',
                               dir=directory)
    try:
        with os.fdopen(fd, 'w') as f:
            os.fchmod(f.fileno(), mode)
            if os.geteuid() == 0:
                os.fchown(f.fileno(), uid, gid)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def shipped(name):
    """Path of a file novajoin ships (files/ or etc/novajoin/), or None.

    A source checkout (editable install) has it in files/, fresher than any
    copy; an installed package in <prefix>/share/novajoin (setup.cfg
    data_files).
    """
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for path in (os.path.join(os.path.dirname(here), 'files', name),
                 os.path.join(sys.prefix, 'share', 'novajoin', name)):
        if os.path.isfile(path):
            return path
    return None


def install_copy(source, target, mode=0o644):
    """Copy ``source`` to ``target`` (new file, readable by nova)."""
    os.makedirs(os.path.dirname(os.path.abspath(target)), mode=0o755, exist_ok=True)
    shutil.copyfile(source, target)
    os.chmod(target, mode)
