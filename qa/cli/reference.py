"""The command reference (docs/cli.md), made from the commands' own --help, so that it cannot
drift from them: `python -m qa.cli.reference > docs/cli.md`, and a test checks it is current."""

from __future__ import annotations

import click

from qa.cli.main import main

WIDTH = 100  # help text wrapped as on a 100-column terminal, whatever terminal writes the file


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[click.Context, click.Command]]:
    """Every command below the group, depth first in the order --help lists them."""
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx, terminal_width=WIDTH, max_content_width=WIDTH)
        found.append((sub, command))
        if isinstance(command, click.Group):
            found += _commands(command, sub)
    return found


def reference() -> str:
    """docs/cli.md: `qa --help`, then each command's --help under its full name."""
    # main's own context settings (-h as well as --help), which `qa` gets when it runs
    top = click.Context(main, info_name="qa", terminal_width=WIDTH, max_content_width=WIDTH, **main.context_settings)
    parts = ["# Command reference\n",
             "Generated from each command's `--help` by `python -m qa.cli.reference` (do not edit by hand).\n",
             f"## qa\n\n```\n{main.get_help(top)}\n```\n"]
    for ctx, command in _commands(main, top):
        parts.append(f"## {ctx.command_path}\n\n```\n{command.get_help(ctx)}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
