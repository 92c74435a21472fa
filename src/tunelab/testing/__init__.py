"""Conformance suites that every plug-in of a kind passes (samplers, ...).

Import the suites from their modules, e.g. `tunelab.testing.sampler_conformance`
or `tunelab.testing.storage_conformance`;
this package imports nothing itself, so `import tunelab` stays light.
"""
