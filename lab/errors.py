"""The lab's error hierarchy. Every message says what to do next; pages show it with st.error."""


class LabError(Exception):
    """Base class: an expected failure with a message meant for the user."""


class InputError(LabError):
    """The user's input (file, question set, setting) is invalid."""


class NotFoundError(LabError):
    """A collection, model, adapter or run does not exist."""


class ModelError(LabError):
    """A model could not be loaded or run."""


class StoreError(LabError):
    """The vector store could not be reached or refused an operation."""


class DamagedStore(StoreError):
    """A file the lab keeps (the run store, the Chroma database) is damaged; the message says which and what to do."""

    def __init__(self, message: str, path=None, restorable: bool = False):
        super().__init__(message)
        self.path, self.restorable = path, restorable


class PathUnavailable(LabError):
    """A comparison path cannot run with what is loaded (no index, no adapter)."""
