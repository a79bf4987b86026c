"""A faster ``__init__`` for frozen slotted dataclasses, for the domain's value objects that
``policy compare`` builds for every stored request it reads again (``refunds_plugin/domain/``)."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any, TypeVar

_T = TypeVar("_T")


def slot_init(cls: type[_T]) -> type[_T]:
    """The same ``__init__`` a frozen slotted dataclass has (names, order, defaults, errors), but
    setting each slot through its descriptor rather than ``object.__setattr__``: about half the
    cost, and these are built for every stored request ``policy compare`` reads again."""
    ns: dict[str, Any] = {"_MISSING": MISSING}
    params, body = [], []
    for f in fields(cls):  # type: ignore[arg-type]
        ns[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not MISSING:
            ns[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
        elif f.default_factory is not MISSING:
            ns[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f" if {f.name} is _MISSING: {f.name} = _f_{f.name}()")
        else:
            params.append(f.name)
        body.append(f" _set_{f.name}(self, {f.name})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body), ns)  # noqa: S102
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # as the generated one: same errors
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def light(cls: type[Any]) -> type[Any]:
    """A twin of a frozen slotted dataclass for a reader that only reads it: the same slots, and
    the very properties and methods of ``cls`` (shared, not copied), but neither frozen nor a
    dataclass, so ``__init__`` (positional, every field) sets each slot as a plain attribute:
    about a quarter of the frozen one's cost. It is not equal to an instance of ``cls`` and not
    hashable by value; ``finance/stored.py`` builds the stored facts from it for
    ``policy compare``, whose policy only reads them."""
    names = [f.name for f in fields(cls)]
    ns: dict[str, Any] = {"__slots__": tuple(names), "__module__": cls.__module__,
                          "__qualname__": f"{cls.__qualname__}.light"}
    for key, value in vars(cls).items():
        if not key.startswith("__") and key not in names:
            ns[key] = value  # methods and properties: the one definition
    body = "\n".join(f" self.{n} = {n}" for n in names)
    exec(f"def __init__(self, {', '.join(names)}):\n{body}", ns)  # noqa: S102
    return type(f"{cls.__name__}Light", (), ns)
