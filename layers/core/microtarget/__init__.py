"""microtarget: real-time micro-targeted personalization on AWS (the core layer)."""

__version__ = "0.1.0"
