"""The packaged question bank, its seed-000 rule, Slack limits and the strict loader."""

from __future__ import annotations

import copy
import functools
import re
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
    DIDNT_COME_UP,
    GOAL_PROMPT_ID,
    NOT_SURE,
    SEEDS,
    TRUST_AND_VALUE,
    Audience,
    ChoiceAnswer,
    DealChange,
    Dimension,
    Measures,
    MomentKey,
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


# ------------------------------------------------------------------ what a prompt measures


def test_every_prompt_says_what_it_measures(bank: PromptBank) -> None:
    kinds = Counter(p.measures for p in bank.prompts)
    assert set(kinds) == set(Measures)
    for p in bank.prompts:
        assert isinstance(p.measures, Measures), p.id
        assert p.scored is (p.measures is Measures.BEHAVIOUR)


def test_every_option_of_every_prompt_has_its_own_feedback(bank: PromptBank) -> None:
    for p in bank.prompts:
        for option in p.answer.choices():
            said = p.feedback_for(option.value)
            assert said is not None, (p.id, option.value)
            assert said.text.strip() and said.next.strip(), (p.id, option.value)
            assert len(said.text) <= 220 and len(said.next) <= 160, (p.id, option.value)
        if isinstance(p.answer, TextAnswer):
            assert not p.feedback and p.feedback_for("anything") is None


def test_answers_that_mean_different_things_never_share_feedback(bank: PromptBank) -> None:
    """Two answers of a prompt share feedback only when they mean the same (1 and 2 on a
    scale are both "low"); any other two differ in their word back and in their next step."""
    for p in bank.prompts:
        choices = p.answer.choices()
        for i, a in enumerate(choices):
            for b in choices[i + 1 :]:
                same_meaning = p.answer.feedback_key(a.value) == p.answer.feedback_key(b.value)
                fa, fb = p.feedback_for(a.value), p.feedback_for(b.value)
                assert fa is not None and fb is not None
                if same_meaning:
                    assert fa == fb, (p.id, a.value, b.value)
                else:
                    assert fa.text != fb.text, (p.id, a.value, b.value)
                    assert fa.next != fb.next, (p.id, a.value, b.value)


def test_feedback_is_never_copied_between_prompts(bank: PromptBank) -> None:
    said = Counter(f.text for p in bank.prompts for f in p.feedback.values())
    assert [text for text, n in said.items() if n > 1] == []


def test_feedback_coaches_rather_than_preaches(bank: PromptBank) -> None:
    preachy = ("you should", "you must", "never ", "shame", "failure to", "unacceptable")
    for p in bank.prompts:
        for key, said in p.feedback.items():
            lowered = said.text.lower()
            assert not any(word in lowered for word in preachy), (p.id, key, said.text)


def test_admitting_a_problem_is_thanked(bank: PromptBank) -> None:
    """Where an answer admits a problem (the low end of a behaviour scale), the word back
    affirms the candor instead of lecturing."""
    thanks = ("thanks", "honest", "fair", "candid", "straight")
    for p in bank.prompts:
        if isinstance(p.answer, ScaleAnswer) and p.scored:
            low = p.feedback["low"].text.lower()
            assert any(word in low for word in thanks), (p.id, low)
    forecast = bank.prompt("candor.forecast_honest").feedback["low"].text
    assert "that is exactly what makes a forecast trustworthy" in forecast


def test_only_behaviour_is_ever_scored(bank: PromptBank) -> None:
    for p in bank.prompts:
        for option in p.answer.choices():
            score = bank.score(p, option.value)
            if not p.scored or option.value in (DIDNT_COME_UP, NOT_SURE):
                assert score is None, (p.id, option.value)
            elif isinstance(p.answer, ScaleAnswer):
                assert score == int(option.value)
    # the cases: qualifying out, admitting a risk, a quota goal
    assert all(bank.score(i, "no") is None for i in INVESTMENT_IDS)
    assert bank.score("reliability.unsure_promise", "yes") is None
    assert bank.score(GOAL_PROMPT_ID, "quota") is None
    assert bank.score("candor.forecast_honest", "2") == 2


def test_behaviour_scales_offer_didnt_come_up_and_gentle_low_ends(bank: PromptBank) -> None:
    harsh = re.compile(r"\b(lied?|dishonest|cheat\w*|fool\w*|never|what they want to hear)\b")
    for p in bank.prompts:
        if not isinstance(p.answer, ScaleAnswer):
            continue
        values = [o.value for o in p.answer.choices()]
        assert values == ["1", "2", "3", "4", "5", DIDNT_COME_UP], p.id
        assert p.answer.choices()[-1].label == "Didn't come up"
        assert not harsh.search(p.answer.low.lower()), (p.id, p.answer.low)


def test_no_check_in_question_asks_two_things_at_once(bank: PromptBank) -> None:
    for p in bank.checkin_prompts():
        text = p.text.lower()
        assert "even when" not in text and "even if" not in text, p.id
    honest = bank.prompt("integrity.honest_every_interaction")
    assert "cost" not in honest.text
    assert "cost" in bank.prompt("integrity.honest_when_it_cost").text


def test_goal_question_verbatim_and_a_reflection_not_a_score(bank: PromptBank) -> None:
    goal = bank.prompt(GOAL_PROMPT_ID)
    assert goal.text == "What is my goal: trust and value, or something else?"
    assert goal.dimension is Dimension.GOAL and goal.measures is Measures.SITUATION
    assert goal.seed == ("001",)
    assert CHECKIN in goal.use and goal.enabled_by_default
    assert isinstance(goal.answer, ChoiceAnswer)
    values = [o.value for o in goal.answer.options]
    assert values[0] == TRUST_AND_VALUE
    assert {"quota", "commission"} <= set(values)
    assert all(o.score is None for o in goal.answer.options)
    assert all(bank.score(goal, v) is None for v in values)
    quota = goal.feedback_for("quota")
    assert quota is not None and "never" not in quota.text and "honest" in quota.text.lower()


def test_deal_anchored_wordings(bank: PromptBank) -> None:
    anchored = [p for p in bank.checkin_prompts() if p.on_deal is not None]
    assert len({p.dimension for p in anchored}) >= 5
    care = bank.prompt("care.interests_first")
    assert care.text_for("Acme renewal").startswith("On Acme renewal, did I")
    assert care.text_for(None) == care.text and care.text_for("") == care.text
    note = bank.prompt("internal_trust.weekly_note")
    assert note.text_for("Acme") == note.text


def test_the_checkin_pool(bank: PromptBank) -> None:
    checkin = bank.for_checkin(None)
    notes = [p for p in checkin if isinstance(p.answer, TextAnswer)]
    assert len(notes) == 1 and notes[0] is checkin[-1]
    assert isinstance(notes[0].answer, TextAnswer) and notes[0].answer.optional
    assert {p.dimension for p in checkin} == set(Dimension)
    behaviour = {p.dimension for p in checkin if p.scored}
    assert behaviour == set(Dimension)  # every dimension has something to trend


def test_for_checkin_respects_enabled_ids(bank: PromptBank) -> None:
    optional = next(p for p in bank.checkin_prompts() if not p.enabled_by_default)
    chosen = bank.for_checkin({GOAL_PROMPT_ID, optional.id, "internal_trust.weekly_note", "gone"})
    order = [p.id for p in bank.checkin_prompts()]
    expected = sorted([GOAL_PROMPT_ID, optional.id], key=order.index)
    assert [p.id for p in chosen] == [*expected, "internal_trust.weekly_note"]
    assert bank.for_checkin(set()) == []
    moment_only = bank.for_moment(MomentKey.LOST)[0]
    assert bank.for_checkin({moment_only.id}) == []


# ------------------------------------------------------------------ deal moments


def test_every_moment_has_prompts(bank: PromptBank) -> None:
    assert set(bank.moments) == set(MomentKey)
    assert {c.value for c in DealChange} <= {k.value for k in MomentKey}
    for key in MomentKey:
        moment = bank.moment(key)
        prompts = bank.for_moment(key.value)
        assert prompts and moment.title and moment.intro
        assert all(key.value in p.use for p in prompts)
        assert not any(isinstance(p.answer, TextAnswer) for p in prompts)
        assert len(prompts) <= 4  # a nudge is a few clicks


def test_moment_prompts_match_the_trust_model(bank: PromptBank) -> None:
    dims = {k: {p.dimension for p in bank.for_moment(k)} for k in MomentKey}
    assert dims[MomentKey.CLOSE_DATE_CHANGED] == {Dimension.CANDOR}
    assert dims[MomentKey.CLOSE_DATE_PUSHED] == {Dimension.CANDOR}
    for key in (MomentKey.DISCOUNT_SMALL, MomentKey.DISCOUNT_MEDIUM, MomentKey.AMOUNT_DOWN):
        assert dims[key] == {Dimension.VALUE_FOCUS}
    assert Dimension.RELIABILITY in dims[MomentKey.TOWARD_CONTRACT]
    assert Dimension.RELIABILITY in dims[MomentKey.WON]
    assert Dimension.CARE in dims[MomentKey.LOST]


def test_qualifying_out_is_a_decision_never_a_score(bank: PromptBank) -> None:
    for key in (MomentKey.DISQUALIFIED, MomentKey.CREATED, MomentKey.FIRST_CONTACT):
        assert any(p.measures is Measures.DECISION for p in bank.for_moment(key))
    assert "never counts against" in bank.moment(MomentKey.DISQUALIFIED).intro
    assert "never counts against" in bank.investment_rule.stop.message


def test_seed_004_trust_evidence_at_the_moments_it_is_knowable(bank: PromptBank) -> None:
    evidence = {
        "evidence.key_players": MomentKey.EVALUATION,
        "evidence.criteria": MomentKey.EVALUATION,
        "evidence.budget": MomentKey.PROPOSAL,
        "evidence.decision_process": MomentKey.NEGOTIATION,
        "evidence.confided": MomentKey.TOWARD_CONTRACT,
    }
    for prompt_id, key in evidence.items():
        prompt = bank.prompt(prompt_id)
        assert prompt.measures is Measures.SITUATION and "004" in prompt.seed
        assert prompt_id in bank.moment(key).prompts
    notes = [m.note for m in bank.moments.values() if m.note]
    assert notes and all("18%" in n for n in notes)


def test_client_first_is_asked_while_the_deal_is_live(bank: PromptBank) -> None:
    client_first = bank.prompt("integrity.named_better_options")
    assert (
        client_first.text == "Have I told them which other options would fit them better, if any?"
    )
    assert client_first.id in bank.moment(MomentKey.NEGOTIATION).prompts
    assert not bank.has_prompt("integrity.lost_better_alternative")  # the after-loss hypothetical
    script = client_first.feedback_for("not_yet")
    assert script is not None and "regroup" in script.next


def test_created_asks_the_three_investment_questions(bank: PromptBank) -> None:
    for key in (MomentKey.CREATED, MomentKey.FIRST_CONTACT):
        asked = bank.for_moment(key)
        assert tuple(p.id for p in asked) == INVESTMENT_IDS
        assert all(isinstance(p.answer, YesNoAnswer) and p.seed == ("000",) for p in asked)
        assert all(p.measures is Measures.DECISION for p in asked)
        assert all(isinstance(p.answer, YesNoAnswer) and p.answer.not_sure for p in asked)
        assert bank.moment(key).rule == bank.investment_rule
    assert bank.investment_rule.prompts == INVESTMENT_IDS


@pytest.mark.parametrize(
    ("answers", "verdict"),
    [
        (("yes", "yes", "yes"), "go"),
        (("no", "no", "no"), "stop"),
        (("yes", "no", "yes"), "think"),
        (("no", "yes", "no"), "think"),
        ((True, True, False), "think"),
        (("yes", "not_sure", "yes"), "find_out"),
        (("no", "no", "not_sure"), "find_out"),
    ],
)
def test_seed_000_rule(bank: PromptBank, answers: tuple[Any, ...], verdict: str) -> None:
    given_answers = dict(zip(INVESTMENT_IDS, answers, strict=True))
    assert bank.investment_verdict(given_answers) == verdict
    outcome = bank.investment_rule.outcome(verdict)
    assert outcome.label and outcome.message


def test_seed_000_names_the_questions_that_need_a_next_step(bank: PromptBank) -> None:
    rule = bank.investment_rule
    answers = dict(zip(INVESTMENT_IDS, ("yes", "no", "not_sure"), strict=True))
    assert rule.open_questions(answers) == [
        ("value_focus.value_not_price", "no"),
        ("value_focus.worth_investment", "not_sure"),
    ]
    assert set(rule.names) == set(INVESTMENT_IDS)
    price = bank.prompt("value_focus.value_not_price").feedback_for("no")
    assert price is not None and "what a wrong choice would cost them" in price.next


def test_seed_000_rule_needs_all_three_answers(bank: PromptBank) -> None:
    with pytest.raises(ValueError, match=r"value_focus\.worth_investment"):
        bank.investment_verdict({INVESTMENT_IDS[0]: True, INVESTMENT_IDS[1]: True})
    extra = {i: False for i in INVESTMENT_IDS} | {"candor.told_manager": True}
    assert bank.investment_verdict(extra) == "stop"


def test_intro_placeholders(bank: PromptBank) -> None:
    pushed = bank.moment(MomentKey.CLOSE_DATE_PUSHED_AGAIN)
    assert pushed.intro_fields() == {"days", "times"}
    text = pushed.intro_for(days="30", times="second")
    assert "30 days" in text and "second" in text and "{" not in text
    assert "15%" in bank.moment(MomentKey.DISCOUNT_LARGE).intro_for(percent="15%")
    assert bank.moment(MomentKey.WON).intro_fields() == set()


def test_slack_limits(bank: PromptBank) -> None:
    for p in bank.prompts:
        assert len(p.text) <= 150, p.id
        assert p.on_deal is None or len(p.on_deal) <= 150, p.id
        assert p.manager_text is None or len(p.manager_text) <= 150, p.id
        assert len(p.id) <= 64, p.id
        answer = p.answer
        if isinstance(answer, ScaleAnswer):
            assert len(answer.low) <= 75 and len(answer.high) <= 75, p.id
        if isinstance(answer, ChoiceAnswer):
            assert 2 <= len(answer.options) <= 5, p.id
        for option in answer.choices():
            assert len(option.label) <= 75, p.id
            assert len(option.value) <= 150, p.id
        if isinstance(answer, TextAnswer) and answer.placeholder:
            assert len(answer.placeholder) <= 150, p.id
    for t in bank.tips:
        assert len(t.text) <= 300, t.id
    for m in bank.moments.values():
        assert len(m.title) <= 150 and len(m.intro) <= 300
        assert m.note is None or len(m.note) <= 200


def test_seeds_are_cited(bank: PromptBank) -> None:
    cited = {s for p in bank.prompts for s in p.seed} | {s for t in bank.tips for s in t.seed}
    assert cited == set(SEEDS)


def test_manager_estimate_prompts(bank: PromptBank) -> None:
    estimates = bank.for_manager_estimate()
    assert estimates
    assert all(isinstance(p.answer, ScaleAnswer) and p.manager_text for p in estimates)
    assert all(p.scored for p in estimates)
    bad_news = bank.prompt("internal_trust.bad_news")
    assert bad_news in estimates
    assert bad_news.text == "I told my manager the bad news on my deals as soon as I knew it."
    assert bad_news.id in bank.default_checkin_ids()


def test_scale_value_is_the_raw_position_and_score_is_behaviour_only(bank: PromptBank) -> None:
    assert bank.scale_value("candor.forecast_honest", "4") == 4
    assert bank.scale_value("candor.forecast_honest", 2) == 2
    assert bank.scale_value("candor.forecast_honest", "9") is None
    assert bank.scale_value("candor.forecast_honest", DIDNT_COME_UP) is None
    assert bank.scale_value("candor.forecast_honest", True) is None
    assert bank.scale_value("candor.told_manager", "yes") == 5
    assert bank.scale_value("candor.told_manager", False) == 1
    assert bank.scale_value("value_focus.like_them", "yes") == 5  # a position ...
    assert bank.score("value_focus.like_them", "yes") is None  # ... but never a score
    assert bank.scale_value("value_focus.like_them", NOT_SURE) is None
    assert bank.score("integrity.named_better_options", "named_them") == 5
    assert bank.score("integrity.named_better_options", "none_fit_better") is None
    assert bank.scale_value("value_focus.won_value", "lower_price") is None
    assert bank.scale_value("internal_trust.weekly_note", "anything") is None
    with pytest.raises(KeyError):
        bank.scale_value("no.such_prompt", "5")
    with pytest.raises(KeyError):
        bank.score("no.such_prompt", "5")


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


DROP = object()
"""In :data:`BAD_FIELDS`: the field is deleted rather than set."""

BAD_FIELDS = [
    pytest.param(
        "integrity.said_so_when_not_best",
        ("measures",),
        DROP,
        ("questions.yaml", "integrity.said_so_when_not_best", "missing", "measures"),
        id="missing_field",
    ),
    pytest.param(
        "care.their_shoes",
        ("measures",),
        "attitude",
        ("questions.yaml", "care.their_shoes", "unknown measures", "attitude"),
        id="unknown_measures",
    ),
    pytest.param(
        "candor.told_manager",
        ("feedback", "maybe"),
        {"text": "Hm.", "next": "Think."},
        ("questions.yaml", "candor.told_manager", "'maybe'", "not an answer"),
        id="feedback_for_an_answer_the_prompt_does_not_have",
    ),
    pytest.param(
        GOAL_PROMPT_ID,
        ("feedback", "quota", "text"),
        "x" * 221,
        ("questions.yaml", GOAL_PROMPT_ID, "feedback text", "221", "220"),
        id="feedback_too_long",
    ),
    pytest.param(
        GOAL_PROMPT_ID,
        ("answer", "options", 1, "score"),
        1,
        ("questions.yaml", GOAL_PROMPT_ID, "only behaviour prompts are scored"),
        id="only_behaviour_may_carry_scores",
    ),
    pytest.param(
        "integrity.named_better_options",
        ("answer", "options", 0, "score"),
        DROP,
        ("questions.yaml", "integrity.named_better_options", "at least two"),
        id="a_behaviour_choice_needs_scores",
    ),
    pytest.param(
        "internal_trust.heard_out_first",
        ("manager_text",),
        "I hear my reps out.",
        ("questions.yaml", "heard_out_first", "behaviour scale"),
        id="manager_text_only_on_behaviour_scales",
    ),
    pytest.param(
        "internal_trust.weekly_note",
        ("feedback",),
        {"yes": {"text": "Thanks.", "next": "Go on."}},
        ("questions.yaml", "weekly_note", "takes no feedback"),
        id="a_note_takes_no_feedback",
    ),
    pytest.param(
        "care.interests_first",
        ("weight",),
        2,
        ("questions.yaml", "care.interests_first", "unknown key", "weight"),
        id="extra_key",
    ),
    pytest.param(
        GOAL_PROMPT_ID,
        ("answer", "options", 1, "label"),
        "x" * 76,
        ("questions.yaml", GOAL_PROMPT_ID, "label", "76 characters", "75"),
        id="label_too_long",
    ),
    pytest.param(
        "candor.self_honest",
        ("text",),
        "I " + "really " * 30 + "was honest.",
        ("questions.yaml", "candor.self_honest", "prompt text", "150"),
        id="prompt_text_too_long",
    ),
    pytest.param(
        "candor.forecast_honest",
        ("answer", "type"),
        "slider",
        ("questions.yaml", "candor.forecast_honest", "slider"),
        id="unknown_answer_type",
    ),
    pytest.param(
        "candor.forecast_honest",
        ("seed",),
        "007",
        ("questions.yaml", "candor.forecast_honest", "unknown seed number", "007"),
        id="unknown_seed",
    ),
    pytest.param(
        "candor.forecast_honest",
        ("use",),
        ["checkin", "renewed"],
        ("questions.yaml", "candor.forecast_honest", "unknown use", "renewed"),
        id="unknown_use",
    ),
    pytest.param(
        "value_focus.like_them",
        ("measures",),
        "behaviour",
        ("moments.yaml", "created", "value_focus.like_them", "decision"),
        id="rule_prompts_must_be_decisions",
    ),
]
"""One field of one prompt, the path to it, its bad value, and what the error must say."""


@pytest.mark.parametrize(("prompt_id", "path", "value", "needles"), BAD_FIELDS)
def test_a_bad_field_of_one_prompt(
    bank_dir: Path,
    prompt_id: str,
    path: tuple[str | int, ...],
    value: Any,
    needles: tuple[str, ...],
) -> None:
    data, prompt = _prompt_data(bank_dir, prompt_id)
    *parents, last = path
    field: Any = prompt
    for key in parents:
        field = field[key]
    if value is DROP:
        del field[last]
    else:
        field[last] = value
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, *needles)


def test_every_answer_needs_feedback(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "care.their_shoes")
    del prompt["feedback"]["didnt_come_up"]
    _write(bank_dir, "questions.yaml", data)
    err = _raises(
        bank_dir, "questions.yaml", "care.their_shoes", "feedback is missing", "'didnt_come_up'"
    )
    assert err.item == "care.their_shoes"
    data, prompt = _prompt_data(bank_dir, GOAL_PROMPT_ID)
    del prompt["feedback"]["quota"]
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", GOAL_PROMPT_ID, "feedback is missing", "'quota'")


def test_two_answers_cannot_share_feedback(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, GOAL_PROMPT_ID)
    prompt["feedback"]["commission"]["next"] = prompt["feedback"]["quota"]["next"]
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", GOAL_PROMPT_ID, "'quota' and 'commission'", "feedback next")


def test_on_deal_must_name_the_deal_once(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, "care.interests_first")
    prompt["on_deal"] = "On this deal, did I put them first?"
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "care.interests_first", "on_deal", "{deal}")
    prompt["on_deal"] = "On {deal} for {client}, did I put them first?"
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "care.interests_first", "no other placeholder")
    prompt["on_deal"] = "On {deal, did I put them first?"
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", "care.interests_first", "brace")


def test_too_many_options(bank_dir: Path) -> None:
    data, prompt = _prompt_data(bank_dir, GOAL_PROMPT_ID)
    prompt["answer"]["options"] += [{"value": f"v{n}", "label": f"L{n}"} for n in range(3)]
    _write(bank_dir, "questions.yaml", data)
    _raises(bank_dir, "questions.yaml", GOAL_PROMPT_ID, "options")


def test_unquoted_seed(bank_dir: Path) -> None:
    text = (bank_dir / "questions.yaml").read_text(encoding="utf-8")
    text = text.replace('seed: "001"', "seed: 001", 1)
    (bank_dir / "questions.yaml").write_text(text, encoding="utf-8")
    _raises(bank_dir, "questions.yaml", GOAL_PROMPT_ID, "quoted", '"001"')


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
    prompt["use"] = [*prompt["use"], "lost"]
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
    _raises(bank_dir, "moments.yaml", "won", "only the 'created' and 'first_contact' moments")


def test_intro_placeholders_are_checked(bank_dir: Path) -> None:
    data = _data(bank_dir, "moments.yaml")
    data["moments"]["won"]["intro"] = "Won after {days} days."
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "'won'", "{days}", "knows none")
    data["moments"]["won"]["intro"] = "Won."
    data["moments"]["discount_large"]["intro"] = "{percent} off after {days} days."
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "discount_large", "{days}", "only {percent}")
    data["moments"]["discount_large"]["intro"] = "{percent} off."
    data["moments"]["won"]["title"] = "Won {deal}"
    _write(bank_dir, "moments.yaml", data)
    _raises(bank_dir, "moments.yaml", "'won'", "title takes no placeholders")


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
