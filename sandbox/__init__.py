"""An embedded authorization server that implements the documented Visma Connect contract."""

from .defects import DEFECTS, Defects
from .registry import Application, Registry, User, default_registry
from .server import SandboxServer

__all__ = ["DEFECTS", "Application", "Defects", "Registry", "SandboxServer", "User", "default_registry"]
