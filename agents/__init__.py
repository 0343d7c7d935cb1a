"""Built-in agents. Each module defines `async def run(ctx: AgentContext) -> None`; an OTA
slot's `agents/<name>.py` replaces the module of the same name. Agents import only
`edgetui.models` and `edgetui.agent_host.context`."""
