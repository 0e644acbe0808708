"""What every command line of the project shares: ``--version`` from the installed distribution's metadata, and
the environment variables of a settings class listed in ``--help``."""

from __future__ import annotations

import argparse
import re
import textwrap
from importlib.metadata import version
from types import UnionType
from typing import Final, TypeAlias, Union, get_args, get_origin

from pydantic import SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
DISTRIBUTION: Final = "workforce-metrics"
SECRET: Final = "(secret)"
_WIDTH: Final = 100
_MODULE_PATH: Final = re.compile(r"\b(?:[a-z_][a-z0-9_]*\.)+([A-Za-z_]\w*)")


def package_version() -> str:
    """The installed version of the project (``[project] version`` in pyproject.toml)."""
    return version(DISTRIBUTION)


def add_version(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give ``parser`` a ``--version`` option printing ``<prog> <version>`` and exiting 0."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return parser


def add_settings_help(parser: argparse.ArgumentParser, settings: type[BaseSettings]) -> argparse.ArgumentParser:
    """End ``parser``'s ``--help`` with every field of ``settings`` (see `settings_help`); reads no environment."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = settings_help(settings)
    return parser


def add_command(commands: Commands, name: str, summary: str, settings: type[BaseSettings]) -> argparse.ArgumentParser:
    """A sub-command whose ``--help`` opens with ``summary`` and ends with the fields of ``settings``."""
    return add_settings_help(commands.add_parser(name, help=summary, description=summary), settings)


def settings_help(settings: type[BaseSettings]) -> str:
    """One entry per field of ``settings``: environment variable, type, default and description.

    Derived from the class alone, never from an instance or the environment; a secret's default is shown as
    ``(secret)``, never its value.
    """
    prefix = str(settings.model_config.get("env_prefix", ""))
    entries = [_entry(prefix + name, field) for name, field in settings.model_fields.items()]
    return "environment variables (case-insensitive):\n" + "\n".join(entries)


def _entry(env: str, field: FieldInfo) -> str:
    head = f"  {env.upper()}  {type_name(field.annotation)}, {_default(field)}"
    body = textwrap.fill(field.description or "", _WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return f"{head}\n{body}" if body else head


def _default(field: FieldInfo) -> str:
    if _is_secret(field.annotation):
        return f"required {SECRET}" if field.is_required() else f"default {SECRET}"
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True, validated_data={})
    if value is None:
        return "default unset"
    return f"default {value}" if value != "" else 'default ""'


def _is_secret(annotation: object) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, SecretStr | SecretBytes)
    return get_origin(annotation) in (Union, UnionType) and any(_is_secret(arg) for arg in get_args(annotation))


def type_name(annotation: object) -> str:
    """``int``, ``str | None``, ``Literal['json', 'text']``: the annotation without module paths."""
    if isinstance(annotation, type):
        return annotation.__name__
    return _MODULE_PATH.sub(r"\1", str(annotation))
