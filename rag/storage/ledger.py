"""The index folder's bookkeeping: which manifest generation this process read, the next
segment name, the files the manifest on disk names, and the one way to commit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import InputError
from rag.storage import manifest as mf
from rag.storage.postings import postings_file, write_postings
from rag.storage.segments import Block, write_segment
from rag.storage.vectors import store_file
from rag.terms import stack_rows

if TYPE_CHECKING:
    from rag.storage.index import Index


class Ledger:
    """What is on disk for one index, as this process last read or wrote it."""

    def __init__(self, path: Path, store_record: dict[str, Any] | None = None):
        self.path = path
        self.generation = 0
        self.next_segment = 1
        self.store_record = store_record
        self.stale_store = False  # rows renumbered by a removal: rewrite the store's files
        self.on_disk: set[str] = set()  # every file the manifest on disk names
        self.postings_record: dict[str, Any] | None = None  # BM25's saved counts

    def follow(self, manifest: dict[str, Any]) -> None:
        """Take a manifest read from disk (or found there, for ``--rebuild``) as the state."""
        following = manifest.get("next_segment")
        self.generation = mf.generation_of(manifest)
        self.next_segment = following if isinstance(following, int) else 1
        self.on_disk = mf.referenced_files(manifest)
        postings = manifest.get("postings")
        self.postings_record = postings if isinstance(postings, dict) else None

    def commit(self, index: Index, persist_store: bool) -> None:
        """Write the index's unsaved segments and switch the manifest to them, in one rename.

        Before writing, a journal names every file this commit may create; afterwards only
        files that the previous manifest or a journal named, and the new manifest does not,
        are deleted. Nothing else in the folder is ever touched.
        """
        mf.check_new_index_folder(self.path, index.vectors.files())
        written: list[Path] = []
        with mf.commit_lock(self.path):
            try:
                mf.check_generation(self.path, self.generation)
                leftovers = mf.journal_names(self.path)
                unsaved = [b for b in index.blocks if b.name is None]
                names = [f"seg-{self.next_segment + i:06d}" for i in range(len(unsaved))]
                tag = f"g{self.generation + 1:06d}"
                planned = {f"{n}.{p}" for n in names for p in (*mf.PARTS, mf.RECORD)}
                planned |= {store_file(tag), postings_file(tag)}
                mf.write_journal(self.path, leftovers | planned)
                self._write_segments(index, unsaved, names, written)
                if persist_store or self.stale_store or self.postings_record is None:
                    # All rows' counts by term, ready for readers (a batch committed later
                    # is stacked by them from its segment until the next save).
                    counts = stack_rows(
                        [b.term_counts(self.path) for b in index.blocks], len(index.vocabulary)
                    )
                    self.postings_record = write_postings(self.path, tag, counts, written)
                if persist_store or self.stale_store or self.store_record is None:
                    self.store_record = index.vectors.persist(self.path, tag)
                manifest = self._manifest(index)
                mf.write_manifest(self.path, manifest)
                written.clear()
                self.generation += 1
                self.stale_store = False
                now = mf.referenced_files(manifest)
                mf.delete(self.path, (self.on_disk | leftovers | planned) - now)
                self.on_disk = now
                mf.clear_journal(self.path)
            except OSError as exc:
                for path in written:
                    path.unlink(missing_ok=True)
                for block in index.blocks:
                    if block.name and not (self.path / f"{block.name}.{mf.PARTS[0]}").exists():
                        block.name = None
                raise InputError(
                    f"Could not write the index at {self.path} ({exc.strerror or exc}); "
                    "everything saved before this batch is intact."
                ) from None

    def _write_segments(
        self, index: Index, unsaved: list[Block], names: list[str], written: list[Path]
    ) -> None:
        terms_before, total = {}, 0
        for block in index.blocks:
            terms_before[id(block)] = total
            total += len(block.new_terms)
        for block, name in zip(unsaved, names, strict=True):
            self.next_segment = int(name[4:]) + 1
            block.added = block.added or time.strftime("%Y-%m-%dT%H:%M:%S%z")
            record = {
                "format_version": mf.FORMAT_VERSION,
                "embedding_model": index.model,
                "dimension": index.dimension,
                "chunking": index.chunking,
                "store": index.vectors.kind,
                "terms_before": terms_before[id(block)],
                "new_terms": len(block.new_terms),
                "replaces": list(block.replaces),
                "incomplete": dict(index.incomplete),
            }
            write_segment(self.path, block, name, written, record)

    def _manifest(self, index: Index) -> dict[str, Any]:
        return {
            "format_version": mf.FORMAT_VERSION,
            "embedding_model": index.model,
            "dimension": index.dimension,
            "normalized": True,
            "metric": "inner_product",
            "chunking": index.chunking,
            "store": self.store_record,
            "postings": self.postings_record,
            "counts": {
                "documents": len(index.documents),
                "chunks": len(index.chunks),
                "segments": len(index.blocks),
            },
            "segments": [
                {
                    "name": b.name,
                    "documents": len(b.documents),
                    "chunks": len(b.chunks),
                    "checksums": b.checksums,
                    "added": b.added,
                }
                for b in index.blocks
            ],
            "incomplete": dict(index.incomplete),
            "generation": self.generation + 1,
            "next_segment": self.next_segment,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
