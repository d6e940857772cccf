"""Loading ``prompts/*.yaml``: a strict YAML loader, schema validation and the cross-checks
between the files; every problem is a :class:`PromptBankError` naming the file, the item and
what is wrong."""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)

from bot.core.prompts.answers import (
    YesNoAnswer,
)
from bot.core.prompts.bank import (
    MomentsFile,
    PromptBank,
    QuestionsFile,
    TipsFile,
)
from bot.core.prompts.prompt import (
    Moment,
    Prompt,
    Tip,
)
from bot.core.prompts.vocabulary import (
    CHECKIN,
    INTRO_FIELDS,
    MOMENTS_FILE,
    QUESTIONS_FILE,
    RULE_MOMENTS,
    TIPS_FILE,
    Dimension,
    Measures,
    MomentKey,
    PromptBankError,
)

try:  # libyaml's parser is several times faster; the constructor stays the safe one
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _StrictLoader(_SafeLoader):
    """Safe loader that refuses duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key_node.value!r}",
                        key_node.start_mark,
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(source: Traversable, name: str) -> tuple[str, Any]:
    path = source.joinpath(name)
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptBankError(f"{label}: file not found", file=label) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptBankError(f"{label}: cannot read file: {exc}", file=label) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        raise PromptBankError(f"{label}: YAML syntax error{where}: {what}", file=label) from None
    except RecursionError:
        raise PromptBankError(f"{label}: YAML is nested too deeply", file=label) from None
    except Exception as exc:  # the YAML constructors raise ValueError etc. on bad scalars
        raise PromptBankError(f"{label}: invalid YAML: {exc}", file=label) from None
    return label, data


_M = TypeVar("_M", bound=BaseModel)

_ITEM_KIND = {"prompts": "prompt", "tips": "tip", "moments": "moment"}


def _item_name(data: Any, loc: tuple[int | str, ...]) -> tuple[str | None, str]:
    """The id (or moment name) of the item an error location points into, and a prefix."""
    if len(loc) < 2 or loc[0] not in _ITEM_KIND or not isinstance(data, dict):
        return None, ""
    kind = _ITEM_KIND[str(loc[0])]
    container = data.get(loc[0])
    if kind == "moment":
        return str(loc[1]), f"moment {loc[1]!r}: "
    index = loc[1]
    raw = None
    if isinstance(container, list) and isinstance(index, int) and 0 <= index < len(container):
        raw = container[index]
    ident = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(ident, str) and ident:
        return ident, f"{kind} {ident!r}: "
    return None, f"{kind} #{index + 1 if isinstance(index, int) else index} (no id): "


def _describe(err: Mapping[str, Any], field: str) -> str:
    kind = err.get("type")
    msg = str(err.get("msg", "invalid"))
    if kind == "missing":
        return f"missing field {field!r}" if field else "missing field"
    if kind == "extra_forbidden":
        return f"unknown key {field!r} (extra keys are not allowed)"
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{field}: {msg}" if field else msg


def _validation_error(label: str, data: Any, exc: ValidationError) -> PromptBankError:
    problems: list[str] = []
    first_item: str | None = None
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        item, prefix = _item_name(data, loc)
        first_item = first_item or item
        rest = loc[2:] if prefix else loc
        # Drop discriminator tags ('scale', 'choice', ...) that pydantic inserts in locations.
        field = ".".join(
            str(p)
            for i, p in enumerate(rest)
            if not (
                i > 0 and rest[i - 1] == "answer" and p in ("scale", "choice", "yes_no", "text")
            )
        )
        problems.append(prefix + _describe(err, field))
    if len(problems) == 1:
        return PromptBankError(f"{label}: {problems[0]}", file=label, item=first_item)
    body = "\n".join(f"  - {p}" for p in problems)
    return PromptBankError(
        f"{label}: {len(problems)} problems:\n{body}", file=label, item=first_item
    )


def _validate(model: type[_M], label: str, data: Any, top: str) -> _M:
    if not isinstance(data, dict):
        raise PromptBankError(
            f"{label}: expected a mapping with a top-level {top!r} key, got {type(data).__name__}",
            file=label,
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(label, data, exc) from None


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for i in ids:
        if i in seen and i not in dupes:
            dupes.append(i)
        seen.add(i)
    return dupes


def _fail(label: str, item: str, kind: str, what: str) -> PromptBankError:
    return PromptBankError(f"{label}: {kind} {item!r}: {what}", file=label, item=item)


def _cross_check(
    files: dict[str, str], prompts: list[Prompt], moments: dict[MomentKey, Moment], tips: list[Tip]
) -> None:
    q, m, t = files[QUESTIONS_FILE], files[MOMENTS_FILE], files[TIPS_FILE]
    if dupes := _duplicates(p.id for p in prompts):
        raise _fail(q, dupes[0], "prompt", "duplicate id")
    if dupes := _duplicates(x.id for x in tips):
        raise _fail(t, dupes[0], "tip", "duplicate id")
    by_id = {p.id: p for p in prompts}

    for key in MomentKey:
        if key not in moments:
            raise _fail(m, key.value, "moment", "missing (every deal moment needs its content)")
    for key, moment in moments.items():
        _check_moment(m, key, moment, by_id)

    for p in prompts:
        for use in p.use:
            if use != CHECKIN and p.id not in moments[MomentKey(use)].prompts:
                raise _fail(q, p.id, "prompt", f"use lists {use!r} but moment {use!r} omits it")
    for dim in Dimension:
        if not any(x.dimension is dim for x in tips):
            raise PromptBankError(f"{t}: no tip for dimension {dim.value!r}", file=t)


def _check_moment(m: str, key: MomentKey, moment: Moment, by_id: dict[str, Prompt]) -> None:
    if dupes := _duplicates(moment.prompts):
        raise _fail(m, key.value, "moment", f"lists prompt {dupes[0]!r} twice")
    for pid in moment.prompts:
        if pid not in by_id:
            raise _fail(m, key.value, "moment", f"unknown prompt id {pid!r}")
        if key.value not in by_id[pid].use:
            raise _fail(
                m, key.value, "moment", f"prompt {pid!r} does not list {key.value!r} in its use"
            )
        if by_id[pid].kind == "text":
            raise _fail(m, key.value, "moment", f"prompt {pid!r} is a note: a nudge asks clicks")
    allowed = INTRO_FIELDS.get(key, frozenset())
    if unknown := sorted(moment.intro_fields() - allowed):
        what = f"only {', '.join('{' + f + '}' for f in sorted(allowed))}" if allowed else "none"
        raise _fail(
            m,
            key.value,
            "moment",
            f"intro uses {', '.join('{' + f + '}' for f in unknown)}; this moment knows {what}",
        )
    if key is MomentKey.CREATED and moment.rule is None:
        raise _fail(m, key.value, "moment", "needs the seed-000 investment rule")
    if moment.rule is None:
        return
    if key not in RULE_MOMENTS:
        names = " and ".join(repr(k.value) for k in sorted(RULE_MOMENTS))
        raise _fail(m, key.value, "moment", f"only the {names} moments take a rule")
    for pid in moment.rule.prompts:
        if pid not in moment.prompts:
            raise _fail(
                m, key.value, "moment", f"rule prompt {pid!r} is not one of this moment's prompts"
            )
        if not isinstance(by_id[pid].answer, YesNoAnswer):
            raise _fail(m, key.value, "moment", f"rule prompt {pid!r} is not yes_no")
        if by_id[pid].measures is not Measures.DECISION:
            raise _fail(
                m,
                key.value,
                "moment",
                f"rule prompt {pid!r} must measure decision: a verdict is never scored",
            )


def load_bank(directory: Path | None = None) -> PromptBank:
    """Load and check ``questions.yaml``, ``moments.yaml`` and ``tips.yaml``.

    ``directory`` defaults to the packaged ``prompts`` package. Any problem raises
    :class:`PromptBankError` naming the file, the item and what is wrong.
    """
    source: Traversable = Path(directory) if directory is not None else resources.files("prompts")
    q_label, q_data = _read_yaml(source, QUESTIONS_FILE)
    questions = _validate(QuestionsFile, q_label, q_data, "prompts")
    m_label, m_data = _read_yaml(source, MOMENTS_FILE)
    moments = _validate(MomentsFile, m_label, m_data, "moments")
    t_label, t_data = _read_yaml(source, TIPS_FILE)
    tips = _validate(TipsFile, t_label, t_data, "tips")
    files = {QUESTIONS_FILE: q_label, MOMENTS_FILE: m_label, TIPS_FILE: t_label}
    _cross_check(files, questions.prompts, moments.moments, tips.tips)
    ordered = {key: moments.moments[key] for key in MomentKey}
    return PromptBank(prompts=tuple(questions.prompts), moments=ordered, tips=tuple(tips.tips))


@functools.cache
def default_bank() -> PromptBank:
    """The packaged bank, loaded once."""
    return load_bank()
