"""Rhythm2Drum: Groove MIDI data, the hit transformer and U-Net, training, ONNX export, evaluation."""
