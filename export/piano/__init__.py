"""Drum2Music: multitrack MIDI data, the REMI piano transformer, training, ONNX export, evaluation."""
