"""Personal calibration: what a rehearsal against a click teaches the beat tracker about one dancer.

A calibration session (``Session``) is labelled data without annotation work: the dancer's raw keypoints
and the time of every click they danced to (seconds, the keypoints' clock). ``fit_profile`` learns a
``Profile`` from it:

* ``head``: a small calibration head (``LinearHead``), logistic regression over a causal window of the last
  ``window`` frames of the base beat activation and of simple kinematics (velocity x, y and speed of seven
  body parts, in torso lengths per frame x 10), fitted with numpy (Newton steps, L2) to fire on the clicks;
* ``offset_s``: seconds added to the decoded beats, the timing left after the head, measured by decoding
  each part of the session with a head fitted on the other parts (cross-fitting), online, like on stage;
* ``timing_offset_s``: the dancer's timing against the beat as the general model sees it (its online beats
  minus the clicks, median, s; negative = early);
* ``level`` / ``marker`` / ``locking``: the metrical level the movement follows (0.5 = half time, 1 = on the
  beat, 2 = double time), the body part that marks it best, and how consistently (``movement_locking``);
* ``min_bpm`` / ``max_bpm``: the tempo prior, the session's tempi widened by half an octave each way.

At run time ``CalibratedActivation`` wraps the base activation (same interface: ``process_offline``,
``process_online``, ``delay_s``): the head replaces the activation, and the offset moves it in time (offline
the activation is shifted by ``offset_s``; online ``delay_s`` tells the engine when the beat really was).

A profile is ``<data dir>/profiles/NAME/profile.json`` (everything but the head's arrays) plus the head
(``head-<id>.npz``) and the session it came from (``session-<id>.npz``); the data dir is
``platformdirs.user_data_dir("rhythmicnet_live")`` or ``RHYTHMICNET_DATA_DIR``. The arrays are written
first under new names, ``profile.json`` last and atomically, so a profile is only ever replaced by a
complete new one. Reading needs numpy only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import FPS
from ..errors import UserInputError
from ..files import atomic_path
from ..input.keypoints import Keypoints, prepare

PROFILE_VERSION = 1
#: Body parts of the kinematic features (COCO-17 indices).
BODY_PARTS = {
    "head": (0, 1, 2, 3, 4), "shoulders": (5, 6), "elbows": (7, 8), "wrists": (9, 10),
    "hips": (11, 12), "knees": (13, 14), "ankles": (15, 16),
}
KINEMATIC_NAMES = tuple(f"{part}_{q}" for part in BODY_PARTS for q in ("vx", "vy", "speed"))
VELOCITY_SCALE = 10.0
LEVELS = (0.5, 1.0, 2.0)
TEMPO_WIDEN = 2 ** 0.5  # the tempo prior: the session's tempi / and x half an octave
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def data_dir() -> Path:
    """The user's data folder: ``RHYTHMICNET_DATA_DIR`` or platformdirs' user data dir for rhythmicnet_live."""
    if os.environ.get("RHYTHMICNET_DATA_DIR"):
        return Path(os.environ["RHYTHMICNET_DATA_DIR"])
    import platformdirs

    return Path(platformdirs.user_data_dir("rhythmicnet_live"))


def profile_dir(name: str) -> Path:
    if not NAME_RE.match(name):
        raise UserInputError(f"a profile name is letters, digits, '.', '_' or '-' (at most 64), got {name!r}")
    return data_dir() / "profiles" / name


# ---- kinematics ------------------------------------------------------------------------------------------
class KinematicFeatures:
    """Causal per-frame kinematics (len(KINEMATIC_NAMES),) of normalised keypoints (17, 2), NaN = missing.

    Per body part: mean velocity x, y and mean speed of its joints seen in this frame and the previous one
    (torso lengths per frame x ``VELOCITY_SCALE``); 0 where none was seen in both.
    """

    def __init__(self) -> None:
        self.prev: np.ndarray | None = None

    def step(self, xy: np.ndarray) -> np.ndarray:
        out = np.zeros(len(KINEMATIC_NAMES), np.float32)
        if self.prev is not None:
            velocity = (xy - self.prev) * VELOCITY_SCALE
            for i, joints in enumerate(BODY_PARTS.values()):
                v = velocity[list(joints)]
                v = v[np.isfinite(v).all(-1)]
                if len(v):
                    out[3 * i:3 * i + 2] = v.mean(0)
                    out[3 * i + 2] = np.linalg.norm(v, axis=-1).mean()
        self.prev = np.asarray(xy, np.float32)
        return out

    def process_offline(self, xy: np.ndarray) -> np.ndarray:
        """(T, K) for a whole sequence (T, 17, 2); equal to ``step`` frame by frame."""
        xy = np.asarray(xy, np.float32)
        velocity = np.full_like(xy, np.nan)
        velocity[1:] = (xy[1:] - xy[:-1]) * VELOCITY_SCALE
        out = np.zeros((len(xy), len(KINEMATIC_NAMES)), np.float32)
        for i, joints in enumerate(BODY_PARTS.values()):
            v = velocity[:, list(joints)]
            seen = np.isfinite(v).all(-1)
            count = seen.sum(1)
            v0 = np.where(seen[..., None], v, 0.0)
            has = count > 0
            out[has, 3 * i:3 * i + 2] = v0[has].sum(1) / count[has, None]
            out[has, 3 * i + 2] = np.linalg.norm(v0[has], axis=-1).sum(1) / count[has]
        return out


def frame_inputs(activation: np.ndarray, kinematics: np.ndarray) -> np.ndarray:
    """Per-frame head inputs (T, 2 + K): activation (0 when missing), a missing flag, kinematics."""
    activation = np.asarray(activation, np.float64)
    missing = ~np.isfinite(activation)
    return np.column_stack([np.where(missing, 0.0, activation), missing, kinematics]).astype(np.float64)


def windowed(inputs: np.ndarray, window: int) -> np.ndarray:
    """(T, window x D): frame t's row holds inputs t, t-1, .., t-window+1 (zeros before frame 0)."""
    padded = np.vstack([np.zeros((window - 1, inputs.shape[1])), inputs])
    return np.hstack([padded[window - 1 - k:len(padded) - k] for k in range(window)])


# ---- the head --------------------------------------------------------------------------------------------
@dataclass
class LinearHead:
    """Logistic regression over ``windowed(frame_inputs(...), window)`` standardised by ``mean`` / ``scale``."""

    window: int
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit_logistic(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, l2: float,
                 iterations: int = 12) -> tuple[np.ndarray, float]:
    """Weighted L2-regularised logistic regression by Newton steps; soft targets y in [0, 1]. (weights, bias)."""
    xb = np.column_stack([x, np.ones(len(x))])
    w = np.zeros(xb.shape[1])
    penalty = np.full(xb.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -40, 40)))
        grad = xb.T @ (sample_weight * (p - y)) + penalty * w
        hess = (xb * (sample_weight * p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-4:
            break
    return w[:-1], float(w[-1])


def beat_targets(n_frames: int, beats_frames: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Soft targets (n_frames,): exp(-d^2 / 2 sigma^2), d = frames to the nearest beat."""
    t = np.arange(n_frames)[:, None]
    if len(beats_frames) == 0:
        return np.zeros(n_frames)
    d = np.abs(t - np.asarray(beats_frames)[None, :]).min(axis=1)
    return np.exp(-0.5 * (d / sigma) ** 2)


def fit_head(rows: np.ndarray, targets: np.ndarray, usable: np.ndarray, window: int, l2: float) -> LinearHead:
    """Fit a head on windowed rows (T, window x D) where ``usable``; positives weighted to balance the classes;
    ``l2``: the penalty on the standardised weights."""
    x, y = rows[usable], targets[usable]
    mean = x.mean(0)
    scale = x.std(0) + 1e-6
    positive = y.sum()
    weight = np.where(y > 0.5, (len(y) - positive) / max(positive, 1.0), 1.0)
    weights, bias = fit_logistic((x - mean) / scale, y, weight / weight.mean(), l2)
    return LinearHead(window, weights, bias, mean, scale)


# ---- sessions ---------------------------------------------------------------------------------------------
@dataclass
class Session:
    """A calibration session.

    keypoints: raw keypoints (pixels or normalised; NaN = missing), times in seconds.
    clicks: times (s, the keypoints' clock) of the clicks the dancer danced to, count-ins excluded.
    segments: (start s, end s, bpm) of each tempo, in the same clock.
    """

    keypoints: Keypoints
    clicks: np.ndarray
    segments: list[tuple[float, float, float]]

    def save(self, path: Path) -> None:
        np.savez_compressed(path, xy=self.keypoints.xy, conf=self.keypoints.conf, times=self.keypoints.times,
                            clicks=self.clicks, segments=np.asarray(self.segments, np.float64).reshape(-1, 3))

    @classmethod
    def load(cls, path: Path) -> "Session":
        with np.load(path) as d:
            return cls(Keypoints(d["xy"], d["conf"], d["times"]), d["clicks"], [tuple(s) for s in d["segments"]])


@dataclass
class PreparedSession:
    """A session at ``FPS``: normalised xy (T, 17, 2), base activation (T,), kinematics (T, K), clicks in frames,
    ``segment`` (T,) the segment index of each frame (-1 outside every segment)."""

    xy: np.ndarray
    activation: np.ndarray
    kinematics: np.ndarray
    clicks: np.ndarray
    segment: np.ndarray
    segments: list[tuple[float, float, float]]


def prepare_session(session: Session, base) -> PreparedSession:
    kp = prepare(session.keypoints, FPS)
    t0 = float(kp.times[0])
    activation = base.process_offline(kp.xy)
    kinematics = KinematicFeatures().process_offline(kp.xy)
    segment = np.full(len(kp), -1)
    for i, (start, end, _) in enumerate(session.segments):
        segment[(kp.times >= start) & (kp.times < end)] = i
    return PreparedSession(kp.xy, activation, kinematics, (np.asarray(session.clicks) - t0) * FPS, segment,
                           list(session.segments))


# ---- what the session says about the dancer -----------------------------------------------------------------
@dataclass
class Locking:
    """How the movement follows the clicks.

    level: the metrical level it follows best (0.5 = half time, 1 = every click, 2 = double time);
    marker: the body part that marks it best; z: the mean Rayleigh z over all features (base activation and
    kinematics) at that level, the consistency of their phase from cycle to cycle (about 1 for no locking).
    """

    level: float
    marker: str
    z: float


def rayleigh_z(values: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Rayleigh z = n R^2 per column of ``values`` (N, F): n cycles (integer part of ``position``, in cycles),
    R the mean resultant length of each cycle's phase of the column at the cycle's frequency."""
    cycle = np.floor(position).astype(int)
    cycle -= cycle.min()
    e = np.exp(2j * np.pi * position)
    frames = np.bincount(cycle)
    z = np.zeros(values.shape[1])
    for f, column in enumerate(values.T):
        sums = np.bincount(cycle, weights=(column * e).real) + 1j * np.bincount(cycle, weights=(column * e).imag)
        vectors = sums[(frames >= 4) & (np.abs(sums) > 1e-9)]
        if len(vectors) >= 8:
            z[f] = len(vectors) * float(np.abs(np.mean(vectors / np.abs(vectors)))) ** 2
    return z


def movement_locking(prepared: PreparedSession, rate: float = 1.0) -> Locking:
    """How consistently the movement's phase follows clicks at ``rate`` x their tempo, at each metrical level."""
    n = len(prepared.xy)
    beat = np.interp(np.arange(n), prepared.clicks, np.arange(len(prepared.clicks)), left=np.nan, right=np.nan) \
        if len(prepared.clicks) > 1 else np.full(n, np.nan)
    inside = np.isfinite(beat) & (prepared.segment >= 0)
    if inside.sum() < 8:
        return Locking(1.0, "none", 0.0)
    values = np.column_stack([np.nan_to_num(prepared.activation), prepared.kinematics])[inside]
    best = Locking(1.0, "none", 0.0)
    for level in LEVELS:
        z = rayleigh_z(values, beat[inside] * level * rate)
        if z.mean() > best.z:
            part = list(BODY_PARTS)[int(np.argmax(z[1:])) // 3]
            best = Locking(level, part, float(z.mean()))
    return best


def f_measure(reference: np.ndarray, estimated: np.ndarray, window: float = 0.07) -> float:
    """Beat F-measure (greedy one-to-one matching within +-``window`` s), as mir_eval's up to ties."""
    if len(reference) == 0 or len(estimated) == 0:
        return 0.0
    free = np.ones(len(estimated), bool)
    hits = 0
    for r in reference:
        d = np.where(free, np.abs(estimated - r), np.inf)
        j = int(np.argmin(d))
        if d[j] <= window:
            free[j] = False
            hits += 1
    precision, recall = hits / len(estimated), hits / len(reference)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def signed_errors(reference: np.ndarray, estimated: np.ndarray, window: float = 0.15) -> np.ndarray:
    """Estimated minus reference beat time (s) for every reference beat with an estimate within +-``window``."""
    if len(estimated) == 0:
        return np.zeros(0)
    d = estimated[None, :] - np.asarray(reference)[:, None]
    nearest = d[np.arange(len(reference)), np.abs(d).argmin(1)]
    return nearest[np.abs(nearest) <= window]


def decode_online(activation: np.ndarray, min_bpm: float, max_bpm: float) -> np.ndarray:
    """Beat times (s from frame 0) of the online HMM (forward filtering, as on stage) over ``activation`` at FPS."""
    from .hmm import BeatTracker

    return BeatTracker(min_bpm=min_bpm, max_bpm=max_bpm, fps=FPS).process_sequence_online(activation)[0]


# ---- the profile ------------------------------------------------------------------------------------------------
@dataclass
class Profile:
    """One dancer's calibration (see the module docstring).

    activation / model_sha256: the base activation the head reads ("beat_model" with its file's sha256, or
    "kinematic"); offset_s: seconds added to the beats at run time; timing_offset_s: the dancer's timing as the
    general model sees it (median of its online beats minus the clicks, s; negative = early);
    min_bpm / max_bpm: tempo prior (BPM); session: what the session measured (seconds, clicks, tempi, F and
    offsets of the general model and of the profile, cross-fitted, online).
    """

    name: str
    activation: str
    model_sha256: str | None
    head: LinearHead
    offset_s: float
    timing_offset_s: float
    level: float
    marker: str
    locking: float
    min_bpm: float
    max_bpm: float
    session: dict = field(default_factory=dict)
    created: str = ""

    def to_json(self, head_file: str, session_file: str) -> dict:
        doc = {k: v for k, v in asdict(self).items() if k != "head"}
        doc.update(version=PROFILE_VERSION, head_file=head_file, session_file=session_file, window=self.head.window)
        return doc


#: A session below these is refused (nothing is written): share of frames with a body, movement (median
#: displacement of the joints over 0.2 s, torso lengths), clicks danced to, and the movement's phase consistency
#: at the click's tempo against the best of six wrong tempi (``Locking.z``). The locking ratio as a detector on
#: AIST++'s 65 leave-one-out sessions (``python -m export.beats.evaluate_calibration --refusals``): 1.1 refuses 7 of
#: them with the music's beats as clicks and 129 of 130 with clicks 20% off the music (1.25: 10 and 130).
MIN_BODY_SHARE = 0.6
MIN_MOVEMENT = 0.03
MIN_CLICKS = 16
MIN_LOCKING_RATIO = 1.1
WRONG_RATES = (0.71, 0.79, 0.87, 1.13, 1.27, 1.41)  # tempo ratios the movement must follow less well than the click
WINDOW = 18  # frames of the head's causal window (0.6 s; chosen over 12 by nested cross-validation by dancer, see README)
#: The head's L2 penalty per base activation (chosen among 30, 150 and 500 by nested cross-validation by dancer, see
#: README: every dancer got 150 on the beat model, 61 of 65 got 30 on the kinematic activation).
HEAD_L2 = {"beat_model": 150.0, "kinematic": 30.0}


def movement(xy: np.ndarray, lag: int = 6) -> float:
    """Median over frames of the mean joint displacement over ``lag`` frames (torso lengths); 0 if none."""
    d = np.linalg.norm(xy[lag:] - xy[:-lag], axis=-1)
    per_frame = np.nanmean(np.where(np.isfinite(d), d, np.nan), axis=1) if len(d) else np.zeros(0)
    per_frame = per_frame[np.isfinite(per_frame)]
    return float(np.median(per_frame)) if len(per_frame) else 0.0


def click_locking(prepared: PreparedSession) -> tuple[Locking, float]:
    """(how the movement follows the clicks, the best ``Locking.z`` at one of the ``WRONG_RATES`` instead)."""
    return movement_locking(prepared), max(movement_locking(prepared, rate).z for rate in WRONG_RATES)


def check_session(prepared: PreparedSession) -> tuple[dict, Locking]:
    """Refuse a session nobody could learn from (UserInputError, one line); else (its measurements, locking)."""
    inside = prepared.segment >= 0
    body = np.isfinite(prepared.xy).all(-1).any(-1)
    share = float(body[inside].mean()) if inside.any() else 0.0
    if share < MIN_BODY_SHARE:
        raise UserInputError(f"calibration refused: nobody in frame ({100 * share:.0f}% of the session had a body, "
                             f"need {100 * MIN_BODY_SHARE:.0f}%)")
    moved = movement(prepared.xy[inside])
    if moved < MIN_MOVEMENT:
        raise UserInputError(f"calibration refused: too little movement ({moved:.3f} torso lengths per 0.2 s, "
                             f"need {MIN_MOVEMENT})")
    n_clicks = int(np.sum((prepared.clicks >= 0) & (prepared.clicks < len(prepared.xy))))
    if n_clicks < MIN_CLICKS:
        raise UserInputError(f"calibration refused: only {n_clicks} clicks danced to, need {MIN_CLICKS}")
    locking, wrong = click_locking(prepared)
    if locking.z < MIN_LOCKING_RATIO * wrong:
        raise UserInputError(f"calibration refused: the movement does not follow the click (phase consistency "
                             f"{locking.z:.2f} at its tempo, {wrong:.2f} at a wrong tempo; need {MIN_LOCKING_RATIO:g}x)")
    return {"body_share": round(share, 3), "movement": round(moved, 4), "clicks": n_clicks}, locking


def folds_of(prepared: PreparedSession, parts: int = 3) -> np.ndarray:
    """Fold index per frame for cross-fitting: the segments, or a single segment cut into ``parts`` (-1 outside)."""
    if len(prepared.segments) >= 2:
        return prepared.segment.copy()
    inside = np.flatnonzero(prepared.segment >= 0)
    folds = np.full(len(prepared.segment), -1)
    folds[inside] = np.minimum(np.arange(len(inside)) * parts // max(len(inside), 1), parts - 1)
    return folds


def tempo_prior(bpms: list[float]) -> tuple[float, float]:
    """(min, max) BPM: the session's tempi widened by ``TEMPO_WIDEN`` each way, within 30-300."""
    return round(max(min(bpms) / TEMPO_WIDEN, 30.0), 2), round(min(max(bpms) * TEMPO_WIDEN, 300.0), 2)


def head_activation(head: LinearHead, activation: np.ndarray, kinematics: np.ndarray) -> np.ndarray:
    """The head's activation (T,) over a whole sequence; NaN where the base activation is (no body)."""
    out = head(windowed(frame_inputs(activation, kinematics), head.window))
    out[~np.isfinite(activation)] = np.nan
    return out


def shift(activation: np.ndarray, offset_s: float) -> np.ndarray:
    """``activation`` moved ``offset_s`` later in time (earlier if negative), linear interpolation, NaN past the ends."""
    t = np.arange(len(activation)) - offset_s * FPS
    i0 = np.floor(t).astype(int)
    w = t - i0
    ok = (i0 >= 0) & (i0 + 1 < len(activation))
    out = np.full(len(activation), np.nan)
    out[ok] = (1 - w[ok]) * activation[i0[ok]] + w[ok] * activation[i0[ok] + 1]
    exact = (i0 == len(activation) - 1) & (w < 1e-9)
    out[exact] = activation[-1]
    return out


def fit_profile(name: str, session: Session, base, activation_name: str, model_sha256: str | None,
                window: int = WINDOW, l2: float | None = None) -> Profile:
    """Learn a profile from ``session`` on top of the ``base`` activation; refuses a bad session (UserInputError).
    ``window`` (frames) and ``l2`` (None: ``HEAD_L2`` of ``activation_name``): the head's (``fit_head``)."""
    l2 = HEAD_L2[activation_name] if l2 is None else l2
    prepared = prepare_session(session, base)
    checks, locking = check_session(prepared)
    bpms = [s[2] for s in session.segments]
    min_bpm, max_bpm = tempo_prior(bpms)
    rows = windowed(frame_inputs(prepared.activation, prepared.kinematics), window)
    targets = beat_targets(len(rows), prepared.clicks)
    body = np.isfinite(prepared.activation)
    folds = folds_of(prepared)
    general_errors, head_errors, general_f, head_runs = [], [], [], []
    for fold in np.unique(folds[folds >= 0]):
        frames = np.flatnonzero(folds == fold)
        lo, hi = frames[0], frames[-1] + 1
        clicks = (prepared.clicks[(prepared.clicks >= lo) & (prepared.clicks < hi)] - lo) / FPS
        general = decode_online(prepared.activation[lo:hi], 60.0, 180.0)
        head = fit_head(rows, targets, body & (folds >= 0) & (folds != fold), window, l2)
        calibrated = decode_online(head(rows[lo:hi]) * np.where(body[lo:hi], 1.0, np.nan), min_bpm, max_bpm)
        general_errors.append(signed_errors(clicks, general))
        general_f.append(f_measure(clicks, general))
        head_errors.append(signed_errors(clicks, calibrated))
        head_runs.append((clicks, calibrated))
    head_errors_all = np.concatenate(head_errors)
    offset_s = -float(np.median(head_errors_all)) if len(head_errors_all) else 0.0
    general_errors_all = np.concatenate(general_errors)
    timing = float(np.median(general_errors_all)) if len(general_errors_all) else 0.0
    profile_f = [f_measure(clicks, beats + offset_s) for clicks, beats in head_runs]
    checks.update(
        seconds=round(float(len(prepared.xy) / FPS), 2), bpm=bpms, folds=len(head_runs),
        general_f=round(float(np.mean(general_f)), 4), profile_f=round(float(np.mean(profile_f)), 4),
        general_offset_ms=round(1e3 * timing, 1),
        profile_offset_ms=round(1e3 * float(np.median(head_errors_all + offset_s)), 1) if len(head_errors_all) else None,
    )
    head = fit_head(rows, targets, body & (folds >= 0), window, l2)
    return Profile(name=name, activation=activation_name, model_sha256=model_sha256, head=head,
                   offset_s=round(offset_s, 4), timing_offset_s=round(timing, 4), level=locking.level,
                   marker=locking.marker, locking=round(locking.z, 3), min_bpm=min_bpm, max_bpm=max_bpm,
                   session=checks, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))


# ---- files ------------------------------------------------------------------------------------------------------
def save_profile(profile: Profile, session: Session) -> Path:
    """Write the profile (arrays first under new names, then profile.json atomically; old arrays removed)."""
    folder = profile_dir(profile.name)
    folder.mkdir(parents=True, exist_ok=True)
    tag = secrets.token_hex(4)
    head_file, session_file = f"head-{tag}.npz", f"session-{tag}.npz"
    head = profile.head
    with atomic_path(folder / head_file) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, weights=head.weights, bias=np.float64(head.bias), mean=head.mean, scale=head.scale,
                     window=np.int64(head.window))
    with atomic_path(folder / session_file) as tmp:
        with open(tmp, "wb") as fh:
            session.save(fh)
    with atomic_path(folder / "profile.json") as tmp:
        tmp.write_text(json.dumps(profile.to_json(head_file, session_file), indent=1) + "\n")
    for old in folder.glob("*.npz"):
        if old.name not in (head_file, session_file):
            old.unlink(missing_ok=True)
    return folder


def available_profiles() -> list[str]:
    root = data_dir() / "profiles"
    return sorted(p.parent.name for p in root.glob("*/profile.json")) if root.exists() else []


def load_profile(name: str) -> Profile:
    """The profile ``name`` from the data dir; UserInputError if there is none (the message lists those there are)."""
    path = profile_dir(name) / "profile.json"
    if not path.exists():
        have = ", ".join(available_profiles()) or "none yet"
        raise UserInputError(f"no profile named {name!r} in {data_dir() / 'profiles'} (profiles: {have}); "
                             f"make one with 'rhythmicnet-live calibrate --name {name}'")
    doc = json.loads(path.read_text())
    if doc.get("version") != PROFILE_VERSION:
        raise UserInputError(f"profile {name!r} has version {doc.get('version')}, this program reads {PROFILE_VERSION}: "
                             "run calibrate again")
    with np.load(path.parent / doc["head_file"]) as d:
        head = LinearHead(int(d["window"]), d["weights"], float(d["bias"]), d["mean"], d["scale"])
    fields = {k: doc[k] for k in Profile.__dataclass_fields__ if k != "head"}
    return Profile(head=head, **fields)


# ---- run time ---------------------------------------------------------------------------------------------------
class CalibratedActivation:
    """A base activation (``ModelActivation`` or ``KinematicActivation``) seen through a profile's head.

    ``process_offline(xy)`` is the head's activation shifted ``offset_s`` later; ``process_online(xy)`` returns the
    head's activation of the frame the base reports (``base.delay`` frames back), and ``delay_s`` is the base's
    delay minus ``offset_s``: the engine places the beat ``delay_s`` before the frame that reported it.
    """

    def __init__(self, base, profile: Profile):
        self.base, self.head, self.offset_s = base, profile.head, profile.offset_s
        self.delay = int(getattr(base, "delay", 0))
        self.reset()

    @property
    def delay_s(self) -> float:
        return float(getattr(self.base, "delay_s", 0.0)) - self.offset_s

    def reset(self) -> None:
        self.base.reset()
        self.kinematics = KinematicFeatures()
        self.pending: deque[np.ndarray] = deque(maxlen=self.delay + 1)
        self.frames = 0
        width = 2 + len(KINEMATIC_NAMES)
        self.rows: deque[np.ndarray] = deque([np.zeros(width)] * self.head.window, maxlen=self.head.window)

    def process_online(self, xy: np.ndarray, reset: bool = False) -> float:
        """Feed one frame (17, 2); the head's activation for the frame ``delay`` frames back (NaN = no body)."""
        if reset:
            self.reset()
        self.pending.append(self.kinematics.step(np.asarray(xy, np.float32)))
        activation = self.base.process_online(xy)
        self.frames += 1
        if self.frames <= self.delay:  # the base reports nothing yet: no frame before frame 0 enters the window
            return float("nan")
        self.rows.appendleft(frame_inputs(np.array([activation]), self.pending[0][None])[0])
        if not np.isfinite(activation):
            return float("nan")
        return float(self.head(np.concatenate(self.rows)[None])[0])

    def process_offline(self, xy: np.ndarray) -> np.ndarray:
        """Activations (T,) for a whole clip (T, 17, 2), moved ``offset_s`` later."""
        activation = self.base.process_offline(xy)
        return shift(head_activation(self.head, activation, KinematicFeatures().process_offline(xy)), self.offset_s)


def resolve_activation(kind: str, min_bpm: float, max_bpm: float, profile: str | None = None):
    """(activation processor, its name, min_bpm, max_bpm) for ``--activation KIND`` and ``--profile NAME``.

    Without a profile: ``activation_by_name(kind)`` and the range as given. With one: the profile's base activation
    through its head (named "<base>+profile:NAME"), the range narrowed to the profile's tempo prior.
    UserInputError when they clash (another base activation or beat model, a range outside the prior).
    """
    from .beat_model import MODEL_NAME, activation_by_name
    from ..models import MODELS_DIR, read_manifest

    if profile is None:
        return (*activation_by_name(kind), min_bpm, max_bpm)
    calibration = load_profile(profile)
    wanted = "model" if calibration.activation == MODEL_NAME else "kinematic"
    if kind not in ("auto", wanted):
        raise UserInputError(f"profile {profile!r} was calibrated on the {wanted} activation, not --activation {kind}")
    base, base_name = activation_by_name(wanted)
    if base_name != calibration.activation or (
            base_name == MODEL_NAME and read_manifest(MODELS_DIR)["models"][MODEL_NAME]["sha256"] != calibration.model_sha256):
        raise UserInputError(f"profile {profile!r} was calibrated with another beat model: run calibrate again")
    lo, hi = max(min_bpm, calibration.min_bpm), min(max_bpm, calibration.max_bpm)
    if not lo < hi:
        raise UserInputError(f"the tempo range {min_bpm:g}-{max_bpm:g} BPM misses profile {profile!r}'s "
                             f"{calibration.min_bpm:g}-{calibration.max_bpm:g} BPM")
    return CalibratedActivation(base, calibration), f"{base_name}+profile:{profile}", lo, hi
