"""The documents behind the vectors: ids, texts, metadata and chunk positions,
stored by slot (the number the C++ index knows them by). Freed slots are reused,
so a churning index does not grow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


class RecordStore:
    """Slots <-> ids <-> records. Not thread-safe by itself: the Index locks around it."""

    def __init__(self) -> None:
        self.records: list[Record | None] = []
        self.slot_of: dict[str, int] = {}
        self.free: list[int] = []
        self.version = 0  # bumped on every change (invalidates filter caches)

    def __len__(self) -> int:
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
        for slot, record in items:
            if not 0 <= slot < slot_count or self.records[slot] is not None or record.id in self.slot_of:
                raise ValueError(f"saved records are inconsistent at slot {slot} (id {record.id!r})")
            self.records[slot] = record
            self.slot_of[record.id] = slot
        self.free = [s for s in range(slot_count - 1, -1, -1) if self.records[s] is None]
        self.version += 1
