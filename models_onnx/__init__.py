"""The shipped ONNX models and their manifest (installed as ``rhythmicnet_live.models_onnx``)."""
