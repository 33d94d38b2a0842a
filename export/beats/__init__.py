"""Video2Rhythm: AIST++ data, the beat model, training, ONNX export, evaluation."""
