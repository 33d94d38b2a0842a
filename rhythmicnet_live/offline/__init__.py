"""Offline takes: MIDI files, FluidSynth WAV, ffmpeg mux, plots, beats.json."""
