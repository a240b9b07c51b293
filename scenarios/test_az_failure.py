"""The az-failure scenario as a gate: one test per objective of objectives.yaml and per experiment condition."""

from scenarios.gate import ScenarioGate


class TestAzFailure(ScenarioGate):
    SCENARIO = "az-failure"
