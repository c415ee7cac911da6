"""The documents behind the vectors: ids, texts, metadata and chunk positions,
stored by slot (the number the C++ index knows them by). Freed slots are reused,
so a churning index does not grow."""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(slots=True)
class Record:
    """One stored document."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    start: int | None = None
    end: int | None = None
    line_start: int | None = None
    line_end: int | None = None

    def to_json(self, slot: int) -> dict[str, Any]:
        out: dict[str, Any] = {"slot": slot, "id": self.id, "text": self.text, "metadata": self.metadata}
        if self.source is not None:
            out["source"] = self.source
        if self.start is not None:
            out.update(start=self.start, end=self.end, line_start=self.line_start, line_end=self.line_end)
        return out

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> tuple[int, Record]:
        """A saved record, every field checked (ValueError naming the field otherwise)."""
        if not isinstance(item, dict):
            raise ValueError("a record must be a JSON object")
        slot = item.get("slot")
        if isinstance(slot, bool) or not isinstance(slot, int) or slot < 0:
            raise ValueError(f"slot must be an int >= 0, got {slot!r}")
        for key in ("id", "text"):
            if not isinstance(item.get(key), str):
                raise ValueError(f"{key} must be a string, got {item.get(key)!r}")
        metadata = item.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError(f"metadata must be an object, got {metadata!r}")
        if item.get("source") is not None and not isinstance(item["source"], str):
            raise ValueError(f"source must be a string, got {item['source']!r}")
        positions = [item.get(k) for k in ("start", "end", "line_start", "line_end")]
        if any(p is not None for p in positions) and not all(
                isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in positions):
            raise ValueError(f"start/end/line_start/line_end must be ints >= 0, got {positions!r}")
        return slot, cls(item["id"], item["text"], metadata, item.get("source"), *positions)


class SavedRecords:
    """A saved ``records.jsonl``, mapped, with each record parsed the first time its slot
    is read (an index opened with ``mmap=True`` parses only the records its hits show).
    List-like by slot: ``records[slot]`` is the Record or None; assignments and appends
    are kept in memory, the file is never written.

    ``positions`` is the saved index of the file: one (slot, byte offset) row per line.
    A line that is damaged raises ValueError naming the slot and the file when it is read.
    """

    def __init__(self, path: Path, slot_count: int, positions: np.ndarray) -> None:
        self.path = path
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        positions = np.asarray(positions)
        if (positions.ndim != 2 or positions.shape[1] != 2 or positions.dtype.kind not in "iu" or len(positions)
                and (positions[:, 0].min() < 0 or positions[:, 0].max() >= slot_count
                     or positions[:, 1].min() < 0 or positions[:, 1].max() >= max(size, 1))):
            raise ValueError(f"{path.with_name(POSITIONS_FILE)} does not index {path} (damaged index)")
        self._offset = np.full(slot_count, -1, dtype=np.int64)
        self._offset[positions[:, 0]] = positions[:, 1]
        if np.count_nonzero(self._offset >= 0) != len(positions):
            raise ValueError(f"{path.with_name(POSITIONS_FILE)} lists a slot twice (damaged index)")
        self.live = len(positions)
        self._read: dict[int, Record | None] = {}
        self._appended: list[Record | None] = []

    def __len__(self) -> int:
        return len(self._offset) + len(self._appended)

    def __getitem__(self, slot: int) -> Record | None:
        if slot >= len(self._offset):
            return self._appended[slot - len(self._offset)]
        if slot in self._read:
            return self._read[slot]
        offset = int(self._offset[slot])
        record = None
        if offset >= 0:
            end = self._map.find(b"\n", offset)
            line = self._map[offset:end if end >= 0 else len(self._map)]
            try:
                saved, record = Record.from_json(json.loads(line))
                if saved != slot:
                    raise ValueError(f"the line holds slot {saved}")
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{self.path} is corrupted at the record of slot {slot} ({error}); "
                                 f"Index.verify() checks every file, and loading without mmap=True reads "
                                 f"them all at once") from None
        self._read[slot] = record
        return record

    def __setitem__(self, slot: int, record: Record | None) -> None:
        if slot >= len(self._offset):
            self._appended[slot - len(self._offset)] = record
        else:
            self._read[slot] = record

    def append(self, record: Record | None) -> None:
        self._appended.append(record)

    def __iter__(self) -> Iterator[Record | None]:
        return (self[slot] for slot in range(len(self)))

    def held(self) -> list[Any]:
        """What this holds in memory: the records read so far and the line offsets."""
        return [self._read, self._offset, self._appended]


POSITIONS_FILE = "records.idx.npy"


def record_positions(lines: list[bytes], slots: list[int]) -> np.ndarray:
    """(slot, byte offset) for each line of a records file written as lines joined by newlines."""
    lengths = np.fromiter((len(line) + 1 for line in lines), dtype=np.int64, count=len(lines))
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lines) else np.zeros(0, np.int64)
    return np.stack([np.asarray(slots, dtype=np.int64), offsets], axis=1)


class RecordStore:
    """Slots <-> ids <-> records. Not thread-safe by itself: the Index locks around it.

    After :meth:`restore_saved` the records are a :class:`SavedRecords` read on demand,
    and the id map and free list are built the first time something needs them (an add,
    a delete, a lookup by id, a metadata filter)."""

    def __init__(self) -> None:
        self.records: list[Record | None] | SavedRecords = []
        self._slot_of: dict[str, int] | None = {}
        self._free: list[int] | None = []
        self.version = 0  # bumped on every change (invalidates filter caches)

    @property
    def slot_of(self) -> dict[str, int]:
        if self._slot_of is None:
            self._index_saved()
        return self._slot_of  # type: ignore[return-value]

    @property
    def free(self) -> list[int]:
        if self._free is None:
            self._index_saved()
        return self._free  # type: ignore[return-value]

    def held(self) -> list[Any]:
        """The objects this store holds in memory now (a mapped store: only what was read)."""
        records = self.records.held() if isinstance(self.records, SavedRecords) else [self.records]
        return records + [self._slot_of, self._free]

    def _index_saved(self) -> None:
        slot_of: dict[str, int] = {}
        for slot, record in enumerate(self.records):
            if record is not None:
                if record.id in slot_of:
                    raise ValueError(f"saved records are inconsistent at slot {slot} (id {record.id!r} twice)")
                slot_of[record.id] = slot
        self._slot_of = slot_of
        self._free = [s for s in range(len(self.records) - 1, -1, -1) if self.records[s] is None]

    def __len__(self) -> int:
        if self._slot_of is None and isinstance(self.records, SavedRecords):
            return self.records.live
        return len(self.slot_of)

    def assign(self, ids: list[str]) -> list[int]:
        """Slots for these ids: the existing slot for an id already stored (overwrite),
        else a freed slot, else a new one."""
        slots = []
        for id_ in ids:
            slot = self.slot_of.get(id_)
            if slot is None:
                slot = self.free.pop() if self.free else len(self.records)
                if slot == len(self.records):
                    self.records.append(None)
                self.slot_of[id_] = slot
            slots.append(slot)
        return slots

    def checkpoint(self) -> tuple[int, list[int]]:
        """What assign() changes, to be put back by undo_assign() when the store that follows fails."""
        return len(self.records), list(self.free)

    def undo_assign(self, new_ids: list[str], checkpoint: tuple[int, list[int]]) -> None:
        """Forget ids assign() gave new slots to, and the slots: the store is as before assign()."""
        length, free = checkpoint
        for id_ in new_ids:
            self.slot_of.pop(id_, None)
        if isinstance(self.records, SavedRecords):
            del self.records._appended[max(0, length - len(self.records._offset)):]
        else:
            del self.records[length:]
        self._free = free

    def store(self, slot: int, record: Record) -> None:
        self.records[slot] = record
        self.version += 1

    def remove(self, ids: list[str]) -> list[int]:
        """Free the slots of these ids (unknown ids are ignored); returns the freed slots."""
        freed = []
        for id_ in ids:
            slot = self.slot_of.pop(id_, None)
            if slot is not None:
                self.records[slot] = None
                self.free.append(slot)
                freed.append(slot)
        self.version += 1
        return freed

    def metadatas(self) -> list[dict[str, Any] | None]:
        return [r.metadata if r is not None else None for r in self.records]

    def restore(self, slot_count: int, items: list[tuple[int, Record]]) -> None:
        """Rebuild from saved records (slots as saved)."""
        self.records = [None] * slot_count
        self._slot_of = {}
        for slot, record in items:
            if not 0 <= slot < slot_count or self.records[slot] is not None or record.id in self.slot_of:
                raise ValueError(f"saved records are inconsistent at slot {slot} (id {record.id!r})")
            self.records[slot] = record
            self.slot_of[record.id] = slot
        self._free = [s for s in range(slot_count - 1, -1, -1) if self.records[s] is None]
        self.version += 1

    def restore_saved(self, saved: SavedRecords) -> None:
        """Read records from a saved file on demand (see SavedRecords)."""
        self.records = saved
        self._slot_of = self._free = None
        self.version += 1
