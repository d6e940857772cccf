"""The packaged question bank, its seed-000 rule, Slack limits and the strict loader."""

from __future__ import annotations

import copy
import functools
import shutil
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.prompts import (
    CHECKIN,
    GOAL_PROMPT_ID,
    SEEDS,
    TRUST_AND_VALUE,
    Audience,
    ChoiceAnswer,
    DealChange,
    Dimension,
    PromptBank,
    PromptBankError,
    ScaleAnswer,
    TextAnswer,
    YesNoAnswer,
    default_bank,
    load_bank,
)
from tests.support.strategies import paths

PACKAGED = Path(str(resources.files("prompts")))
FILES = ("questions.yaml", "moments.yaml", "tips.yaml")
INVESTMENT_IDS = (
    "value_focus.like_them",
    "value_focus.value_not_price",
    "value_focus.worth_investment",
)


@pytest.fixture(scope="module")
def bank() -> PromptBank:
    return load_bank()


@pytest.fixture
def bank_dir(tmp_path: Path) -> Path:
    """A writable copy of the packaged YAML files."""
    for name in FILES:
        shutil.copy(PACKAGED / name, tmp_path / name)
    return tmp_path


def _data(directory: Path, name: str) -> Any:
    return yaml.safe_load((directory / name).read_text(encoding="utf-8"))


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _write(directory: Path, name: str, data: Any) -> None:
    text = yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    (directory / name).write_text(text, encoding="utf-8")


@functools.cache
def _packaged_tree(name: str) -> Any:
    return yaml.safe_load((PACKAGED / name).read_text(encoding="utf-8"))


def _prompt_data(directory: Path, prompt_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = _data(directory, "questions.yaml")
    return data, next(p for p in data["prompts"] if p["id"] == prompt_id)


# ------------------------------------------------------------------ the packaged bank


def test_packaged_bank_loads(bank: PromptBank) -> None:
    assert isinstance(bank, PromptBank)
    assert default_bank() is default_bank()
    assert len(bank.prompts) >= 24
    assert len({p.id for p in bank.prompts}) == len(bank.prompts)


def test_every_dimension_has_at_least_two_prompts_and_three_tips(bank: PromptBank) -> None:
    prompts = Counter(p.dimension for p in bank.prompts)
    tips = Counter(t.dimension for t in bank.tips)
    for dim in Dimension:
        assert prompts[dim] >= 2, dim
        assert tips[dim] >= 3, dim
        assert bank.tips_for(dim, Audience.REP), f"no rep tip for {dim}"
        assert bank.tips_for(dim, Audience.MANAGER), f"no manager tip for {dim}"


def test_goal_question_verbatim(bank: PromptBank) -> None:
    goal = bank.prompt(GOAL_PROMPT_ID)
    assert goal.text == "What is my goal: trust and value, or something else?"
    assert goal.dimension is Dimension.GOAL
    assert goal.seed == ("001",)
    assert CHECKIN in goal.use and goal.enabled_by_default
    assert isinstance(goal.answer, ChoiceAnswer)
    values = [o.value for o in goal.answer.options]
    assert values[0] == TRUST_AND_VALUE
    assert {"quota", "commission"} <= set(values)
    assert bank.scale_value(goal, TRUST_AND_VALUE) == 5
    assert all(bank.scale_value(goal, v) == 1 for v in values[1:])


def test_weekly_checkin_defaults(bank: PromptBank) -> None:
    checkin = bank.for_checkin(None)
    ids = [p.id for p in checkin]
    assert ids[0] == GOAL_PROMPT_ID
    notes = [p for p in checkin if isinstance(p.answer, TextAnswer)]
    assert len(notes) == 1 and notes[0] is checkin[-1]
    assert isinstance(notes[0].answer, TextAnswer) and notes[0].answer.optional
    scales = [p for p in checkin if isinstance(p.answer, ScaleAnswer)]
    assert {p.dimension for p in scales} == set(Dimension) - {Dimension.GOAL}
    assert len(checkin) <= 12  # a few clicks, not a survey


def test_for_checkin_respects_enabled_ids(bank: PromptBank) -> None:
    optional = next(p for p in bank.checkin_prompts() if not p.enabled_by_default)
    chosen = bank.for_checkin({GOAL_PROMPT_ID, optional.id, "internal_trust.weekly_note", "gone"})
    assert [p.id for p in chosen] == [GOAL_PROMPT_ID, optional.id, "internal_trust.weekly_note"]
    assert bank.for_checkin(set()) == []
    moment_only = bank.for_moment(DealChange.LOST)[0]
    assert bank.for_checkin({moment_only.id}) == []


def test_every_moment_has_prompts(bank: PromptBank) -> None:
    assert set(bank.moments) == set(DealChange)
    for change in DealChange:
        moment = bank.moment(change)
        prompts = bank.for_moment(change.value)
        assert prompts and moment.title and moment.intro
        assert all(change.value in p.use for p in prompts)
        assert not any(isinstance(p.answer, TextAnswer) for p in prompts)


def test_moment_prompts_match_the_trust_model(bank: PromptBank) -> None:
    dims = {c: {p.dimension for p in bank.for_moment(c)} for c in DealChange}
    assert dims[DealChange.CLOSE_DATE_CHANGED] == {Dimension.CANDOR}
    assert dims[DealChange.DISCOUNT_REQUESTED] == {Dimension.VALUE_FOCUS}
    assert dims[DealChange.AMOUNT_CHANGED] == {Dimension.VALUE_FOCUS}
    assert Dimension.RELIABILITY in dims[DealChange.STAGE_CHANGED]
    assert Dimension.RELIABILITY in dims[DealChange.WON]
    assert {Dimension.CARE, Dimension.INTEGRITY} <= dims[DealChange.LOST]


def test_created_asks_the_three_investment_questions(bank: PromptBank) -> None:
    created = bank.for_moment("created")
    assert tuple(p.id for p in created) == INVESTMENT_IDS
    assert all(isinstance(p.answer, YesNoAnswer) and p.seed == ("000",) for p in created)
    assert bank.investment_rule.prompts == INVESTMENT_IDS


@pytest.mark.parametrize(
    ("answers", "verdict"),
    [
        ((True, True, True), "go"),
        ((False, False, False), "stop"),
        ((True, False, True), "think"),
        ((False, True, False), "think"),
        ((True, True, False), "think"),
    ],
)
def test_seed_000_rule(bank: PromptBank, answers: tuple[bool, ...], verdict: str) -> None:
    given_answers = dict(zip(INVESTMENT_IDS, answers, strict=True))
    assert bank.investment_verdict(given_answers) == verdict
    outcome = bank.investment_rule.outcome(verdict)
    assert outcome.label and outcome.message


def test_seed_000_rule_needs_all_three_answers(bank: PromptBank) -> None:
    with pytest.raises(ValueError, match=r"value_focus\.worth_investment"):
        bank.investment_verdict({INVESTMENT_IDS[0]: True, INVESTMENT_IDS[1]: True})
    extra = {i: False for i in INVESTMENT_IDS} | {"candor.told_manager": True}
    assert bank.investment_verdict(extra) == "stop"


def test_slack_limits(bank: PromptBank) -> None:
    for p in bank.prompts:
        assert len(p.text) <= 150, p.id
        assert len(p.guidance) <= 300, p.id
        assert p.manager_text is None or len(p.manager_text) <= 150, p.id
        assert len(p.id) <= 64, p.id
        answer = p.answer
        if isinstance(answer, ScaleAnswer):
            assert len(answer.low) <= 75 and len(answer.high) <= 75, p.id
        if isinstance(answer, ChoiceAnswer):
            assert 2 <= len(answer.options) <= 5, p.id
            for option in answer.options:
                assert len(option.label) <= 75, p.id
                assert len(option.value) <= 150, p.id
        if isinstance(answer, TextAnswer) and answer.placeholder:
            assert len(answer.placeholder) <= 150, p.id
    for t in bank.tips:
        assert len(t.text) <= 300, t.id
    for m in bank.moments.values():
        assert len(m.title) <= 150 and len(m.intro) <= 300


def test_seeds_are_cited(bank: PromptBank) -> None:
    cited = {s for p in bank.prompts for s in p.seed} | {s for t in bank.tips for s in t.seed}
    assert cited == set(SEEDS)


def test_manager_estimate_prompts(bank: PromptBank) -> None:
    estimates = bank.for_manager_estimate()
    assert estimates
    assert all(isinstance(p.answer, ScaleAnswer) and p.manager_text for p in estimates)
    bad_news = bank.prompt("internal_trust.bad_news")
    assert bad_news in estimates and bad_news.text == "I can tell my manager bad news about a deal."
    defaults = bank.default_checkin_ids()
    assert sum(p.id in defaults for p in estimates) >= 2


def test_scale_value(bank: PromptBank) -> None:
    assert bank.scale_value("candor.forecast_honest", "4") == 4
    assert bank.scale_value("candor.forecast_honest", 2) == 2
    assert bank.scale_value("candor.forecast_honest", "9") is None
    assert bank.scale_value("candor.forecast_honest", True) is None
    assert bank.scale_value("value_focus.like_them", "yes") == 5
    assert bank.scale_value("value_focus.like_them", False) == 1
    # negatively phrased: "is there any promise I'm not sure we can keep?" yes is the worry
    assert bank.scale_value("reliability.unsure_promise", "yes") == 1
    assert bank.scale_value("reliability.unsure_promise", "no") == 5
    assert bank.scale_value("value_focus.won_value", "lower_price") == 1
    assert bank.scale_value("value_focus.won_value", "not_sure") is None
    assert bank.scale_value("value_focus.discount_reason", "commodity") is None
    assert bank.scale_value("internal_trust.weekly_note", "anything") is None
    with pytest.raises(KeyError):
        bank.scale_value("no.such_prompt", "5")


def test_pick_tip_is_stable(bank: PromptBank) -> None:
    first = bank.pick_tip(Dimension.CANDOR, "team-a:2026-W47", Audience.MANAGER)
    assert first == bank.pick_tip("candor", "team-a:2026-W47", "manager")
    assert Audience.MANAGER in first.audience and first.dimension is Dimension.CANDOR
    picked = {bank.pick_tip("care", f"week-{n}").id for n in range(50)}
    assert len(picked) > 1


def test_unknown_moment_and_prompt(bank: PromptBank) -> None:
    with pytest.raises(ValueError):
        bank.for_moment("renewed")
    with pytest.raises(KeyError):
        bank.prompt("nope")


# ------------------------------------------------------------------ bad files


def _raises(directory: Path, *needles: str) -> PromptBankError:
    with pytest.raises(PromptBankError) as info:
        load_bank(directory)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    return info.value


def test_unknown_dimension(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "candor.told_manager")
    prompt["dimension"] = "honesty"
    _write(bank_dir, "questions.yaml", data)
    err = _raises(bank_dir, "questions.yaml", "candor.told_manager", "unknown dimension", "honesty")
    assert err.item == "candor.told_manager"
    assert err.file is not None and err.file.endswith("questions.yaml")


def test_duplicate_id(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "care.their_shoes")
    data["prompts"].append(dict(prompt))
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "care.their_shoes", "duplicate id")


def test_missing_field(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "integrity.said_so_when_not_best")
    del prompt["guidance"]
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "integrity.said_so_when_not_best", "missing", "guidance")


def test_extra_key(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "care.interests_first")
    prompt["weight"] = 2
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "care.interests_first", "unknown key", "weight")


def test_label_too_long(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, GOAL_PROMPT_ID)
    prompt["answer"]["options"][1]["label"] = "x" * 76
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", GOAL_PROMPT_ID, "label", "76 characters", "75")


def test_prompt_text_too_long(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "candor.self_honest")
    prompt["text"] = "I " + "really " * 30 + "was honest."
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "candor.self_honest", "prompt text", "150")


def test_too_many_options(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, GOAL_PROMPT_ID)
    prompt["answer"]["options"] += [{"value": f"v{n}", "label": f"L{n}"} for n in range(3)]
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", GOAL_PROMPT_ID, "options")


def test_unknown_answer_type(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "candor.forecast_honest")
    prompt["answer"]["type"] = "slider"
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "candor.forecast_honest", "slider")


def test_unknown_seed(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "candor.forecast_honest")
    prompt["seed"] = "007"
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "candor.forecast_honest", "unknown seed number", "007")


def test_unquoted_seed(bank_dir: Path) -> None:
    text = (bank_dir / "questions.yaml").read_text(encoding="utf-8")
    text = text.replace('seed: "001"', "seed: 001", 1)
    (bank_dir / "questions.yaml").write_text(text, encoding="utf-8")
    _raises(bank_dir, "questions.yaml", GOAL_PROMPT_ID, "quoted", '"001"')


def test_unknown_use(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "candor.forecast_honest")
    prompt["use"] = ["checkin", "renewed"]
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "candor.forecast_honest", "unknown use", "renewed")


def test_prompt_without_id(bank_dir: Path) -> None:
    data = _data(bank_dir, "questions.yaml")
    del data["prompts"][2]["id"]
    _write(bank_dir, "questions.yaml", data)
    err = _raises(bank_dir, "questions.yaml", "prompt #3", "missing field 'id'")
    assert err.item is None


def test_yaml_syntax_error_names_line(bank_dir: Path) -> None:
    lines = (bank_dir / "questions.yaml").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  - id: candor.self_honest"))
    lines[at + 1] = '    text: "unterminated'
    (bank_dir / "questions.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _raises(bank_dir, "questions.yaml", "YAML syntax error", "line ")


def test_yaml_duplicate_key(bank_dir: Path) -> None:
    (bank_dir / "tips.yaml").write_text(
        "tips:\n  - id: a.b\n    dimension: care\n    dimension: goal\n", encoding="utf-8"
    )
    _raises(bank_dir, "tips.yaml", "duplicate key 'dimension'", "line 4")


def test_moment_unknown_prompt_id(bank_dir: Path) -> None:
    data = _data(bank_dir, "moments.yaml")
    data["moments"]["won"]["prompts"].append("reliability.no_such_thing")
    _write(bank_dir, "moments.yaml", data)
    err = _raises(bank_dir, "moments.yaml", "'won'", "unknown prompt id", "reliability.no_such")
    assert err.item == "won"


def test_moment_prompt_must_list_the_moment_in_use(bank_dir: Path) -> None:
    data = _data(bank_dir, "moments.yaml")
    data["moments"]["won"]["prompts"].append("candor.told_manager")
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "won", "candor.told_manager", "use")


def test_prompt_used_by_moment_must_be_listed(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "candor.told_manager")
    prompt["use"] = ["close_date_changed", "lost"]
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "candor.told_manager", "'lost'")


def test_missing_and_unknown_moment(bank_dir: Path) -> None:
    data = _data(bank_dir, "moments.yaml")
    data["moments"]["renewed"] = data["moments"].pop("lost")
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "unknown deal moment", "renewed")
    del data["moments"]["renewed"]
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "'lost'", "missing")


def test_created_needs_its_rule(bank_dir: Path) -> None:
    data = _data(bank_dir, "moments.yaml")
    rule = data["moments"]["created"].pop("rule")
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "created", "rule")
    data["moments"]["created"]["rule"] = rule
    data["moments"]["won"]["rule"] = rule
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "won", "only the 'created' moment")


def test_rule_prompts_must_be_yes_no(bank_dir: Path) -> None:
    data = _data(bank_dir, "moments.yaml")
    data["moments"]["created"]["rule"]["prompts"].append("candor.told_manager")
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "created", "candor.told_manager")


def test_bad_tip(bank_dir: Path) -> None:
    data = _data(bank_dir, "tips.yaml")
    data["tips"][4]["text"] = "y" * 301
    _write(bank_dir, "tips.yaml", data)
    _raises(bank_dir, "tips.yaml", f"tip {data['tips'][4]['id']!r}", "301 characters")


def test_missing_file(bank_dir: Path) -> None:
    (bank_dir / "tips.yaml").unlink()
    _raises(bank_dir, "tips.yaml", "not found")


def test_not_utf8(bank_dir: Path) -> None:
    (bank_dir / "moments.yaml").write_bytes(b"moments: \xff\xfe\n")
    _raises(bank_dir, "moments.yaml", "cannot read")


# ------------------------------------------------------------------ property tests

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_NAMES = st.sampled_from(FILES)
_FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _only_prompt_bank_errors(directory: Path) -> None:
    try:
        load_bank(directory)
    except PromptBankError as exc:
        assert str(exc)


@_FUZZ
@given(name=_NAMES, text=st.text(max_size=300))
def test_arbitrary_text_only_raises_prompt_bank_error(bank_dir: Path, name: str, text: str) -> None:
    original = (PACKAGED / name).read_text(encoding="utf-8")
    (bank_dir / name).write_text(text, encoding="utf-8")
    try:
        _only_prompt_bank_errors(bank_dir)
    finally:
        (bank_dir / name).write_text(original, encoding="utf-8")


@_FUZZ
@given(name=_NAMES, text=st.text(alphabet="abc:-[]{}'\"#&*!|>%@`,? \n\t0123456789", max_size=200))
def test_yaml_punctuation_only_raises_prompt_bank_error(
    bank_dir: Path, name: str, text: str
) -> None:
    original = (PACKAGED / name).read_text(encoding="utf-8")
    (bank_dir / name).write_text(text, encoding="utf-8")
    try:
        _only_prompt_bank_errors(bank_dir)
    finally:
        (bank_dir / name).write_text(original, encoding="utf-8")


_TOP_KEY = {"questions.yaml": "prompts", "moments.yaml": "moments", "tips.yaml": "tips"}


@_FUZZ
@given(name=_NAMES, tree=_TREES, nest=st.booleans())
def test_arbitrary_yaml_only_raises_prompt_bank_error(
    bank_dir: Path, name: str, tree: Any, nest: bool
) -> None:
    original = (PACKAGED / name).read_text(encoding="utf-8")
    _write(bank_dir, name, {_TOP_KEY[name]: tree} if nest else tree)
    try:
        _only_prompt_bank_errors(bank_dir)
    finally:
        (bank_dir / name).write_text(original, encoding="utf-8")


@_FUZZ
@given(name=_NAMES, data=st.data())
def test_mutated_bank_only_raises_prompt_bank_error(
    bank_dir: Path, name: str, data: st.DataObject
) -> None:
    original = (PACKAGED / name).read_text(encoding="utf-8")
    tree = copy.deepcopy(_packaged_tree(name))
    path = data.draw(st.sampled_from(paths(tree)[1:]))
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    if data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_TREES)
    _write(bank_dir, name, tree)
    try:
        _only_prompt_bank_errors(bank_dir)
    finally:
        (bank_dir / name).write_text(original, encoding="utf-8")
