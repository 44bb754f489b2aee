"""Collects every .feature file in this folder as pytest scenarios; the steps are in steps/."""

from pytest_bdd import scenarios

scenarios(".")
