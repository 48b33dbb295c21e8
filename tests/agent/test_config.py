"""The configuration surface: every field documented, bounds enforced, files read."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorstep.agent.config import AgentConfig, load_config
from doorstep.errors import InvalidInput
from tests.conftest import REPO_ROOT


def test_every_field_is_documented_with_its_default() -> None:
    doc = (REPO_ROOT / "docs" / "agent.md").read_text()
    for name, field in AgentConfig.model_fields.items():
        assert f"| `{name}` |" in doc, name
        assert field.description


def test_defaults_match_the_issue() -> None:
    config = AgentConfig()
    assert (config.pre_roll, config.post_roll, config.max_clip) == (5.0, 5.0, 60.0)


@pytest.mark.parametrize(
    "settings",
    [
        {"motion_min_area": 2},
        {"zones": [[[0, 0], [1, 0]]]},
        {"masks": [[[0, 0], [2, 0], [0, 1]]]},
        {"webhook_urls": ["http://x"]},
        {"camera": "a/b"},
    ],
)
def test_invalid_settings_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        load_config(**settings)


def test_file_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORSTEP_AGENT_EVENT_GAP", "3")
    (tmp_path / "agent.toml").write_text('camera = "porch"\npre_roll = 2.5\n')
    config = load_config(tmp_path / "agent.toml")
    assert (config.camera, config.pre_roll, config.event_gap) == ("porch", 2.5, 3.0)


def test_hub_zones_apply_unless_the_agent_sets_its_own() -> None:
    from doorstep.agent.config import load_config, with_hub_settings

    remote = {"zones": [[[0, 0], [1, 0], [1, 1]]], "masks": [[[0, 0], [0.1, 0], [0.1, 0.1]]]}

    def as_lists(polygons: list) -> list:
        return [[list(map(float, point)) for point in polygon] for polygon in polygons]

    plain = with_hub_settings(load_config(), remote)
    assert as_lists(plain.zones) == as_lists(remote["zones"])
    assert as_lists(plain.masks) == as_lists(remote["masks"])
    local_zone = [[[0.5, 0.5], [1, 0.5], [1, 1]]]
    own = with_hub_settings(load_config(zones=local_zone), remote)
    assert as_lists(own.zones) == as_lists(local_zone)
    assert as_lists(own.masks) == as_lists(remote["masks"])
    named = with_hub_settings(load_config(), {"camera_id": "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11"})
    assert named.camera == "6f1c1c3e-3b0b-4a43-9f59-0f5d3f3f0b11"
    assert with_hub_settings(load_config(camera="porch"), {"camera_id": "x-1"}).camera == "porch"
