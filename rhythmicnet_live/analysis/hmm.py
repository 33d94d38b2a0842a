"""Beat decoding with a beat-pointer HMM (Krebs, Boeck & Widmer 2015; what madmom's DBN does).

State space: for every beat interval ``n`` (internal steps per beat, one per tempo in the allowed BPM
range) a pointer ``p = 0 .. n-1`` that advances one position per step; ``p = 0`` is where the activation
peaks. Only when the pointer wraps may the tempo change, with probability proportional to
``max(exp(-transition_lambda * |log(n'/n)|), tempo_jump)`` (madmom has ``|n'/n - 1|``, the same near n; in log
tempo, offline Viterbi takes the best previous tempo with a distance transform). Observation: the beat activation ``a`` in [0, 1]; beat states (the pointers within
``1 / (2 observation_lambda)`` of a beat from 0, edge states in part) emit ``a``, the others
``(1 - a) / (observation_lambda - 1)``; a missing frame (NaN) is uninformative.

Tempo resolution: the decoder runs at ``fps x upsample`` internal steps per second, the activation
interpolated linearly between frames (causal: step values between frames t-1 and t need frame t only).
At 30 fps an integer beat interval quantises tempo in 4-7% steps (17 and 18 frames are 105.9 and
100.0 BPM, nothing in between); at 90 steps/s the steps are 1.1-3.4% over 60-180 BPM.

Tempo prior: a beat model with a tempo head gives, per frame, a distribution over its tempo classes
(``tempo_bins``, BPM); it is interpolated (in log tempo) onto the decoder's tempi and multiplies the state
probabilities once per frame, raised to ``tempo_weight`` (an observation of the tempo beside the activation).

``online_offset_s`` shifts the beats that ``process_online`` reports from pointer 0 to the pointer position
that many seconds later (earlier if negative). The forward filter sees a broad activation peak only up to
now, so it puts the beat early by about half the peak's width; Viterbi, which sees the whole peak, does not.
``decision_lag_s`` lets the online decoder report a beat that long after it happened (``OnlineBeat.beat_lag``
says when it was), once the filter has seen the whole activation peak; the predicted next beats
(``next_beats``, what a live engine schedules notes on) do not wait.

``BeatTracker.process_offline`` runs Viterbi over a whole clip, beat by beat (compiled with numba: O(tempi) per
step, not O(states)). ``process_online(a, reset=...)`` runs
forward filtering one frame at a time and returns an ``OnlineBeat``: whether a beat fell since the
previous frame (and how long ago), the tempo, the phase, the predicted next beat times and a confidence.
While the activation is missing (no body), beats are not reported and the tempo is held (the pointer
keeps turning); reports resume when the pointer next reaches the beat. ``BeatTracker.known_tempo(bpm)``
searches only ``bpm`` +-4% (a performer who knows the song's tempo).

The pieces are separate, as in madmom: :class:`BeatStateSpace` (the states), :class:`TempoTransitionModel`
(how they follow each other), :class:`BeatObservationModel` (how likely an activation is in each state, NaN-aware),
and :class:`BeatTracker`, the decoder that puts them together (Viterbi offline, forward filtering online). A
bar-pointer (downbeat) model replaces the state space and transition model without touching the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import FPS


@dataclass(frozen=True)
class OnlineBeat:
    """What the online decoder knows after one frame.

    frame: index of this frame since the last reset.
    is_beat: a beat fell since the previous frame (never while the activation is missing).
    bpm: tempo (beats per minute) from the posterior mean beat interval.
    phase: position within the current beat, in [0, 1) (0 = on the beat).
    next_beats: predicted times of the next beats, seconds from this frame (ascending).
    confidence: posterior mass of states that agree with the predicted next beat within one frame.
    beat_lag: seconds from the beat to this frame's time (about ``decision_lag_s``; 0 when no beat).
    suspended: the activation is missing (no body): beats are not reported, the tempo is held.
    """

    frame: int
    is_beat: bool
    bpm: float
    phase: float
    next_beats: tuple[float, ...]
    confidence: float
    beat_lag: float = 0.0
    suspended: bool = False


class BeatStateSpace:
    """Beat-pointer states for the beat intervals (internal steps) of tempi ``min_bpm .. max_bpm`` at ``rate`` steps/s.

    Arrays (S = total number of states):
        intervals[k]: steps per beat of tempo k (ascending); first[k], last[k]: state of pointer 0 and of
        the last pointer of tempo k; interval[s], position[s], tempo_index[s]: per state.
    """

    def __init__(self, min_bpm: float, max_bpm: float, rate: float):
        if not 0 < min_bpm < max_bpm:
            raise ValueError(f"need 0 < min_bpm < max_bpm, got {min_bpm}, {max_bpm}")
        lo = max(2, int(np.floor(60.0 * rate / max_bpm)))
        hi = int(np.ceil(60.0 * rate / min_bpm))
        self.intervals = np.arange(lo, hi + 1)
        self.first = np.concatenate([[0], np.cumsum(self.intervals)[:-1]])
        self.last = self.first + self.intervals - 1
        self.num_states = int(self.intervals.sum())
        self.interval = np.repeat(self.intervals, self.intervals)
        self.tempo_index = np.repeat(np.arange(len(self.intervals)), self.intervals)
        self.position = np.arange(self.num_states) - self.first[self.tempo_index]


class TempoTransitionModel:
    """Pointers advance one step per step; only from the last pointer of a beat may the tempo change, from
    interval n to n' with probability proportional to ``max(exp(-transition_lambda * |log(n'/n)|), tempo_jump)``:
    a smooth change to a near tempo, or a jump to any tempo at the floor ``tempo_jump``; then times ``arrival_weight``
    (K,) of the new tempo when given (a tempo prior weighing every beat, not normalised: rows of
    ``tempo_transition`` then sum to less than 1).

    The distance in log tempo makes the smooth part a Laplace kernel: Viterbi's maximum over the source tempi is
    then a distance transform, two running maxima over the tempi with ``cost`` (see ``viterbi.beat_viterbi``), not a
    K x K search; ``log_arrival`` is added after it.
    """

    def __init__(self, space: BeatStateSpace, transition_lambda: float = 100.0, tempo_jump: float = 1e-5,
                 arrival_weight: np.ndarray | None = None):
        self.space = space
        log_interval = np.log(space.intervals.astype(np.float64))
        change = -transition_lambda * np.abs(log_interval[None, :] - log_interval[:, None])
        self.log_floor = float(np.log(tempo_jump)) if tempo_jump > 0 else -np.inf
        self.log_arrival = (np.zeros(len(space.intervals)) if arrival_weight is None
                            else np.log(np.asarray(arrival_weight, np.float64)))  # (K,)
        kernel = np.maximum(change, self.log_floor)  # (K, K): row = from tempo
        self.log_normaliser = np.log(np.exp(kernel).sum(axis=1))  # (K,): log A(j, k) = log_weight - this[j]
        # The prior weighs the arrival unnormalised, like an observation of the tempo at every beat: a row-normalised
        # prior would cancel where the kernel is narrow.
        self.log_weight = kernel + self.log_arrival
        self.tempo_transition = np.exp(self.log_weight - self.log_normaliser[:, None])
        self.cost = transition_lambda * log_interval  # (K,) the kernel's cost from interval 1 to each tempo's

    def predict(self, alpha: np.ndarray) -> np.ndarray:
        """A distribution over states (S,) one step later (forward filtering)."""
        space = self.space
        out = np.empty_like(alpha)
        out[1:] = alpha[:-1]
        out[space.first] = alpha[space.last] @ self.tempo_transition
        return out


class BeatObservationModel:
    """P(activation | state): ``a`` in the beat region, ``(1 - a) / (observation_lambda - 1)`` outside it, and
    geometrically between for the edge states; a missing activation (NaN, no body) is uninformative.

    The beat region is exactly 1/observation_lambda of every beat, centred on pointer 0 (madmom's starts at 0, which
    puts pointer 0, and so the beat, half the region before the activation peak). A state's weight is the share of
    its step inside the region, so that one beat of a flat activation has the same likelihood at every tempo: with
    whole states the share rounds differently per tempo, and a flat, high activation (a body that moves without
    accents) pulled the tempo to the top of the range.

    ``weight`` (0 < weight <= 1) is how much one activation counts, an exponent on its likelihood: below 1 the
    body moves the phase and tempo more slowly (after a performer tapped the phase in).
    """

    def __init__(self, space: BeatStateSpace, observation_lambda: float = 8.0, weight: float = 1.0):
        if observation_lambda <= 2.0:
            raise ValueError(f"need observation_lambda > 2 (the beat region is a share of the beat), got {observation_lambda}")
        if not 0.0 < weight <= 1.0:
            raise ValueError(f"need 0 < weight <= 1, got {weight}")
        self.space = space
        self.observation_lambda = observation_lambda
        self.weight = weight
        from_peak = np.minimum(space.position, space.interval - space.position)
        half = space.interval / (2 * observation_lambda)
        self.beat_weight = np.where(space.position == 0, np.minimum(2 * half, 1.0),
                                    np.clip(half + 0.5 - from_peak, 0.0, 1.0))
        # Pointers d and n - d (d >= 1) of a beat of tempo k weigh 1 for d <= ones[k], a share edge[k] for
        # d = ones[k] + 1, then 0 (what the compiled Viterbi sums with running sums).
        half = space.intervals / (2 * observation_lambda)
        self.ones = np.floor(half - 0.5 + 1e-9).astype(np.int64)
        self.edge = np.clip(half + 0.5 - (self.ones + 1), 0.0, 1.0)

    def _terms(self, activation: float) -> tuple[float, float]:
        """(log P(a | outside the beat region), log P(a | inside) - log P(a | outside))."""
        a = min(max(float(activation), 1e-6), 1.0 - 1e-6)
        log_other = float(np.log((1.0 - a) / (self.observation_lambda - 1.0)))
        return self.weight * log_other, self.weight * (float(np.log(a)) - log_other)

    def log_ratio(self, activation: np.ndarray) -> np.ndarray:
        """log P(a | inside the beat region) - log P(a | outside it), per value of ``activation`` (no NaN)."""
        a = np.clip(activation, 1e-6, 1.0 - 1e-6)
        return self.weight * (np.log(a) - np.log((1.0 - a) / (self.observation_lambda - 1.0)))

    def log_likelihood(self, activation: float) -> np.ndarray:
        """log P(a | state) (S,); zeros for a missing step (NaN)."""
        if activation != activation:
            return np.zeros(len(self.beat_weight))
        log_other, log_ratio = self._terms(activation)
        return log_other + self.beat_weight * log_ratio

    def observe(self, alpha: np.ndarray, activation: float) -> np.ndarray:
        """alpha x P(a | state), unnormalised; alpha itself for a missing step (NaN)."""
        if activation != activation:
            return alpha
        log_other, log_ratio = self._terms(activation)
        return alpha * np.exp(log_other + self.beat_weight * log_ratio)


def upsample_activation(previous, current, factor: int) -> np.ndarray:
    """Activation at the ``factor`` internal steps after frame t-1 up to frame t (the last one is frame t):
    (..., factor) for frames ``previous`` and ``current`` (floats, or arrays of the same shape).

    Linear interpolation; a step next to a missing frame (NaN) is missing, except frame t itself.
    """
    previous, current = np.asarray(previous, np.float64)[..., None], np.asarray(current, np.float64)[..., None]
    w = np.arange(1, factor + 1) / factor
    out = (1.0 - w) * previous + w * current
    out[..., -1:] = current
    return out


def tempo_interpolation(tempi: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """(len(tempi), len(bins)) weights that interpolate a distribution over ``bins`` (BPM, ascending) at
    ``tempi`` (BPM), linearly in log tempo, clamped at the ends."""
    x = np.log(np.asarray(bins, float))
    pos = np.clip(np.interp(np.log(tempi), x, np.arange(len(x))), 0, len(x) - 1)
    lo = np.minimum(np.floor(pos).astype(int), len(x) - 2)
    w = pos - lo
    out = np.zeros((len(tempi), len(x)))
    out[np.arange(len(tempi)), lo] = 1.0 - w
    out[np.arange(len(tempi)), lo + 1] = w
    return out


def load_offline_decoder_in_background() -> None:
    """Import and load the compiled Viterbi (about 1 s: numba and its on-disk cache; about 5 s the first time, when it
    compiles) in a daemon thread, so that it is ready when a take's pose is done."""
    import threading

    def load() -> None:
        BeatTracker(min_bpm=100.0, max_bpm=110.0).viterbi(np.full(8, 0.5))

    threading.Thread(target=load, name="load-viterbi", daemon=True).start()


#: Decoder settings of ``BeatTracker.known_tempo``, chosen by 4-fold cross-validation by dancer on AIST++, each
#: sequence seen from a random moment of its first beat (``python -m export.beats.evaluate --cv ST-GCN+TF+RelAttn+SSM``,
#: known-tempo table, by F + tempo accuracy): online, every fold chose a tempo prior centred on the given tempo, 1%
#: wide, a beat region of 1/8 of a beat, and beats reported 20 ms after the filtered beat; beats reported 0.1 s after
#: they happen (``beat_lag``), once the forward filter has seen their activation peak (``--tune``, every fold).
#: Offline (``take --bpm``), 3 of 4 folds put the Viterbi beats 90 ms later (the others 30-60 ms); they disagreed on
#: the prior, so offline shares the online prior. Without the prior the tempo wandered within the range (tempo
#: accuracy 54%) and took the phase with it; a body without accents slid to its slow end.
KNOWN_TEMPO_SETTINGS = {"decision_lag_s": 0.1, "online_offset_s": 0.02, "offline_offset_s": 0.09, "prior_width": 0.01,
                        "observation_lambda": 8.0}
#: Seconds: how far from the tapped beat ``BeatTracker.seed_phase`` lets the phase start (a Gaussian's width), about a
#: person's tapping jitter (tested in ``export.beats.evaluate``'s tap-in table: 30 ms, not 60).
TAP_PHASE_WIDTH_S = 0.03
#: Settings of ``BeatTracker.tapped`` (a known tempo whose phase was tapped in): the body counts 1/20 as much, so the
#: tapped phase holds, and the prior around the tap tempo is 2% wide (a tap tempo is less exact than a typed one).
#: Chosen by 4-fold cross-validation by dancer on AIST++ with the fold models, random starts (``python -m
#: export.beats.evaluate --cv ST-GCN+TF+RelAttn+SSM``, tap-in table: every fold chose (0.05, 0.02) of body weights
#: 1-0.05 and widths none-0.01; lower weights score the same, 0.799-0.800 at 0.02-0.01).
TAP_SETTINGS = {"observation_weight": 0.05, "prior_width": 0.02}

#: Tempo prior of ``BeatTracker.for_takes`` (Viterbi over a whole clip, tempo searched), chosen by 4-fold
#: cross-validation by dancer on AIST++ (``python -m export.beats.evaluate --cv ST-GCN+TF+RelAttn+SSM --tune``: every
#: fold chose 140 or 155 BPM, width 0.2-0.3; held-out offline F 0.284 -> 0.362, tempo accuracy 0.305 -> 0.317).
#: Forward filtering gained nothing steady from a prior (folds chose 95-125 BPM), so online has none.
TAKE_SETTINGS = {"prior_bpm": 140.0, "prior_width": 0.2}


class BeatTracker:
    """Beat-pointer HMM with offline (Viterbi) and online (forward filtering) decoding.

    Parameters: tempo range in BPM; ``fps`` of the activation; ``upsample`` internal steps per frame;
    ``transition_lambda`` (higher = steadier tempo); ``tempo_jump`` (floor of the tempo-change probability
    at a beat, so a sudden tempo change can be followed); ``observation_lambda`` (1/share of a beat that
    counts as "beat"); ``online_offset_s`` (seconds from the filtered beat to the reported online beat);
    ``offline_offset_s`` (seconds from the Viterbi path's beat to the beat ``decode_offline`` gives);
    ``decision_lag_s`` (seconds after a beat at which ``process_online`` reports it, with ``beat_lag`` saying when it was);
    ``min_gap_share`` (online beats at least this share of the current beat interval apart);
    ``num_predictions`` (length of ``next_beats``);
    ``tempo_bins`` (BPM of a beat model's tempo classes, if it has a tempo head) and ``tempo_weight``;
    ``prior_bpm`` and ``prior_width``: a log-normal tempo prior (centre in BPM, width in natural-log units of tempo)
    that weighs every beat's choice of tempo (None: every tempo alike); ``observation_weight``: how much one frame's
    activation counts (``BeatObservationModel``'s weight; ``TAP_SETTINGS`` after taps).
    Defaults are what most test folds chose in cross-validation on AIST++ with the shipped model
    (``python -m export.beats.evaluate --cv v1 --tune``).
    """

    def __init__(
        self,
        min_bpm: float = 60.0,
        max_bpm: float = 180.0,
        fps: float = FPS,
        upsample: int = 3,
        transition_lambda: float = 100.0,
        tempo_jump: float = 1e-5,
        observation_lambda: float = 8.0,
        online_offset_s: float = 0.03,
        decision_lag_s: float = 0.0,
        min_gap_share: float = 0.5,
        num_predictions: int = 4,
        tempo_bins: np.ndarray | None = None,
        tempo_weight: float = 0.1,
        prior_bpm: float | None = None,
        prior_width: float = 0.4,
        observation_weight: float = 1.0,
        offline_offset_s: float = 0.0,
    ):
        self.fps, self.upsample = fps, int(upsample)
        self.rate = fps * self.upsample
        self.min_bpm, self.max_bpm = min_bpm, max_bpm
        self.online_offset_s, self.offline_offset_s = online_offset_s, offline_offset_s
        self.space = space = BeatStateSpace(min_bpm, max_bpm, self.rate)
        self._tempo_change = (transition_lambda, tempo_jump)
        self.set_prior(prior_bpm, prior_width)
        self.observation = BeatObservationModel(space, observation_lambda, observation_weight)
        # The reported online beat: pointer position ``online_offset_s`` after pointer 0, per tempo (mod its interval).
        beat_position = np.round(online_offset_s * self.rate).astype(int) % space.interval
        since = (space.position - beat_position) % space.interval  # steps since the (offset) beat
        # A beat is reported ``decision_lag_s`` after it, once the filter has seen its whole activation peak.
        self.decision_lag_s = decision_lag_s
        report_since = (since - int(round(decision_lag_s * self.rate))) % space.interval
        self.is_report_state = (report_since < space.interval / observation_lambda) | (report_since == 0)
        self.steps_to_next = space.interval - since  # (S,) steps to the next beat, 1 .. interval
        self.min_beat_gap = int(np.floor(60.0 * self.rate / max_bpm))  # steps: beats never closer than at max_bpm
        self.min_gap_share = min_gap_share
        u = self.upsample  # states whose next beat is within one frame of v steps away, for each v (confidence)
        self.agreeing_states = [np.flatnonzero(np.abs(self.steps_to_next - v) <= u)
                                for v in range(int(space.intervals.max()) + 1)]
        self._interval_of = space.interval.tolist()  # Python ints: fast scalar look-ups per step
        self._since_of = since.tolist()
        self._report_of = self.is_report_state.tolist()
        self.num_predictions = num_predictions
        self.tempo_weight = tempo_weight
        self.tempo_map = None if tempo_bins is None else tempo_interpolation(60.0 * self.rate / space.intervals, tempo_bins)
        self.reset()

    def set_prior(self, prior_bpm: float | None, prior_width: float = 0.4) -> None:
        """Weigh every beat's choice of tempo by a log-normal prior (centre in BPM, width in natural-log units), or
        by none; the state distribution is kept (a known tempo that moved within the tracker's range)."""
        if prior_bpm is not None and not (prior_bpm > 0 and prior_width > 0):
            raise ValueError(f"need prior_bpm > 0 and prior_width > 0, got {prior_bpm}, {prior_width}")
        self.prior_bpm, self.prior_width = prior_bpm, prior_width
        arrival = None if prior_bpm is None else np.exp(np.maximum(  # floored: no zero weight (log 0) far from it
            -0.5 * (np.log(60.0 * self.rate / self.space.intervals / prior_bpm) / prior_width) ** 2, -700.0))
        self.transition = TempoTransitionModel(self.space, *self._tempo_change, arrival)

    @classmethod
    def searching(cls, min_bpm: float = 60.0, max_bpm: float = 180.0, motion_tempo: bool = True,
                  **kwargs) -> "BeatTracker":
        """An online tracker that searches ``min_bpm`` .. ``max_bpm`` (BPM); with ``motion_tempo`` it takes
        ``MotionTempo``'s distributions (``process_online(a, tempo=p)``) as an observation of the tempo, weighted
        as ``MOTION_TEMPO_SETTINGS`` says."""
        from .tempo import MOTION_TEMPO_SETTINGS, TEMPO_BINS

        if motion_tempo:
            kwargs = {"tempo_bins": TEMPO_BINS, "tempo_weight": MOTION_TEMPO_SETTINGS["tempo_weight"], **kwargs}
        return cls(min_bpm=min_bpm, max_bpm=max_bpm, **kwargs)

    @classmethod
    def known_tempo(cls, bpm: float, tolerance: float = 0.04, **kwargs) -> "BeatTracker":
        """A tracker that searches only ``bpm`` +- ``tolerance`` (the tempo a performer gives; the phase comes
        from the motion), with ``KNOWN_TEMPO_SETTINGS`` unless ``kwargs`` say otherwise. Its tempo prior is centred
        on ``bpm`` (``prior_width``; None: no prior, every tempo in the range alike)."""
        if bpm <= 0 or not 0 < tolerance < 1:
            raise ValueError(f"need bpm > 0 and 0 < tolerance < 1, got {bpm}, {tolerance}")
        settings = {**KNOWN_TEMPO_SETTINGS, **kwargs}
        if settings.get("prior_width") is None:
            settings.pop("prior_width", None)
        else:
            settings.setdefault("prior_bpm", bpm)
        return cls(min_bpm=bpm * (1 - tolerance), max_bpm=bpm * (1 + tolerance), **settings)

    @classmethod
    def tapped(cls, bpm: float, to_next_s: float, tolerance: float = 0.04, **kwargs) -> "BeatTracker":
        """A known-tempo tracker (``known_tempo``) whose next beat was tapped in ``to_next_s`` seconds after its first
        frame (``seed_phase``), with ``TAP_SETTINGS`` unless ``kwargs`` say otherwise."""
        tracker = cls.known_tempo(bpm, tolerance, **{**TAP_SETTINGS, **kwargs})
        tracker.seed_phase(to_next_s)
        return tracker

    @classmethod
    def for_takes(cls, min_bpm: float = 60.0, max_bpm: float = 180.0, **kwargs) -> "BeatTracker":
        """A tracker for whole clips (``process_offline``) searching ``min_bpm`` .. ``max_bpm`` with ``TAKE_SETTINGS``
        unless ``kwargs`` say otherwise. A range without the prior's centre is what the user knows of the tempo: the
        prior is then centred on the range (geometric mean), not pushed to its end."""
        centre = TAKE_SETTINGS["prior_bpm"]
        if not min_bpm <= centre <= max_bpm:
            centre = float(np.sqrt(min_bpm * max_bpm))
        settings = dict(TAKE_SETTINGS, prior_bpm=centre)
        return cls(min_bpm=min_bpm, max_bpm=max_bpm, **{**settings, **kwargs})

    # ---- model pieces -------------------------------------------------------------------------
    def _tempo_log_weight(self, tempo: np.ndarray | None) -> np.ndarray | None:
        """Log weight per decoder tempo (..., K) of tempo distributions over ``tempo_bins`` (..., bins), 0 at the
        best tempo and 0 everywhere for a missing frame (NaN); None if no tempo is given or the tracker has no bins."""
        if tempo is None or self.tempo_map is None:
            return None
        per_tempo = self.tempo_weight * np.log(np.asarray(tempo, np.float64) @ self.tempo_map.T + 1e-6)
        return np.nan_to_num(per_tempo - per_tempo.max(axis=-1, keepdims=True), nan=0.0)

    def _initial(self) -> np.ndarray:
        """Every tempo equally likely, every phase within it too (uniform over states would favour slow tempi,
        which have more states: 3x more at 60 than at 180 BPM)."""
        return 1.0 / (len(self.space.intervals) * self.space.interval)

    def internal_activation(self, activation: np.ndarray) -> np.ndarray:
        """Activation (T,) at ``fps`` -> ((T - 1) x upsample + 1,) at the internal rate (frame t = step t x upsample),
        by :func:`upsample_activation`, as online."""
        activation = np.asarray(activation, dtype=np.float64)
        if len(activation) < 2:
            return activation.copy()
        steps = upsample_activation(activation[:-1], activation[1:], self.upsample)
        return np.concatenate([activation[:1], steps.ravel()])

    # ---- offline --------------------------------------------------------------------------------
    def viterbi(self, steps: np.ndarray, tempo: np.ndarray | None = None) -> np.ndarray:
        """Most likely state sequence (n,) for internal-rate activations ``steps`` (n,) in [0, 1] (NaN = missing),
        with per-frame tempo distributions ``tempo`` (frames, K) applied at the frame steps (every ``upsample``-th).
        Decoded beat by beat, O(tempi) per step, by the compiled ``viterbi.beat_viterbi``.
        """
        from .viterbi import beat_viterbi  # numba: compiled on first use, cached on disk

        space, transition, observation = self.space, self.transition, self.observation
        steps = np.asarray(steps, np.float64)
        n = len(steps)
        if n == 0:
            return np.zeros(0, np.int64)
        intervals = space.intervals
        num_tempi, pad = len(intervals), int(intervals.max())
        log_ratio = np.zeros(n + 3 * pad)  # padded step u = step + pad; 0 outside the clip and for missing steps
        valid = np.isfinite(steps)
        log_ratio[pad:pad + n][valid] = observation.log_ratio(steps[valid])
        prior = np.zeros((0, num_tempi))
        if tempo is not None and self.tempo_map is not None:
            prior = np.zeros((n + 2 * pad, num_tempi))
            prior[pad:pad + n:self.upsample] = self._tempo_log_weight(tempo[:(n - 1) // self.upsample + 1])
        return beat_viterbi(log_ratio, n, pad, intervals.astype(np.int64), space.first.astype(np.int64),
                            observation.ones, observation.edge,
                            observation.beat_weight[space.first], transition.log_normaliser, transition.cost,
                            transition.log_floor, transition.log_arrival, transition.log_weight, np.log(self._initial()[space.first]),
                            prior, np.concatenate([np.zeros((1, num_tempi)), np.cumsum(prior, axis=0)]))

    def _beat_steps(self, path: np.ndarray) -> np.ndarray:
        """Steps of ``path`` where the pointer is at 0 (the beat)."""
        return np.flatnonzero(self.space.position[path] == 0)

    def decode_offline(self, activation: np.ndarray, tempo: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Viterbi over a whole clip (optional tempo distributions (T, K)): (beat times in seconds from frame 0 = 0 s,
        ``offline_offset_s`` after the path's beats and within the clip, tempo in BPM per frame (T,)). No beat falls
        on a frame without a body (NaN activation), like online."""
        activation = np.asarray(activation, dtype=np.float64)
        if len(activation) == 0:
            return np.zeros(0), np.zeros(0)
        path = self.viterbi(self.internal_activation(activation), tempo=tempo)
        tempo = 60.0 * self.rate / self.space.interval[path[::self.upsample]]
        beats = self._beat_steps(path) / self.rate + self.offline_offset_s
        frames = np.round(beats * self.fps).astype(int)
        inside = (frames >= 0) & (frames < len(activation))
        beats, frames = beats[inside], frames[inside]
        return beats[np.isfinite(activation[frames])], tempo

    def process_offline(self, activation: np.ndarray, tempo: np.ndarray | None = None) -> np.ndarray:
        """Beat times in seconds (from frame 0 = 0 s) decoded by Viterbi over the whole clip."""
        return self.decode_offline(activation, tempo)[0]

    # ---- online ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything: the next frame is frame 0 with a uniform state distribution."""
        self.alpha = self._initial()
        self.frame = -1
        self.step = -1
        self.previous = float("nan")
        self.last_beat_step = -(10**9)

    def seed_phase(self, to_next_s: float, width_s: float = TAP_PHASE_WIDTH_S) -> None:
        """Put the next beat ``to_next_s`` seconds after the last frame filtered (after the next frame for a tracker
        that has filtered none), give or take ``width_s`` (s, a Gaussian), keeping the tempo distribution: the
        phase a performer taps. The body moves it from there, as from any other state."""
        if not width_s > 0:
            raise ValueError(f"need width_s > 0, got {width_s}")
        space = self.space
        steps = to_next_s * self.rate
        off = (self.steps_to_next - steps) % space.interval
        distance = np.minimum(off, space.interval - off)  # steps, around the beat cycle
        weight = np.exp(-0.5 * (distance / (width_s * self.rate)) ** 2)
        per_tempo = np.bincount(space.tempo_index, weights=self.alpha)
        norm = np.bincount(space.tempo_index, weights=weight)
        self.alpha = per_tempo[space.tempo_index] * weight / norm[space.tempo_index]

    def process_online(self, activation: float, reset: bool = False, tempo: np.ndarray | None = None) -> OnlineBeat:
        """Filter one frame's activation (NaN = missing: no body) and, if given, its tempo distribution over
        ``tempo_bins``; report beat, tempo and predictions."""
        if reset:
            self.reset()
        self.frame += 1
        activation = float(activation)
        values = [activation] if self.frame == 0 else upsample_activation(self.previous, activation, self.upsample)
        self.previous = activation
        beat_step = None
        tempo_weight = self._tempo_log_weight(tempo)
        for i, value in enumerate(values):
            self.step += 1
            prior = self.alpha if self.step == 0 else self.transition.predict(self.alpha)
            alpha = self.observation.observe(prior, value)
            if tempo_weight is not None and i == len(values) - 1:
                alpha = alpha * np.exp(tempo_weight[self.space.tempo_index])
            self.alpha = alpha / alpha.sum()
            # madmom's online rule: a beat when the best state is a (reported) beat state, at least one beat
            # at max_bpm after the previous one; never from a missing step (no body, no beat). And at least
            # ``min_gap_share`` of the best state's own beat interval after it: when the phase is ambiguous at a
            # slow tempo, the best state flips between the on- and off-beat and madmom's rule reports both.
            best = int(self.alpha.argmax())
            gap = max(self.min_beat_gap, self.min_gap_share * self._interval_of[best])
            if value == value and self._report_of[best] and self.step - self.last_beat_step >= gap:
                self.last_beat_step = self.step
                beat_step = self.step - self._since_of[best]  # when the beat was, by the filter's best state
        return self._report(beat_step, suspended=activation != activation)

    def _report(self, beat_step: int | None, suspended: bool) -> OnlineBeat:
        best = int(self.alpha.argmax())
        interval = self._interval_of[best]
        since = self._since_of[best]
        to_next = interval - since
        confidence = float(self.alpha[self.agreeing_states[to_next]].sum())
        return OnlineBeat(
            frame=self.frame,
            is_beat=beat_step is not None,
            bpm=60.0 * self.rate / float(self.alpha @ self.space.interval),
            phase=since / interval,
            next_beats=tuple((to_next + k * interval) / self.rate for k in range(self.num_predictions)),
            confidence=confidence,
            beat_lag=0.0 if beat_step is None else (self.step - beat_step) / self.rate,
            suspended=suspended,
        )

    def process_sequence_online(self, activation: np.ndarray,
                                tempo: np.ndarray | None = None) -> tuple[np.ndarray, list[OnlineBeat]]:
        """Run ``process_online`` over a whole sequence (optional tempo distributions (T, K)) from a reset:
        (beat times in seconds, reports)."""
        reports = [self.process_online(a, reset=(i == 0), tempo=None if tempo is None else tempo[i])
                   for i, a in enumerate(np.asarray(activation, float))]
        beats = np.array([r.frame / self.fps - r.beat_lag for r in reports if r.is_beat], dtype=np.float64)
        return beats, reports
