"""Errors a user can cause: each carries one sentence that says what to do."""

from __future__ import annotations


class RagError(Exception):
    """Base of every error the CLI and the app show to a user as one sentence."""


class InputError(RagError):
    """A question, path, option or file that cannot be used as given."""


class NoDocumentsError(InputError):
    """The given paths hold nothing that can be ingested."""


class NoMatchError(InputError):
    """Filters that no statement in the index matches."""


class ChangedElsewhereError(InputError):
    """Another process committed to the index while this one was writing to it."""


class IndexNotFoundError(RagError):
    """There is no index at the given folder."""


class IndexCorruptError(RagError):
    """An index folder exists but its files are damaged or unreadable."""


class ModelMismatchError(RagError):
    """The index was built with another embedding model than the one asked for."""


class StoreUnavailableError(RagError):
    """A store server that cannot be reached, refuses the credentials, or is held elsewhere."""


class ModelLoadError(RagError):
    """An embedding or generation model could not be loaded."""
