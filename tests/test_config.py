"""Config: the example file documents every option with its default; file and flag precedence; errors."""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from pathlib import Path

import pytest

from rhythmicnet_live.config import (
    Config, add_config_arguments, config_from_args, config_from_dict, load_config,
)
from rhythmicnet_live.errors import UserInputError

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def test_example_lists_every_option_with_its_default():
    data = tomllib.loads(EXAMPLE.read_text())
    defaults = Config()
    expected = {s.name: {f.name for f in dataclasses.fields(getattr(defaults, s.name)) if f.default is not None}
                for s in dataclasses.fields(defaults)}
    assert {k: set(v) for k, v in data.items()} == expected
    assert load_config(EXAMPLE) == defaults
    unset = [f.name for s in dataclasses.fields(defaults) for f in dataclasses.fields(getattr(defaults, s.name))
             if f.default is None]
    assert unset and all(f"# {name} = " in EXAMPLE.read_text() for name in unset)  # unset by default: shown commented


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return config_from_args(parser.parse_args(argv))


def test_flags_override_the_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[midi]\nport = "loopMIDI Port"\nvirtual = false\nclock = true\n[osc]\nport = 9100\n'
                   '[scheduler]\nlatency_s = 0.03\n[tempo]\nmin_bpm = 70\n')
    config = _parse(["--config", str(cfg), "--osc-port", "9200", "--latency", "0.01", "--no-drums",
                     "--tempo-max-bpm", "160", "--midi-api", "jack"])
    assert (config.midi.port, config.midi.virtual, config.midi.clock, config.midi.api) == (
        "loopMIDI Port", False, True, "jack")
    assert config.osc.port == 9200 and config.scheduler.latency_s == 0.01
    assert config.generation.drums is False and config.generation.piano is True
    assert (config.tempo.min_bpm, config.tempo.max_bpm) == (70.0, 160.0)
    controls = config.engine_controls()
    assert (controls.drums, controls.tempo_min, controls.tempo_max) == (False, 70.0, 160.0)
    assert _parse([]) == Config()
    assert Config().tempo.motion is True and _parse(["--no-motion-tempo"]).tempo.motion is False


@pytest.mark.parametrize("data, message", [
    ({"midi": {"prot": "x"}}, "unknown key midi.prot"),
    ({"mid": {}}, "unknown section"),
    ({"osc": {"port": "9000"}}, "osc.port must be of type int"),
    ({"midi": {"clock": 1}}, "midi.clock must be of type bool"),
    ({"osc": {"port": 70000}}, "osc.port"),
    ({"generation": {"density": 1.5}}, "density"),
    ({"tempo": {"min_bpm": 150, "max_bpm": 100}}, "min-bpm < --max-bpm"),
    ({"midi": {"api": "beos"}}, "midi.api"),
    ({"scheduler": {"latency_s": -0.1}}, "latency_s"),
])
def test_bad_values_are_user_errors(data, message):
    with pytest.raises(UserInputError, match=message):
        config_from_dict(data)


def test_bad_file_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[midi\nport = 1")
    with pytest.raises(UserInputError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(UserInputError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
