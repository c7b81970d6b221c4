"""The state machine as data, checked with hypothesis: any sequence of actions either follows the
table or is refused with 409 listing exactly the actions the table allows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis.errors import InvalidInput, InvalidTransition
from gis.tickets.workflow import MACHINE, RESUME, STATE_LABELS, TERMINAL, allowed_actions, target_state

ACTIONS = sorted(MACHINE)


@given(st.lists(st.sampled_from(ACTIONS), max_size=40))
def test_random_action_sequences_follow_the_table(actions: list[str]) -> None:
    state, before_suspend = "reported", None
    visited = [state]
    for action in actions:
        allowed = {a["action"] for a in allowed_actions(state)}
        try:
            nxt = target_state(state, action, previous=before_suspend)
        except InvalidTransition as exc:
            assert action not in allowed
            assert {a["action"] for a in exc.detail["allowed"]} == allowed
            continue
        assert action in allowed and nxt in STATE_LABELS
        if action == "suspend":
            before_suspend = state
        if action == "resume":
            assert nxt == before_suspend
        state = nxt
        visited.append(state)
    # 销号: a ticket is closed only after it was verified, and verified only after resolved
    for i, s in enumerate(visited):
        if s == "closed":
            assert visited[i - 1] == "verified"
        if s == "verified":
            assert visited[i - 1] == "resolved"


def test_terminal_states_only_allow_reopening_a_closed_ticket() -> None:
    assert allowed_actions("merged") == []
    assert [a["action"] for a in allowed_actions("closed")] == ["reopen"]
    assert {"closed", "merged"} == TERMINAL


def test_every_state_is_reachable_from_reported() -> None:
    seen, frontier = {"reported"}, ["reported"]
    while frontier:
        s = frontier.pop()
        for t in MACHINE.values():
            if s in t.sources:
                nxt = "accepted" if t.target == RESUME else t.target
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
    assert seen == set(STATE_LABELS)


def test_unknown_action_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        target_state("reported", "teleport")
