"""Thin probe and action modules that Chaos Toolkit experiments call; the logic lives in ``zerospof``."""
