"""Where indexes live on disk: the ``Index`` facade over a manifest, append-only segments
and a vector store."""

from rag.storage.files import sha256
from rag.storage.index import Index
from rag.storage.manifest import FORMAT_VERSION, MANIFEST, check_new_index_folder
from rag.storage.segments import Block
from rag.storage.vectors import STORES, VectorStore, make_vector_store, owned_names

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "STORES",
    "Block",
    "Index",
    "VectorStore",
    "check_new_index_folder",
    "make_vector_store",
    "owned_names",
    "sha256",
]
