"""The Chaos Toolkit layer: scenario settings, actions/probes, and the measurement control."""
