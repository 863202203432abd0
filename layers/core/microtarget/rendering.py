"""Message templates: Jinja2, sandboxed, HTML autoescaped, strict about undefined names.

Templates live beside the campaigns file, one folder per offer template, and are reloaded on
the same TTL (edits go live without a deploy):

    config/templates/<template>/subject.txt   e-mail subject
    config/templates/<template>/body.html     e-mail HTML (autoescaped)
    config/templates/<template>/body.txt      e-mail text part
    config/templates/<template>/push.txt      push notification text

A template that is missing, does not parse or names something the context lacks is a
PermanentError naming the file: that message goes to the dead-letter queue with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import DictLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from microtarget.errors import PermanentError

FILES = {"email": ("subject.txt", "body.html", "body.txt"), "push": ("push.txt",)}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str = ""
    html: str = ""
    text: str = ""


def environment(sources: dict[str, str]) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=DictLoader(sources),
        autoescape=lambda name: bool(name and name.endswith(".html")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(env: SandboxedEnvironment, template: str, channel: str, context: dict[str, Any]) -> Rendered:
    parts = []
    for file in FILES.get(channel, ()):
        name = f"{template}/{file}"
        try:
            parts.append(env.get_template(name).render(context).strip())
        except TemplateError as exc:
            raise PermanentError("template_error", f"{type(exc).__name__}: {exc}", name) from None
    if channel == "email":
        subject, html, text = parts
        return Rendered(" ".join(subject.split()), html, text)
    return Rendered(text=parts[0] if parts else "")
