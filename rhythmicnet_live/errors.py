"""Errors the CLI turns into one clear line and a non-zero exit instead of a traceback."""


class UserInputError(Exception):
    """Bad input from the user: a missing file, an unreadable video, an absent camera, a bad option."""


class ModelManifestError(Exception):
    """A shipped model is missing or does not match its manifest entry (sha256, inputs, outputs)."""
