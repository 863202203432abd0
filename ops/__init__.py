"""Operator commands for a deployed stack (and the local one): `python -m ops --help`."""
