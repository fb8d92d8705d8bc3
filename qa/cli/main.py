"""The `qa` command.

Each command's module is imported only when that command runs: `qa --help` lists them from the
table below without importing any (the scoring, learning and web stacks take seconds to load),
and `qa score` loads the scoring engine but not scikit-learn or Flask. A test checks that the
table's summaries are the commands' own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

import click

from qa.config import load_config
from qa.errors import QAError

# name: (module, attribute, the command's one-line summary)
LAZY_COMMANDS = {
    "transcribe": ("qa.cli.batch", "transcribe", "Transcribe recordings into agent and customer turns."),
    "score": ("qa.cli.scoring", "score",
              "Score transcripts (JSON from `qa transcribe --format json`) against the checklists."),
    "process": ("qa.cli.scoring", "process",
                "Transcribe recordings and score them: the whole job for a batch of calls."),
    "checklist": ("qa.cli.scoring", "checklist", "Check and list checklists (see docs/checklists.md)."),
    "db": ("qa.cli.db", "db", "Create or update the database schema."),
    "users": ("qa.cli.db", "users", "Add web users, list them, change their passwords."),
    "ingest": ("qa.cli.work", "ingest",
               "Store recordings and queue them for `qa worker`; one line per file, then a summary."),
    "worker": ("qa.cli.work", "worker",
               "Process queued calls: transcribe, score and store each; one line per call."),
    "rescore": ("qa.cli.work", "rescore",
                "Score stored transcripts again with the current checklists, without transcribing again."),
    "retry": ("qa.cli.work", "retry",
              "Queue failed calls for processing again (after fixing what made them fail)."),
    "serve": ("qa.cli.serve", "serve",
              "Serve the web app: bring the database schema up to date, start a background worker, serve."),
    "tally": ("qa.cli.tally", "tally",
              "The month's tally from confirmed calls and recorded events, as it stands now."),
    "rank": ("qa.cli.tally", "rank", "The month's ranking; with --publish, freeze it as a new version."),
    "export": ("qa.cli.tally", "export",
               "Write the month's tally for payroll: XLSX (月度汇总, 奖惩明细, 班组汇总, 说明) or CSV."),
    "entry": ("qa.cli.tally", "entry_group",
              "Record events (named praise, complaints ...) and adjustments for an agent's month."),
    "policy": ("qa.cli.tally", "policy_group",
               "Check the reward-and-penalty policy (see docs/users.md, \"Monthly tally\")."),
    "agreement": ("qa.cli.learn", "agreement",
                  "Per checklist item, how often inspectors kept the automatic verdict in the month's confirmed "
                  "calls: agreement, and precision / recall of automatic \"fail\" against their final verdicts."),
    "learn": ("qa.cli.learn", "learn",
              "Models that learn from inspectors' verdicts: they order the queue and flag calls where they "
              "disagree with the rules, and suggest phrases for the checklists."),
    "report": ("qa.cli.report", "report", "QA reports."),
    "models": ("qa.cli.models", "models", "Install, verify and list model files (see models/manifest.yaml)."),
    "demo": ("qa.cli.demo", "demo",
             "The whole product on the bundled sample calls: database, processing, users, review UI."),
}


class LazyGroup(click.Group):
    """A group whose commands in LAZY_COMMANDS are imported when first asked for by name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; any error of the product's that reaches here ends it with its message
        (exit code 1), the one place the command line turns them into words."""
        try:
            return super().invoke(ctx)
        except QAError as exc:
            raise click.ClickException(str(exc)) from exc

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table's summaries, importing nothing."""
        rows = [(name, LAZY_COMMANDS[name][2] if name in LAZY_COMMANDS else self.commands[name].get_short_help_str(limit=1000))
                for name in self.list_commands(ctx)]
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, _short_help(text, limit)) for name, text in rows])


def _short_help(text: str, limit: int) -> str:
    """Click's own shortening of a help text. Newer releases of click deprecate the public name (a
    module `__getattr__` typed as returning `object`), hence the cast."""
    shorten = cast("Callable[[str, int], str]", click.utils.make_default_short_help)
    return shorten(text, limit)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="QA_CONFIG",
              help="YAML settings file (default: ./qa.yaml if present).")
@click.version_option(package_name="qa-callcentre")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """客服通话质检 — call-centre quality assurance: transcribe, diarize and score recorded calls."""
    ctx.obj = load_config(config_path)
