"""Analysis: beat activation (model or kinematic baseline), the beat-pointer HMM, the style stream, the rhythm on a 16th grid."""
