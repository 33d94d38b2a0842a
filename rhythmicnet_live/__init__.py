"""rhythmicnet_live: a body-to-music companion server for DAWs (RhythmicNet as a live instrument).

The runtime imports onnxruntime, never torch. The PyTorch side (training, export, evaluation) lives in
the top-level ``export/`` folder.
"""

__version__ = "0.1.0"

#: The one internal frame rate (frames per second) that keypoints, activations and the HMM run at.
FPS = 30.0
