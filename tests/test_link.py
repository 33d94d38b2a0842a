"""Ableton Link with two peers, the engine and this test's, inside a private network namespace (never on the
machine's real interfaces): the dancer leads the session's tempo, and with the tempo lock the engine follows it."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

link = pytest.importorskip("link", reason="Ableton Link's binding: pip install 'rhythmicnet-live[link]'")

#: Runs inside the namespace: a Link peer at SESSION_BPM, then ``perform --link`` with FLAGS on the clip; prints
#: the peer count and the session tempo the peer saw, and the tempo the engine reported over OSC, as JSON.
PEER = textwrap.dedent("""
    import json, subprocess, sys, time
    sys.path.insert(0, "tests")
    import link
    from live_helpers import OscReceiver
    from test_engine import CLIP, free_port

    peer = link.Link(SESSION_BPM)
    peer.enabled = True
    osc = OscReceiver()
    perform = subprocess.Popen(
        [sys.executable, "-m", "rhythmicnet_live.cli", "perform", "--video", str(CLIP), "--no-midi", "--link",
         "--osc", f"127.0.0.1:{osc.port}", "--control-port", str(free_port()), "--no-journal-enabled", *FLAGS],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peers, session, set_at = 0, [], None
    try:
        deadline = time.monotonic() + 120
        while perform.poll() is None and time.monotonic() < deadline:
            peers = max(peers, peer.numPeers())
            if SETS_TEMPO and peers and set_at is None:
                # Whichever session the two peers merged into, this peer now sets its tempo, as a DAW user would.
                state = peer.captureSessionState()
                state.setTempo(SESSION_BPM, peer.clock().micros())
                peer.commitSessionState(state)
                set_at = (len(session), time.monotonic())
            session.append(peer.captureSessionState().tempo())
            time.sleep(0.05)
    finally:
        if perform.poll() is None:
            perform.kill()
        osc.close()
    tempo = osc.timed("/rhythmicnet/tempo")
    print(json.dumps({"code": perform.returncode, "err": perform.stderr.read()[-2000:], "peers": peers,
                      "session": session, "tempo": [m[1][0] for _, m in tempo],
                      "session_after_set": session[set_at[0]:] if set_at else [],
                      "tempo_after_set": [m[1][0] for t, m in tempo if set_at and t > set_at[1]]}))
""")


def in_private_network(session_bpm: float, *flags: str, sets_tempo: bool = False) -> dict:
    """Run ``PEER`` in a private network namespace; with ``sets_tempo`` the peer sets the session's tempo to
    ``session_bpm`` once it sees the engine (``*_after_set``: what came after that)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is needed for a private network namespace")
    script = (PEER.replace("SESSION_BPM", repr(session_bpm)).replace("SETS_TEMPO", repr(sets_tempo))
              .replace("*FLAGS", ", ".join(map(repr, flags)) or "*()"))
    setup = "ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo"
    # No JACK here (the engine runs with --no-midi): a private JACK server from another test is unreachable
    # from inside the namespace.
    env = {k: v for k, v in os.environ.items() if not k.startswith("JACK_")}
    result = subprocess.run(["unshare", "-rn", "sh", "-c", f'{setup} && exec "$0" -c "$1"', sys.executable, script],
                            capture_output=True, text=True, timeout=240, env=env)
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip(f"no private network namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["code"] == 0, out["err"]
    return out


def test_the_dancer_leads_the_link_session_tempo():
    out = in_private_network(120.0)
    tempo, session = out["tempo"], out["session"]
    print(f"\nengine tempo {[round(t, 1) for t in tempo]}; session tempo at the end {session[-1]:.2f}")
    assert out["peers"] >= 1
    assert session[0] == pytest.approx(120.0) and len(tempo) >= 4
    # The session took the dancer's tempi: each tempo it moved to is one the engine reported over OSC. The engine
    # sets the session's tempo when it announces a beat, ahead of the beat's OSC message, so the last one or two
    # may end with the clip before their OSC message is due.
    moved_to = [s for i, s in enumerate(session) if i and s != session[i - 1]]
    reported = [s for s in moved_to if min(abs(s / t - 1) for t in tempo) < 1e-4]
    print(f"session moved {len(moved_to)} times, {len(reported)} of them to a reported tempo")
    assert len(moved_to) >= 3 and len(reported) >= len(moved_to) - 2
    assert session[-1] < 112


def test_with_the_tempo_lock_the_engine_follows_the_link_session():
    out = in_private_network(92.0, "--tempo-lock", sets_tempo=True)
    tempo, session = out["tempo_after_set"], out["session_after_set"]
    print(f"\nsession set to 92 BPM: engine tempo {[round(t, 1) for t in out['tempo']]}, "
          f"{len(tempo)} reports after the set")
    assert out["peers"] >= 1 and len(tempo) >= 4
    assert all(s == pytest.approx(92.0) for s in session)  # the engine never moved the session
    assert all(92.0 * 0.95 <= t <= 92.0 * 1.05 for t in tempo[1:])  # the dancer alone is at about 106


class FakeSession:
    """What ``captureAppSessionState`` returns: the session's tempo."""

    def __init__(self, bpm: float) -> None:
        self.bpm = bpm

    def tempo(self) -> float:
        return self.bpm


class FakeLink:
    """A Link instance whose peers and session tempo the test sets."""

    def __init__(self) -> None:
        self.peers, self.session = 0, FakeSession(120.0)

    def numPeers(self) -> int:
        return self.peers

    def captureAppSessionState(self) -> FakeSession:
        return self.session


def test_the_tempo_lock_follows_a_session_of_others_only_and_gives_the_given_tempo_back():
    """Alone, the engine's own session holds Link's default 120 BPM, which nobody chose: not followed. With a
    peer, the session's tempo is the engine's known tempo; when the peer leaves, the tempo given before returns."""
    from rhythmicnet_live.live.control import EngineControls
    from rhythmicnet_live.live.link import LinkSync

    controls = EngineControls(tempo_lock=True, bpm=100.0)
    sync = LinkSync(controls)
    sync._link = fake = FakeLink()
    sync.follow()
    assert controls.bpm == 100.0
    fake.peers, fake.session = 1, FakeSession(92.0)
    sync.follow()
    assert controls.bpm == 92.0
    fake.session = FakeSession(95.0)
    sync.follow()
    assert controls.bpm == 95.0
    fake.peers = 0
    sync.follow()
    assert controls.bpm == 100.0
    controls.set_tempo_lock(False)
    fake.peers = 1
    sync.follow()
    assert controls.bpm == 100.0
