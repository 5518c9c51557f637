"""The objects each policy action is asked about, and which patterns match them.

:data:`SHAPES` writes, per action, the objects that can exist (Kubernetes names,
group/Kind, URLs with a scheme) in the policy's own glob language; otherwise
loose on purpose (a URL's host and path may be anything): a looser shape can
only make the line checker say less, never something wrong. :func:`covers` and
:func:`object_example` answer the checker's questions by an automaton search.
"""

from __future__ import annotations

import functools
import re

from landlord.policy import patterns
from landlord.policy.automata import Spec, example, prefix
from landlord.policy.rules import ACTIONS


def _literal_steps(text: str) -> Spec:
    return tuple((re.escape(c), False) for c in text)


def _some(one: str) -> Spec:
    return ((one, False), (one, True))


# The objects each action is asked about, as the steps of a glob.
_NAME = _some("[a-z0-9.-]")
_REF = _NAME + _literal_steps("/") + _NAME
_URL = (("[a-zA-Z]", False), ("[a-zA-Z0-9+.-]", True), *_literal_steps("://"), (".", True))
_KIND = _some("[a-z0-9.-]") + _literal_steps("/") + _some("[A-Za-z0-9]")
SHAPES: dict[str, tuple[Spec, ...]] = {
    "depend": (_REF,),
    "source": (_URL, _REF),
    "apply": (_KIND,),
    "target": (_literal_steps("clusters/") + _NAME,),
    "push": (_URL,),
    **{
        action: (_literal_steps("tenants/") + _NAME,)
        for action in ACTIONS
        if action.startswith("api:")
    },
    "api:list": (_literal_steps("tenants"),),
}
EXAMPLES: dict[str, str] = {
    "depend": "a namespace/name such as team-b/shared-db",
    "source": "a Git URL such as https://git.example.com/team-a/app.git, "
    "or a namespace/name such as team-b/charts",
    "apply": "a group/Kind such as apps/Deployment or core/ConfigMap",
    "target": "clusters/<name> such as clusters/staging",
    "push": "a Git URL such as https://git.example.com/team-a/app.git",
    "api": "tenants/<name> (tenants for api:list)",
}
# The pattern that matches every object of an enforcement point.
EVERYTHING: dict[str, str] = {
    "depend": "*/*",
    "source": "**",
    "apply": "*/*",
    "target": "clusters/*",
    "push": "**",
    "api": "tenants/*",
}


def object_example(pattern: str, action: str) -> str | None:
    """An object ``action`` is asked about that ``pattern`` matches, or None if none is."""
    if not patterns.is_pattern(pattern):
        return pattern if fits(pattern, action) else None
    for shape in SHAPES[action]:
        found = example((pattern, shape))
        if found is not None:
            return found
    return None


def fits(obj: str, action: str) -> bool:
    """Whether ``obj`` has the shape of an object ``action`` is asked about."""
    return any(_regex(shape).fullmatch(obj) is not None for shape in SHAPES[action])


@functools.lru_cache(maxsize=64)
def _regex(spec: Spec) -> re.Pattern[str]:
    return re.compile("".join(f"{one}*" if repeats else one for one, repeats in spec), re.DOTALL)


def covers(wide: str, narrow: str, action: str) -> bool:
    """Whether ``wide`` matches every object of ``action`` that ``narrow`` matches.

    False may also mean "not worth proving" (a claim is only made when sure).
    """
    if wide == narrow or wide == "**":
        return True
    if not patterns.is_pattern(narrow):
        return not fits(narrow, action) or patterns.matches(narrow, wide)
    if not patterns.is_pattern(wide):
        # A literal covers only itself; a pattern that matches just that one
        # object is too rare to be worth a search.
        return False
    wide_prefix, narrow_prefix = prefix(wide), prefix(narrow)
    if not (wide_prefix.startswith(narrow_prefix) or narrow_prefix.startswith(wide_prefix)):
        return False  # they start differently: no common object, or none at all
    return all(example((narrow, shape), (wide,)) is None for shape in SHAPES[action])


@functools.lru_cache(maxsize=256)
def actions_of(action: str) -> tuple[str, ...]:
    """The actions an action pattern of a line matches."""
    return tuple(a for a in ACTIONS if patterns.matches(a, action))
