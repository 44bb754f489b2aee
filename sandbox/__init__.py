"""An embedded authorization server that implements the documented Visma Connect contract."""

from sandbox.defects import DEFECTS, Defects
from sandbox.registry import Application, Registry, User, default_registry
from sandbox.server import SandboxServer

__all__ = ["DEFECTS", "Application", "Defects", "Registry", "SandboxServer", "User", "default_registry"]
