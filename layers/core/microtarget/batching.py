"""Consecutive batches within a service's count and total-size limits (SQS, PutRecords, Invoke)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


def bounded_batches[T](items: Iterable[T], count: int, size: int, size_of: Callable[[T], int]) -> Iterator[list[T]]:
    """At most `count` items and `size` bytes each (an item larger than `size` goes alone)."""
    batch: list[T] = []
    total = 0
    for item in items:
        length = size_of(item)
        if batch and (len(batch) == count or total + length > size):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += length
    if batch:
        yield batch
