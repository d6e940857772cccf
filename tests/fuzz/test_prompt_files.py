"""Prompt files (``prompts/*.yaml``) as an admin might edit them: random text, YAML that is
not the schema, TOML written where YAML belongs, one field changed or dropped. The loader
either loads a bank or raises :class:`PromptBankError` naming the file, and the item or
field that is wrong; never another exception."""

from __future__ import annotations

import copy
import functools
import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.prompts import PromptBank, PromptBankError, load_bank
from tests.support.strategies import any_text, fuzz, huge_text, json_values, paths, tricky_text

PACKAGED = Path(str(resources.files("prompts")))
FILES = ("questions.yaml", "moments.yaml", "tips.yaml")
TOP = {"questions.yaml": "prompts", "moments.yaml": "moments", "tips.yaml": "tips"}
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAML_PUNCTUATION = st.text(alphabet="abc:-[]{}'\"#&*!|>%@`,? \n\t0123456789=\\", max_size=200)


@functools.cache
def packaged(name: str) -> Any:
    return yaml.safe_load((PACKAGED / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable copy of the packaged files; each example restores what it changed."""
    directory = tmp_path_factory.mktemp("prompts")
    for name in FILES:
        shutil.copy(PACKAGED / name, directory / name)
    return directory


def load_with(directory: Path, name: str, content: str | bytes) -> PromptBank | PromptBankError:
    """Load the bank with ``name`` holding ``content``; the file is restored after."""
    path = directory / name
    try:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return load_bank(directory)
    except PromptBankError as error:
        return error
    finally:
        shutil.copy(PACKAGED / name, path)


def names_the_file(error: PromptBankError, directory: Path, name: str) -> None:
    assert error.file == str(directory / name), (error.file, name)
    assert str(error).startswith(f"{directory / name}: ")
    assert len(str(error).splitlines()[0]) > len(str(directory / name)) + 2


def toml(data: Any, table: str = "") -> str:
    """``data`` written as TOML (what someone used to pyproject.toml might write)."""
    lines: list[str] = []
    for key, value in data.items() if isinstance(data, dict) else []:
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                lines += ["", f"[[{table}{key}]]", toml(item, f"{table}{key}.")]
        elif isinstance(value, dict):
            lines += ["", f"[{table}{key}]", toml(value, f"{table}{key}.")]
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


# --------------------------------------------------------------------- any content


@fuzz(100)
@given(
    name=st.sampled_from(FILES),
    content=any_text
    | YAML_PUNCTUATION
    | tricky_text
    | huge_text
    | st.binary(max_size=100)
    | json_values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
)
@example(name="questions.yaml", content=b"\xff\xfe not utf-8")
@example(name="tips.yaml", content="tips: &a [*a]")  # a recursive alias
@example(name="moments.yaml", content="moments:\n  created: !!python/object:os.system {}")
def test_any_content_is_a_prompt_bank_error_naming_the_file(
    bank_dir: Path, name: str, content: str | bytes
) -> None:
    result = load_with(bank_dir, name, content)
    assert isinstance(result, PromptBankError), "random content made a valid bank"
    names_the_file(result, bank_dir, name)


@fuzz(30)
@given(name=st.sampled_from(FILES), keep=st.booleans())
def test_toml_where_yaml_belongs_is_named(bank_dir: Path, name: str, keep: bool) -> None:
    """The same bank written as TOML: refused with the file and the line; a stray
    ``questions.toml`` beside the YAML changes nothing."""
    as_toml = toml(packaged(name))
    result = load_with(bank_dir, name, as_toml)
    assert isinstance(result, PromptBankError)
    names_the_file(result, bank_dir, name)
    assert "YAML syntax error at line" in str(result) or "expected a mapping" in str(result)
    if keep:
        toml_file = bank_dir / name.replace(".yaml", ".toml")
        toml_file.write_text(as_toml, encoding="utf-8")
        try:
            assert isinstance(load_bank(bank_dir), PromptBank)
        finally:
            toml_file.unlink()


# --------------------------------------------------------------------- one field changed


replacements = (
    json_values
    | huge_text
    | tricky_text
    | st.sampled_from(["", " ", "goal", "checkin", "created", "yes_no", "scale", "007", "000"])
    | st.just(...)  # drop the field
)


@fuzz(100)
@given(name=st.sampled_from(FILES), data=st.data())
def test_one_changed_field_loads_or_is_named(
    bank_dir: Path, name: str, data: st.DataObject
) -> None:
    tree = copy.deepcopy(packaged(name))
    path = data.draw(st.sampled_from(paths(tree)[1:]), label="path")
    new = data.draw(replacements, label="value")
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    old = parent[path[-1]]
    if new is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    text = yaml.dump(tree, Dumper=DUMPER, allow_unicode=True, sort_keys=False)
    result = load_with(bank_dir, name, text)
    if isinstance(result, PromptBank):
        return
    message = str(result)
    assert result.file is not None and result.file.endswith(FILES), result.file
    assert message.startswith(f"{result.file}: ")
    # the item: a prompt's or tip's id, a moment's name (the first steps of the path)
    item = packaged(name)[path[0]]
    if len(path) > 1:
        item = item[path[1]]
    ident = item.get("id") if isinstance(item, dict) else None
    words = [str(p) for p in path if isinstance(p, str)] + [str(p) for p in path[1:2]]
    words += [ident] if isinstance(ident, str) else []
    words += [v for v in (old, new) if isinstance(v, str) and v.strip()]
    assert any(w in message for w in words), (message, path, new)
