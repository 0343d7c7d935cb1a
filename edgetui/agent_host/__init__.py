"""The agents host: runs the agents, supervises them and hands them their context.

Offers `AgentSupervisor` (each enabled agent runs as a task; a crash restarts it with
exponential backoff; status, restarts and the last error are kept), `slot_agents_dir` (the
booted slot's `agents/`, which overrides the built-in ones) and `AgentContext`, the one
object an agent plugin gets (plugins import only `edgetui.agent_host.context` and
`edgetui.models`).
"""

from edgetui.agent_host.context import AgentContext
from edgetui.agent_host.supervisor import AgentSupervisor, load_agent, slot_agents_dir

__all__ = ["AgentContext", "AgentSupervisor", "load_agent", "slot_agents_dir"]
