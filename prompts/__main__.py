"""Write the Claude Code plugin's commands (commands/*.md in the current directory) from the
packaged prompts: `python -m prompts` at the top of the repository."""

from pathlib import Path

from prompts import COMMANDS, plugin_command

if __name__ == "__main__":
    for name in COMMANDS:
        Path("commands", f"{name}.md").write_text(plugin_command(name), encoding="utf-8")
