"""The cloud-init data that ships files/novajoin-enroll.sh to guests:
files/cloud-config-novajoin.{yaml,json} must be exactly what
tools/gen-cloud-config.py makes from the script, and must be what cloud-init
expects (#cloud-config user-data; {"cloud-init": "#!/bin/sh..."} StaticJSON
vendor data, run by cloud-init's scripts-vendor module).
"""
import importlib.util
import json
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml  # PyYAML: a dependency of oslo.config

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'files' / 'novajoin-enroll.sh'
YAML_FILE = ROOT / 'files' / 'cloud-config-novajoin.yaml'
JSON_FILE = ROOT / 'files' / 'cloud-config-novajoin.json'
GENERATOR = ROOT / 'tools' / 'gen-cloud-config.py'
GUEST_PATH = '/usr/local/sbin/novajoin-enroll.sh'


def _load_generator():
    # the file name has dashes, so it cannot be imported by name
    spec = importlib.util.spec_from_file_location('gen_cloud_config',
                                                  GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = _load_generator()


def test_committed_files_are_up_to_date():
    expected = gen.outputs(str(ROOT))
    assert YAML_FILE.read_text(encoding='utf-8') == \
        expected['files/cloud-config-novajoin.yaml'], \
        'run tools/gen-cloud-config.py'
    assert JSON_FILE.read_text(encoding='utf-8') == \
        expected['files/cloud-config-novajoin.json'], \
        'run tools/gen-cloud-config.py'


def test_check_mode_passes_on_the_tree():
    r = subprocess.run([sys.executable, str(GENERATOR), '--check'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_yaml_is_cloud_config_that_installs_and_runs_the_script():
    text = YAML_FILE.read_text(encoding='utf-8')
    assert text.startswith('#cloud-config\n')
    cfg = yaml.safe_load(text)
    assert set(cfg) == {'write_files', 'runcmd'}
    [wf] = cfg['write_files']
    assert wf['path'] == GUEST_PATH
    # a string, as cloud-init wants it; 0700: root only, it handles an OTP
    assert wf['permissions'] == '0700'
    assert wf['owner'] == 'root:root'
    assert wf['content'] == SCRIPT.read_text(encoding='utf-8')
    assert 'encoding' not in wf
    assert cfg['runcmd'] == [[GUEST_PATH]]


def test_json_is_static_vendordata_whose_part_is_the_script():
    data = json.loads(JSON_FILE.read_text(encoding='utf-8'))
    # nova's StaticJSON serves this object as vendor_data.json; cloud-init
    # takes the value of its "cloud-init" key as vendor data. The script
    # itself, not a #cloud-config: a vendor-data script runs through
    # scripts-vendor, which user-data's runcmd/write_files cannot replace.
    assert isinstance(data, dict)
    assert list(data) == ['cloud-init']
    assert data['cloud-init'] == SCRIPT.read_text(encoding='utf-8')
    assert data['cloud-init'].startswith('#!/bin/sh\n')
    assert not data['cloud-init'].startswith('#cloud-config')


def test_script_is_posix_sh():
    text = SCRIPT.read_text(encoding='utf-8')
    assert text.startswith('#!/bin/sh\n')
    assert 'python' not in text.split('\n', 1)[0]


def _tree(tmp_path):
    (tmp_path / 'files').mkdir()
    for f in (SCRIPT, YAML_FILE, JSON_FILE):
        shutil.copy(f, tmp_path / 'files' / f.name)
    return tmp_path


def _check(root):
    return subprocess.run([sys.executable, str(GENERATOR), '--check',
                           '--root', str(root)],
                          capture_output=True, text=True)


def test_check_mode_detects_a_changed_script(tmp_path):
    root = _tree(tmp_path)
    script = root / 'files' / 'novajoin-enroll.sh'
    script.write_text(script.read_text() + '# changed\n')
    r = _check(root)
    assert r.returncode == 1
    assert 'cloud-config-novajoin.yaml' in r.stderr
    assert 'cloud-config-novajoin.json' in r.stderr
    # --check never writes
    assert (root / 'files' / 'cloud-config-novajoin.yaml').read_text() == \
        YAML_FILE.read_text()
    # regenerating fixes it, and the new text embeds the change
    r = subprocess.run([sys.executable, str(GENERATOR), '--root', str(root)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert _check(root).returncode == 0
    cfg = yaml.safe_load((root / 'files' / 'cloud-config-novajoin.yaml')
                         .read_text())
    assert cfg['write_files'][0]['content'].endswith('# changed\n')
    data = json.loads((root / 'files' / 'cloud-config-novajoin.json')
                      .read_text())
    assert data['cloud-init'].endswith('# changed\n')


def test_check_mode_detects_a_missing_output(tmp_path):
    root = _tree(tmp_path)
    (root / 'files' / 'cloud-config-novajoin.json').unlink()
    r = _check(root)
    assert r.returncode == 1
    assert 'cloud-config-novajoin.json' in r.stderr


@pytest.mark.parametrize('script', [
    'echo no shebang\n',
    '#!/bin/sh\necho no final newline',
    '#!/bin/sh\necho two final newlines\n\n',
    '#!/bin/sh\n\techo a tab\n',
])
def test_render_refuses_text_a_literal_block_would_alter(script):
    with pytest.raises(ValueError):
        gen.render(script)


def test_render_round_trips_blank_and_indented_lines():
    script = '#!/bin/sh\n\nif true; then\n    echo "a: b # c"\nfi\n'
    yaml_text, json_text = gen.render(script)
    assert yaml.safe_load(yaml_text)['write_files'][0]['content'] == script
    assert json.loads(json_text)['cloud-init'] == script


def test_script_documents_who_enrolls_and_its_settings():
    # the header is what an operator reads in the guest
    header = SCRIPT.read_text(encoding='utf-8').split('\nset +x\n')[0]
    for text in ('meta_data.json', 'NOVAJOIN_UNREQUESTED_TIMEOUT',
                 'not enrolling (ipa_enroll=...)', 'NOVAJOIN_CLOUD_CFG_DIR',
                 'preserve_hostname', 'scripts-vendor'):
        assert text in header, text
