"""One configuration for ``beats``, ``take`` and ``perform``: dataclasses with defaults and ranges, a TOML
file, command-line flags. Validation is written once, here (:meth:`Config.validate`); the live engine's
changeable view of it is :class:`~rhythmicnet_live.live.control.EngineControls` (:meth:`Config.engine_controls`).

Precedence: defaults < the TOML file (``--config PATH``) < command-line flags. The documented example is
``config.example.toml`` at the repository root; every key there is a field below (section = sub-dataclass).

For the CLI::

    parser = argparse.ArgumentParser()
    add_config_arguments(parser, "perform")   # --config plus one flag per option this command uses
    config = config_from_args(parser.parse_args())   # raises UserInputError on a bad file, key, type or value

Each flag is ``--<section>-<key>`` with "_" as "-" (``--osc-port``, ``--midi-clock``), except where a field
names a shorter one (``--min-bpm``, ``--latency``, ``--temperature``...); a field's ``aliases`` keep older
names working (``--tempo-min-bpm``). Booleans get ``--x`` / ``--no-x``. Every flag's help shows its default
and its range.
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

from .errors import UserInputError
from .live import osc_protocol as proto

#: The subcommands that take configuration flags.
COMMANDS = ("beats", "take", "perform")
ALL = frozenset(COMMANDS)
OFFLINE = frozenset(("beats", "take"))
OFFLINE_AND_LIVE = frozenset(("take", "perform"))
LIVE = frozenset(("perform",))


def _opt(default: Any, help: str, flag: str | None = None, aliases: tuple[str, ...] = (),
         range: tuple[float, float] | None = None, choices: tuple[str, ...] | None = None,
         commands: frozenset = LIVE) -> Any:
    """A config field: its default, help, flag (and older flag names), allowed range or choices, and the
    subcommands that offer it as a flag (every field is accepted in the TOML file)."""
    return field(default=default, metadata=dict(help=help, flag=flag, aliases=aliases, range=range,
                                                choices=choices, commands=commands))


@dataclass
class MidiConfig:
    port: str = _opt("RhythmicNet", "virtual port to create, or existing port to open (with --no-midi-virtual)")
    api: str = _opt("auto", "MIDI API", choices=("auto", "alsa", "jack", "coremidi", "windows"))
    virtual: bool = _opt(True, "create a virtual port (unsupported on Windows: name a loopMIDI port)")
    client_name: str = _opt("RhythmicNet", "MIDI client name (JACK shows client:port)")
    clock: bool = _opt(False, "send MIDI clock (24 per quarter, Start/Stop) following the tempo")
    enabled: bool = _opt(True, "send MIDI at all (--no-midi: OSC and the journal only)")


@dataclass
class OscConfig:
    enabled: bool = _opt(True, "send the OSC output stream")
    host: str = _opt(proto.DEFAULT_OSC_HOST, "OSC output host (or --osc HOST:PORT)")
    port: int = _opt(proto.DEFAULT_OSC_PORT, "OSC output UDP port", range=(1, 65535))
    keypoints: bool = _opt(False, "also send /rhythmicnet/keypoints every frame")


@dataclass
class ControlConfig:
    enabled: bool = _opt(True, "listen for OSC control messages")
    host: str = _opt(proto.DEFAULT_CONTROL_HOST, "control listen address (loopback only unless changed)")
    port: int = _opt(proto.DEFAULT_CONTROL_PORT, "control UDP port", range=(1, 65535))


@dataclass
class SchedulerConfig:
    latency_s: float = _opt(0.0, "output latency compensation (s): notes leave this much early",
                            flag="--latency", range=(0.0, 1.0))
    max_pending: int = _opt(4096, "most notes waiting in the scheduler", range=(1, 1_000_000))
    max_late_s: float = _opt(0.05, "drop a note that would leave later than this (s)", range=(0.001, 10.0))


@dataclass
class GenerationConfig:
    seed: int = _opt(0, "random seed of the generators: the same seed gives the same take", flag="--seed",
                     range=(0, 2**31 - 1), commands=OFFLINE_AND_LIVE)
    temperature: float = _opt(1.0, "sampling temperature of drums and piano", flag="--temperature",
                              range=proto.TEMPERATURE_RANGE, commands=OFFLINE_AND_LIVE)
    drum_temperature: float | None = _opt(None, "drum sampling temperature (unset: --temperature)",
                                          flag="--drum-temperature", range=proto.TEMPERATURE_RANGE,
                                          commands=OFFLINE_AND_LIVE)
    piano_temperature: float | None = _opt(None, "piano sampling temperature (unset: --temperature)",
                                           flag="--piano-temperature", range=proto.TEMPERATURE_RANGE,
                                           commands=OFFLINE_AND_LIVE)
    top_k: int = _opt(5, "sample among the k most likely tokens (0 = no limit)", flag="--top-k",
                      range=(0, 1000), commands=OFFLINE_AND_LIVE)
    density: float = _opt(1.0, "share of generated off-beat notes kept", flag="--density", range=(0.0, 1.0))
    drums: bool = _opt(True, "play drums", flag="--drums")
    piano: bool = _opt(True, "play piano over the drums", flag="--piano", aliases=("--drums-only",),
                       commands=OFFLINE_AND_LIVE)

    @property
    def drum_temp(self) -> float:
        """The drum sampling temperature in force."""
        return self.temperature if self.drum_temperature is None else self.drum_temperature

    @property
    def piano_temp(self) -> float:
        """The piano sampling temperature in force."""
        return self.temperature if self.piano_temperature is None else self.piano_temperature


@dataclass
class TempoConfig:
    min_bpm: float = _opt(60.0, "slowest tempo the beat tracker considers (BPM)", flag="--min-bpm",
                          aliases=("--tempo-min-bpm",), range=proto.TEMPO_LIMITS, commands=ALL)
    max_bpm: float = _opt(180.0, "fastest tempo the beat tracker considers (BPM)", flag="--max-bpm",
                          aliases=("--tempo-max-bpm",), range=proto.TEMPO_LIMITS, commands=ALL)
    bpm: float | None = _opt(None, "known tempo (BPM): the tracker searches it +-4%% and takes the phase from "
                                   "the body; use it when you know the song's tempo", flag="--bpm",
                             range=proto.TEMPO_LIMITS, commands=ALL)
    lock: bool = _opt(False, "hold the settled tempo instead of following the dancer", flag="--tempo-lock")
    motion: bool = _opt(True, "while the tempo is searched, let the periodicity of the motion over the last 8 s tell the "
                              "tracker the tempo (off: the beat activation alone; always off with --profile)",
                        flag="--motion-tempo")
    clock_in: str | None = _opt(None, "follow the MIDI clock and Start/Stop of this MIDI output port (a DAW's)",
                                flag="--clock-in")
    link: bool = _opt(False, "join the Ableton Link session (the dancer leads; with --tempo-lock, the session)",
                      flag="--link")
    tap_in: str | None = _opt(None, "tap the beat from this MIDI output port (a pad or a foot switch): every note-on, "
                                    "or sustain-pedal press, is a tap, as /rhythmicnet/tap", flag="--tap-in")
    downbeat_note: int | None = _opt(None, "with --tap-in, this MIDI note says 'this beat is one' instead of "
                                           "tapping", flag="--downbeat-note", range=(0, 127))

    def beat_tracker(self, min_bpm: float, max_bpm: float, takes: bool = False):
        """The beat decoder: :meth:`BeatTracker.known_tempo` (its cross-validated settings) when ``bpm`` is known,
        else one searching ``min_bpm`` .. ``max_bpm`` (BPM); ``takes``: for whole clips (:meth:`BeatTracker.for_takes`,
        with its tempo prior)."""
        from .analysis.hmm import BeatTracker

        if self.bpm is not None:
            return BeatTracker.known_tempo(self.bpm, tolerance=proto.KNOWN_TEMPO_TOLERANCE)
        return BeatTracker.for_takes(min_bpm, max_bpm) if takes else BeatTracker(min_bpm, max_bpm)

    @property
    def search_range(self) -> tuple[float, float]:
        """(min, max) BPM the beat tracker searches: bpm +-4% when the tempo is known, else min..max."""
        if self.bpm is not None:
            return self.bpm * (1 - proto.KNOWN_TEMPO_TOLERANCE), self.bpm * (1 + proto.KNOWN_TEMPO_TOLERANCE)
        return self.min_bpm, self.max_bpm


@dataclass
class AnalysisConfig:
    activation: str = _opt("auto", "beat activation: the trained model, the no-learning kinematic baseline, or "
                                   "the model when shipped (auto)", flag="--activation",
                           choices=("auto", "model", "kinematic"), commands=ALL)
    profile: str | None = _opt(None, "a dancer's calibration profile (see 'calibrate'): their offset, tempo range "
                                     "and calibration head", flag="--profile", commands=ALL)
    pose_fps: float = _opt(30.0, "run pose on about this many frames per second of a video file (frames/s; the "
                                 "frames between are interpolated): 15 halves pose's time on a 30 fps video",
                           flag="--pose-fps", range=(5.0, 240.0), commands=OFFLINE)

    def activation_processor(self, tempo: "TempoConfig"):
        """(activation processor, its name, min BPM, max BPM): ``activation`` through ``profile`` when one is
        given (its head, its tempo range within ``tempo``'s), else as named with ``tempo``'s search range."""
        from .analysis.profile import resolve_activation

        return resolve_activation(self.activation, *tempo.search_range, self.profile)


@dataclass
class PreviewConfig:
    enabled: bool = _opt(False, "show the preview window (camera, skeleton, beat, tempo, bar)", flag="--preview")
    fps: float = _opt(30.0, "preview window refresh rate (frames/s)", range=(1.0, 240.0))


@dataclass
class JournalConfig:
    enabled: bool = _opt(True, "record every performance to a crash-safe journal")
    dir: str = _opt("takes", "folder for journals (relative to the working directory)")
    fsync_interval_s: float = _opt(0.5, "fsync the journal at most this often (s; 0 = every record)",
                                   range=(0.0, 60.0))
    keypoints: bool = _opt(True, "also record keypoints")


@dataclass
class Config:
    midi: MidiConfig = field(default_factory=MidiConfig)
    osc: OscConfig = field(default_factory=OscConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    tempo: TempoConfig = field(default_factory=TempoConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    preview: PreviewConfig = field(default_factory=PreviewConfig)

    def validate(self) -> "Config":
        """Check every value against its field's range or choices, then the relations; raises
        UserInputError naming the flag. Returns self."""
        for section, cls in _sections():
            for f in dataclasses.fields(cls):
                value = getattr(getattr(self, section), f.name)
                meta = f.metadata
                if value is None:
                    continue
                if meta["range"] is not None:
                    lo, hi = meta["range"]
                    if not lo <= value <= hi:
                        raise UserInputError(f"{_flag_of(section, f)} ({section}.{f.name}) must be in "
                                             f"{_fmt(lo)}..{_fmt(hi)}, got {_fmt(value)}")
                if meta["choices"] is not None and value not in meta["choices"]:
                    raise UserInputError(f"{_flag_of(section, f)} ({section}.{f.name}) must be one of "
                                         f"{', '.join(meta['choices'])}, got {value!r}")
        if not self.midi.port:
            raise UserInputError("--midi-port (midi.port) must not be empty")
        if self.tempo.downbeat_note is not None and not self.tempo.tap_in:
            raise UserInputError("--downbeat-note (tempo.downbeat_note) needs --tap-in PORT")
        if not self.tempo.min_bpm < self.tempo.max_bpm:
            raise UserInputError(f"need --min-bpm < --max-bpm, got {_fmt(self.tempo.min_bpm)} and "
                                 f"{_fmt(self.tempo.max_bpm)}")
        return self

    def engine_controls(self):
        """An :class:`~rhythmicnet_live.live.control.EngineControls` initialised from this config."""
        from .live.control import EngineControls

        g, t = self.generation, self.tempo
        lo, hi = t.search_range
        return EngineControls(temperature=g.temperature, density=g.density, drums=g.drums, piano=g.piano,
                              tempo_lock=t.lock, tempo_min=lo, tempo_max=hi, bpm=t.bpm)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _flag_of(section: str, f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or f"--{section}-{f.name}".replace("_", "-")


def _sections() -> list[tuple[str, type]]:
    hints = typing.get_type_hints(Config)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(Config)]


def _base_type(kind: Any) -> type:
    """``float`` for ``float | None``; the type itself otherwise."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if args else kind


def _check_type(value: Any, kind: Any, where: str) -> Any:
    kind = _base_type(kind)
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
        raise UserInputError(f"cannot read config {path}: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise UserInputError(f"config {path} is not valid TOML: {err}") from err
    return config_from_dict(data, str(path))


@dataclass(frozen=True)
class _Flag:
    flag: str
    aliases: tuple[str, ...]
    dest: str  # "cfg__<section>__<key>"
    kind: type
    help: str
    commands: frozenset


def _flags() -> list[_Flag]:
    out = []
    for section, cls in _sections():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            meta = f.metadata
            parts = []
            if meta["choices"]:
                parts.append(" | ".join(meta["choices"]))
            if _base_type(hints[f.name]) is bool:
                parts.append(f"default {'on' if f.default else 'off'}")
            elif f.default is not None:
                parts.append(f"default {_fmt(f.default)}")
            if meta["range"]:
                parts.append(f"{_fmt(meta['range'][0])}..{_fmt(meta['range'][1])}")
            text = meta["help"] + (f" ({'; '.join(parts)})" if parts else "")
            out.append(_Flag(_flag_of(section, f), meta["aliases"], f"cfg__{section}__{f.name}",
                             _base_type(hints[f.name]), text, meta["commands"]))
    return out


def add_config_arguments(parser: argparse.ArgumentParser, command: str = "perform") -> None:
    """Add ``--config PATH`` and the flags of the options ``command`` uses (defaults come from the config)."""
    group = parser.add_argument_group("configuration (each flag overrides the --config file; TOML keys in "
                                      "config.example.toml)")
    group.add_argument("--config", type=Path, default=None, help="TOML config file (see config.example.toml)")
    for spec in _flags():
        if command not in spec.commands:
            continue
        if spec.kind is bool:
            group.add_argument(spec.flag, dest=spec.dest, action=argparse.BooleanOptionalAction, default=None,
                               help=spec.help)
            for alias in spec.aliases:  # a bool alias such as --drums-only turns the option off
                group.add_argument(alias, dest=spec.dest, action="store_false", default=None, help=argparse.SUPPRESS)
        else:
            group.add_argument(spec.flag, *spec.aliases, dest=spec.dest, type=spec.kind, default=None,
                               help=spec.help, metavar=spec.dest.split("__")[-1].upper())
    if command == "perform":
        group.add_argument("--osc", metavar="HOST:PORT", help="where the OSC stream goes, in one flag "
                           f"(default {proto.DEFAULT_OSC_HOST}:{proto.DEFAULT_OSC_PORT})")
        group.add_argument("--no-midi", dest="cfg__midi__enabled", action="store_false", default=None,
                           help="no MIDI output (OSC and the journal only)")


def parse_host_port(text: str) -> tuple[str, int]:
    """``("127.0.0.1", 9000)`` from ``"127.0.0.1:9000"``; UserInputError otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserInputError(f"--osc wants HOST:PORT such as 127.0.0.1:9000, got {text!r}")
    return host, int(port)


def config_from_args(args: argparse.Namespace) -> Config:
    """The config file named by ``args.config`` (or the defaults) with the flags given on the command line
    applied on top; validated."""
    config = load_config(getattr(args, "config", None))
    for spec in _flags():
        value = getattr(args, spec.dest, None)
        if value is not None:
            _, section, key = spec.dest.split("__")
            setattr(getattr(config, section), key, value)
    if getattr(args, "osc", None):
        config.osc.host, config.osc.port = parse_host_port(args.osc)
    return config.validate()


def config_from_flags(flags: list[str], command: str = "perform") -> Config:
    """A validated Config from command-line flags as ``command`` takes them, e.g. ``["--seed", "3", "--drums-only"]``."""
    parser = argparse.ArgumentParser(prog=f"rhythmicnet-live {command}", exit_on_error=False)
    add_config_arguments(parser, command)
    try:
        args = parser.parse_args(flags)
    except argparse.ArgumentError as err:
        raise UserInputError(str(err)) from err
    return config_from_args(args)
