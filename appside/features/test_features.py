"""Collects the application-side features; the steps are in appside/steps/."""

from pytest_bdd import scenarios

scenarios(".")
