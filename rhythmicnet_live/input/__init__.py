"""Input: frame sources (video files, cameras), MediaPipe pose -> COCO-17, keypoint preparation (30 fps, normalised)."""
