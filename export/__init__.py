"""The PyTorch side of rhythmicnet_live: datasets, models, training, ONNX export, evaluation."""
