"""Reusable conformance suites: every plug-in of a kind passes the same tests.

They need pytest, which is a development dependency.
"""
