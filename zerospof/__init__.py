"""zerospof: prove, by injecting real faults and measuring, that a platform has no single point of failure."""

__version__ = "0.1.0"
