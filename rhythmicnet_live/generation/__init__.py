"""Generation: Rhythm2Drum (drums from a rhythm) and Drum2Music (piano over the drums), one bar at a time."""
