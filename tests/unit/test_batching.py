from __future__ import annotations

from microtarget.batching import bounded_batches


def test_batches_respect_count_and_bytes_and_an_oversized_item_goes_alone() -> None:
    sizes = [40, 40, 40, 150, 10, 10, 10, 10]
    batches = list(bounded_batches(sizes, count=3, size=100, size_of=lambda n: n))
    assert batches == [[40, 40], [40], [150], [10, 10, 10], [10]]
    assert [n for batch in batches for n in batch] == sizes  # order kept, nothing lost
    assert list(bounded_batches([], 3, 100, lambda n: n)) == []
