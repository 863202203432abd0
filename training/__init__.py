"""microtarget training: learn models from the same events and aggregation serving uses."""
