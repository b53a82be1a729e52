"""Patches of moto's classes that are undone together: the local AWS changes moto only while it runs."""

from __future__ import annotations

from contextlib import ExitStack


class Patches:
    def __init__(self) -> None:
        self._stack = ExitStack()

    def set(self, owner: type, name: str, value) -> None:
        """Set `owner.name` to `value` until `undo()`."""
        missing = object()
        original = owner.__dict__.get(name, missing)
        setattr(owner, name, value)
        self._stack.callback(
            lambda: delattr(owner, name) if original is missing else setattr(owner, name, original)
        )

    def after(self, owner: type, name: str, hook) -> None:
        """Call `hook(instance, result)` after every call of the method `owner.name`."""
        original = getattr(owner, name)

        def wrapped(instance, *args, **kwargs):
            result = original(instance, *args, **kwargs)
            hook(instance, result)
            return result

        self.set(owner, name, wrapped)

    def callback(self, function, *args) -> None:
        """Call `function(*args)` on `undo()` (e.g. to unset a state-manager transition)."""
        self._stack.callback(function, *args)

    def undo(self) -> None:
        self._stack.close()
