"""Live: the performance engine, note scheduler and sender process, MIDI/OSC outputs, OSC control, journal."""
