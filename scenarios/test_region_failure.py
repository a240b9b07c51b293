"""The region-failure scenario as a gate: one test per objective of objectives.yaml and per experiment condition."""

from scenarios.gate import ScenarioGate


class TestRegionFailure(ScenarioGate):
    SCENARIO = "region-failure"
