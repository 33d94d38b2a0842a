"""One configuration for every live-engine option: a dataclass with defaults, a TOML file, CLI flags.

Precedence: defaults < the TOML file (``--config PATH``) < command-line flags. The documented example is
``config.example.toml`` at the repository root; every key there is a field below (section = sub-dataclass).

For the CLI::

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)          # --config plus one flag per option, e.g. --midi-port, --latency
    args = parser.parse_args()
    config = config_from_args(args)       # raises UserInputError on a bad file, key, type or value

Each flag is ``--<section>-<key>`` with "_" as "-" (``--osc-port``, ``--tempo-min-bpm``), except where a
field's metadata names a shorter one (``--latency``, ``--temperature``, ``--density``...). Booleans get
``--x`` / ``--no-x``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .live import osc_protocol as proto
from .errors import UserInputError


def _opt(default: Any, help: str, flag: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass
class MidiConfig:
    port: str = _opt("RhythmicNet", "virtual port to create, or existing port to open (virtual = false)")
    api: str = _opt("auto", "MIDI API: auto, alsa, jack, coremidi, windows")
    virtual: bool = _opt(True, "create a virtual port (unsupported on Windows: name a loopMIDI port)")
    client_name: str = _opt("RhythmicNet", "MIDI client name (JACK shows client:port)")
    clock: bool = _opt(False, "send MIDI clock (24 per quarter, Start/Stop) following the tempo")
    enabled: bool = _opt(True, "send MIDI at all")


@dataclass
class OscConfig:
    enabled: bool = _opt(True, "send the OSC output stream")
    host: str = _opt(proto.DEFAULT_OSC_HOST, "OSC output host")
    port: int = _opt(proto.DEFAULT_OSC_PORT, "OSC output UDP port")
    keypoints: bool = _opt(False, "also send /rhythmicnet/keypoints every frame")


@dataclass
class ControlConfig:
    enabled: bool = _opt(True, "listen for OSC control messages")
    host: str = _opt(proto.DEFAULT_CONTROL_HOST, "control listen address (loopback only unless changed)")
    port: int = _opt(proto.DEFAULT_CONTROL_PORT, "control UDP port")


@dataclass
class SchedulerConfig:
    latency_s: float = _opt(0.0, "output latency compensation in seconds: notes leave this much early",
                            flag="--latency")
    max_pending: int = _opt(4096, "most notes waiting in the scheduler")
    max_late_s: float = _opt(0.05, "drop a note that would leave later than this (seconds)")


@dataclass
class GenerationConfig:
    temperature: float = _opt(1.0, "sampling temperature", flag="--temperature")
    top_k: int = _opt(5, "top-k sampling (0 = off)", flag="--top-k")
    density: float = _opt(1.0, "note density 0..1", flag="--density")
    drums: bool = _opt(True, "play drums", flag="--drums")
    piano: bool = _opt(True, "play piano", flag="--piano")


@dataclass
class TempoConfig:
    min_bpm: float = _opt(60.0, "slowest tempo the beat tracker considers (BPM)")
    max_bpm: float = _opt(180.0, "fastest tempo the beat tracker considers (BPM)")
    lock: bool = _opt(False, "hold the tempo instead of following the dancer", flag="--tempo-lock")
    bpm: float = _opt(0.0, "known tempo (BPM; the body gives the phase within +-4%%); 0 = follow the dancer",
                      flag="--bpm")
    clock_in: str = _opt("", "follow the MIDI clock and Start/Stop of this MIDI output port (a DAW's)",
                         flag="--clock-in")
    link: bool = _opt(False, "join the Ableton Link session (the dancer leads; with tempo lock, the session)",
                      flag="--link")


@dataclass
class PreviewConfig:
    enabled: bool = _opt(False, "show the preview window (camera, skeleton, beat, tempo, bar)", flag="--preview")
    fps: float = _opt(30.0, "preview window refresh rate (frames/s)")


@dataclass
class JournalConfig:
    enabled: bool = _opt(True, "record every performance to a crash-safe journal")
    dir: str = _opt("takes", "folder for journals (relative to the working directory)")
    fsync_interval_s: float = _opt(0.5, "fsync the journal at most this often (seconds; 0 = every record)")
    keypoints: bool = _opt(True, "also record keypoints")


@dataclass
class Config:
    midi: MidiConfig = field(default_factory=MidiConfig)
    osc: OscConfig = field(default_factory=OscConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    tempo: TempoConfig = field(default_factory=TempoConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    preview: PreviewConfig = field(default_factory=PreviewConfig)

    def validate(self) -> "Config":
        """Check values and their relations; raises UserInputError. Returns self."""
        from .live.midi_out import APIS

        def need(ok: bool, what: str) -> None:
            if not ok:
                raise UserInputError(f"config: {what}")

        need(self.midi.api in ("auto", *APIS), f"midi.api must be auto or one of {', '.join(APIS)}")
        need(bool(self.midi.port), "midi.port must not be empty")
        for name in ("osc", "control"):
            port = getattr(self, name).port
            need(0 <= port <= 65535, f"{name}.port must be in 0..65535, got {port}")
        need(self.scheduler.latency_s >= 0, "scheduler.latency_s must be >= 0")
        need(self.scheduler.max_pending >= 1, "scheduler.max_pending must be >= 1")
        need(self.scheduler.max_late_s > 0, "scheduler.max_late_s must be > 0")
        lo, hi = proto.TEMPERATURE_RANGE
        need(lo <= self.generation.temperature <= hi, f"generation.temperature must be in [{lo}, {hi}]")
        need(self.generation.top_k >= 0, "generation.top_k must be >= 0")
        need(0 <= self.generation.density <= 1, "generation.density must be in [0, 1]")
        tlo, thi = proto.TEMPO_LIMITS
        need(tlo <= self.tempo.min_bpm < self.tempo.max_bpm <= thi,
             f"tempo: need {tlo} <= min_bpm < max_bpm <= {thi}")
        need(self.tempo.bpm == 0 or tlo <= self.tempo.bpm <= thi, f"tempo.bpm must be 0 or in [{tlo}, {thi}]")
        need(self.preview.fps > 0, "preview.fps must be > 0")
        need(self.journal.fsync_interval_s >= 0, "journal.fsync_interval_s must be >= 0")
        return self

    def engine_controls(self):
        """An :class:`~rhythmicnet_live.live.control.EngineControls` initialised from this config."""
        from .live.control import EngineControls

        g, t = self.generation, self.tempo
        return EngineControls(temperature=g.temperature, density=g.density, drums=g.drums, piano=g.piano,
                              tempo_lock=t.lock, tempo_min=t.min_bpm, tempo_max=t.max_bpm, bpm=t.bpm or None)


def _sections() -> list[tuple[str, type]]:
    hints = typing.get_type_hints(Config)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(Config)]


def _check_type(value: Any, kind: type, where: str) -> Any:
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise UserInputError(f"config: {where} must be of type {kind.__name__}, got {value!r}")
    return value


def config_from_dict(data: dict[str, Any], where: str = "config") -> Config:
    """A validated Config from nested dicts (the parsed TOML); unknown sections or keys are errors."""
    config = Config()
    sections = dict(_sections())
    for section, values in data.items():
        if section not in sections:
            raise UserInputError(f"{where}: unknown section [{section}] (known: {', '.join(sections)})")
        if not isinstance(values, dict):
            raise UserInputError(f"{where}: [{section}] must be a table")
        target = getattr(config, section)
        hints = typing.get_type_hints(sections[section])
        for key, value in values.items():
            if key not in hints:
                raise UserInputError(f"{where}: unknown key {section}.{key} (known: {', '.join(hints)})")
            setattr(target, key, _check_type(value, hints[key], f"{section}.{key}"))
    return config.validate()


def load_config(path: str | Path | None = None) -> Config:
    """The defaults, updated from the TOML file at ``path`` if given."""
    if path is None:
        return Config().validate()
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as err:
        raise UserInputError(f"cannot read config {path}: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise UserInputError(f"config {path} is not valid TOML: {err}") from err
    return config_from_dict(data, str(path))


def _flags() -> list[tuple[str, str, type, str]]:
    """(flag, argparse dest "cfg__<section>__<key>", type, help) for every option."""
    out = []
    for section, cls in _sections():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            flag = f.metadata.get("flag") or f"--{section}-{f.name}".replace("_", "-")
            out.append((flag, f"cfg__{section}__{f.name}", hints[f.name], f.metadata.get("help", "")))
    return out


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config PATH`` and one flag per config option to ``parser`` (defaults come from the config)."""
    group = parser.add_argument_group("configuration (overrides the --config file)")
    group.add_argument("--config", type=Path, default=None, help="TOML config file (see config.example.toml)")
    for flag, dest, kind, help_ in _flags():
        if kind is bool:
            group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=help_)
        else:
            group.add_argument(flag, dest=dest, type=kind, default=None, help=help_, metavar=dest.split("__")[-1].upper())


def config_from_args(args: argparse.Namespace) -> Config:
    """The config file named by ``args.config`` (or the defaults) with the flags given on the command line
    applied on top; validated."""
    config = load_config(getattr(args, "config", None))
    for _, dest, _, _ in _flags():
        value = getattr(args, dest, None)
        if value is not None:
            _, section, key = dest.split("__")
            setattr(getattr(config, section), key, value)
    return config.validate()
