"""The console's command verbs (`:` command mode), in one table that the help, the completion, the
command palette and the command line all read.

A verb is typed whole, by an alias (`:inc 2`, `:rb delay`, `:q`) or by any prefix that names one
verb only (`:al` is alerts); a prefix that fits several says which (`:a` could be alerts, approvals
or audit). A model name may be shortened the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from textual.suggester import Suggester

from appliance.errors import VigilError

if TYPE_CHECKING:
    from tui.app import VigilApp

SCREENS = ("overview", "alerts", "approvals", "jobs", "audit", "sql", "reports")


class CommandError(VigilError):
    """A command line that names no verb, several, or lacks (or has a stray) argument."""


@dataclass(frozen=True, slots=True)
class Verb:
    name: str
    summary: str
    run: Callable[["VigilApp", str], None]
    argument: str = ""  # "NAME": a model; "ID": an incident; "REQUEST": a logged request id
    aliases: tuple[str, ...] = ()

    @property
    def usage(self) -> str:
        return f"{self.name} {self.argument}".strip()


def _screen(name: str) -> Verb:
    return Verb(name, f"the {name} screen", lambda app, _: app.go(name), aliases=(str(SCREENS.index(name) + 1),))


def _incident(app: "VigilApp", text: str) -> None:
    app.open_incident(int(text))


VERBS: tuple[Verb, ...] = (
    *(_screen(name) for name in SCREENS),
    Verb("model", "a model's versions, lineage and evidence", lambda app, m: app.open_model(m), "NAME"),
    Verb("drift", "a model's drift per feature and segment", lambda app, m: app.open_drift(m), "NAME"),
    Verb("rollback", "roll a model's champion back (asks first)", lambda app, m: app.start_rollback(app.screen, m),
         "NAME", ("rb",)),
    Verb("incident", "an incident's timeline, alerts, drift and deployments", _incident, "ID", ("inc",)),
    Verb("request", "one logged request: who answered, with what, and why", lambda app, r: app.show_request(r),
         "REQUEST", ("req",)),
    Verb("help", "every key and command", lambda app, _: app.action_help(), aliases=("?",)),
    Verb("quit", "leave the console", lambda app, _: app.exit(), aliases=("q",)),
)


def resolve(word: str) -> Verb:
    """The verb `word` names: a name or alias exactly, else the one verb it is a prefix of."""
    word = word.lower().lstrip(":")
    exact = [v for v in VERBS if word == v.name or word in v.aliases]
    if exact:
        return exact[0]
    found = [v for v in VERBS if v.name.startswith(word)] if word else []
    if len(found) == 1:
        return found[0]
    if found:
        raise CommandError(f"':{word}' could be {', '.join(v.name for v in found)}; type more of it")
    raise CommandError(f"unknown command ':{word}'; press ? for the list")


def resolve_model(text: str, names: Sequence[str]) -> str:
    """The model `text` names: exactly, else the one model whose name starts with it."""
    if text in names:
        return text
    found = [n for n in names if n.startswith(text)]
    if len(found) == 1:
        return found[0]
    if found:
        raise CommandError(f"'{text}' could be the model {', '.join(found)}; type more of it")
    raise CommandError(f"no model '{text}'; models: {', '.join(names) or 'none'}")


def parse(text: str, model_names: Sequence[str]) -> tuple[Verb, str]:
    """A command line split into its verb and checked argument (a model name completed)."""
    word, _, rest = text.strip().lstrip(":").strip().partition(" ")
    verb, rest = resolve(word), rest.strip()
    if not verb.argument:
        if rest:
            raise CommandError(f"':{verb.name}' takes nothing after it")
        return verb, ""
    if not rest:
        raise CommandError(f"':{verb.name}' needs a {verb.argument}: ':{verb.usage}'")
    if verb.argument == "NAME":
        return verb, resolve_model(rest, model_names)
    if verb.argument == "ID" and not rest.isdigit():
        raise CommandError(f"':{verb.name}' needs a number, not '{rest}'")
    return verb, rest


def hint(text: str, model_names: Sequence[str]) -> str:
    """What the command line would do as typed so far (shown under it while typing)."""
    bare = text.strip().lstrip(":")
    if not bare:
        return "  ".join(v.usage for v in VERBS if v.name not in SCREENS) + "  or a screen: " + " ".join(SCREENS)
    try:
        verb, argument = parse(bare, model_names)
    except CommandError as e:
        if " " in bare:
            return str(e)
        try:
            verb = resolve(bare)
        except CommandError as unknown:
            return str(unknown)
        return f"{verb.usage}: {verb.summary}"
    return f"enter: {verb.name} {argument}".rstrip() + f" ({verb.summary})"


class CommandSuggester(Suggester):
    """Completes a verb, then a model name or an incident id, as the command line is typed; `tab`
    (or right arrow) takes the suggestion."""

    def __init__(self, model_names: Callable[[], Sequence[str]], incident_ids: Callable[[], Sequence[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.model_names, self.incident_ids = model_names, incident_ids

    async def get_suggestion(self, value: str) -> str | None:
        return suggest(value, self.model_names(), self.incident_ids())


def suggest(value: str, model_names: Sequence[str], incident_ids: Sequence[str]) -> str | None:
    """`value` completed: its verb while no space is typed, else the verb's argument."""
    word, space, rest = value.partition(" ")
    if not space:
        bare = word.lstrip(":").lower()
        found = next((v.name for v in VERBS if bare and v.name.startswith(bare) and v.name != bare), None)
        return None if found is None else value + found[len(bare):]
    try:
        verb = resolve(word)
    except CommandError:
        return None
    choices = {"NAME": model_names, "ID": incident_ids}.get(verb.argument, ())
    typed = rest.lstrip()
    found = next((c for c in choices if c.startswith(typed) and c != typed), None)
    return None if found is None else value + found[len(typed):]
