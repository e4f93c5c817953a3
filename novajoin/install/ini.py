"""A line-based editor for oslo.config ini files.

configparser would drop comments, reorder options and lose repeated keys
(MultiStrOpt), so this edits the lines in place: a changed option keeps its
place, a new one goes under its commented-out sample line if there is one,
else at the end of its section, and everything else is left as it was.
"""
import re

_SECTION = re.compile(r'^\s*\[([^\]]+)\]\s*$')
_OPTION = re.compile(r'^([A-Za-z0-9_.\-]+)\s*[=:]\s?(.*?)\s*$')
_SAMPLE = re.compile(r'^[#;]\s*([A-Za-z0-9_.\-]+)\s*[=:]')


def _unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
        return value[1:-1]
    return value


class IniDocument:

    def __init__(self, text=''):
        self.lines = text.splitlines()
        self.trailing_newline = text.endswith('\n') or not text

    def text(self):
        body = '\n'.join(self.lines)
        return body + '\n' if self.lines and self.trailing_newline else body

    # -- reading ------------------------------------------------------------

    def _sections(self, name):
        """(header index, end index) of every [name] section, in order."""
        out, current = [], None
        for i, line in enumerate(self.lines):
            match = _SECTION.match(line)
            if match:
                if current is not None:
                    out.append((current, i))
                current = i if match.group(1).strip() == name else None
        if current is not None:
            out.append((current, len(self.lines)))
        return out

    def _options(self, section, key):
        """(first line, end line) of each ``key = ...`` in ``section``.

        A value continues on the following indented lines, as oslo.config reads
        it; those lines belong to the option.
        """
        out = []
        for start, end in self._sections(section):
            i = start + 1
            while i < end:
                match = _OPTION.match(self.lines[i])
                if match and match.group(1) == key:
                    j = i + 1
                    while (j < end and self.lines[j][:1] in (' ', '\t')
                           and self.lines[j].strip()):
                        j += 1
                    out.append((i, j))
                    i = j
                else:
                    i += 1
        return out

    def get_all(self, section, key):
        values = []
        for i, j in self._options(section, key):
            first = _OPTION.match(self.lines[i]).group(2)
            rest = [line.strip() for line in self.lines[i + 1:j]]
            values.append(_unquote('\n'.join([first] + rest).strip()))
        return values

    def get(self, section, key):
        """The value oslo.config would use (the last one), or None."""
        values = self.get_all(section, key)
        return values[-1] if values else None

    def has_section(self, section):
        return bool(self._sections(section))

    # -- writing ------------------------------------------------------------

    def set(self, section, key, value):
        """Give ``key`` this value; True if the text changed."""
        line = '%s = %s' % (key, value)
        spans = self._options(section, key)
        if spans:
            i, j = spans[-1]  # the one oslo.config reads
            if self.lines[i:j] == [line]:
                return False
            self.lines[i:j] = [line]
            return True
        self._insert(section, key, [line])
        return True

    def setdefault(self, section, key, value):
        """Set ``key`` only if the section does not have it yet."""
        if self._options(section, key):
            return False
        return self.set(section, key, value)

    def add(self, section, key, value):
        """Add one more ``key = value`` line (MultiStrOpt), after the others."""
        spans = self._options(section, key)
        if spans:
            end = spans[-1][1]
            self.lines[end:end] = ['%s = %s' % (key, value)]
        else:
            self._insert(section, key, ['%s = %s' % (key, value)])
        return True

    def remove(self, section, key, value):
        """Remove the ``key`` lines whose value is ``value``."""
        changed = False
        for i, j in reversed(self._options(section, key)):
            if _unquote(_OPTION.match(self.lines[i]).group(2)) == value and j == i + 1:
                del self.lines[i:j]
                changed = True
        return changed

    def _insert(self, section, key, new_lines):
        spans = self._sections(section)
        if not spans:
            if self.lines and self.lines[-1].strip():
                self.lines.append('')
            self.lines.extend(['[%s]' % section] + new_lines)
            self.trailing_newline = True
            return
        start, end = spans[-1]
        # Under the commented-out sample of this option, if the file has one.
        for i in range(start + 1, end):
            match = _SAMPLE.match(self.lines[i])
            if match and match.group(1) == key:
                self.lines[i + 1:i + 1] = new_lines
                return
        # Else after the section's last non-blank line.
        last = end
        while last > start + 1 and not self.lines[last - 1].strip():
            last -= 1
        self.lines[last:last] = new_lines


def split_list(value):
    """A ListOpt value as a list."""
    return [item.strip() for item in (value or '').split(',') if item.strip()]
