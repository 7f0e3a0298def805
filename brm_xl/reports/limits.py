"""Templates bounded in time and size, in the process that renders them.

An office's own template (Settings `report_templates`, `journal_template`) is code from a
workbook that may have come by email: the sandbox keeps it from Python's internals, and
this module keeps it from hanging a command or filling a disk. Inside Excel there is no
child process to kill, so the bounds are a budget the template spends as it runs:

- loop steps: every `{% for %}` item, every item of a `range()` and every recursive
  `loop()` call spends one step (contract.TEMPLATE_LOOP_STEPS);
- time: the clock (Settings `template_seconds`) is read at each step, call and chunk of
  output;
- size: the output, and any text or list a template makes (`*`, `%`, `+`, `~`, a filter or
  a method such as `center`), may not pass Settings `template_max_mb`; a `*` or a padding
  width that would pass it is refused before the value is made.

Exceeding a bound raises `Exceeded`, which `render.render_template` turns into a
TemplateError sentence before anything is written.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2.sandbox
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import LoopContext

from brm_xl.contract import tables as C
from brm_xl.problems import TemplateError

MB = 1024 * 1024
MAX_RANGE = jinja2.sandbox.MAX_RANGE
INT_BITS = 12_000  # a power past this is refused: 9 ** (9 ** 9) hangs; Python prints 4,300 digits
PADDED = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})  # str methods
DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class TemplateLimits:
    """How long one template may run, how much it may write, how many loop steps it has."""

    seconds: int = C.SETTINGS_DEFAULTS["template_seconds"][1]  # type: ignore[assignment]
    max_mb: int = C.SETTINGS_DEFAULTS["template_max_mb"][1]  # type: ignore[assignment]
    steps: int = C.TEMPLATE_LOOP_STEPS

    @classmethod
    def from_settings(cls, settings: Any) -> TemplateLimits:
        return cls(settings.template_seconds, settings.template_max_mb)

    @property
    def max_chars(self) -> int:
        return self.max_mb * MB


class Exceeded(Exception):
    """A template passed one of its limits; `what` is the sentence's ending."""

    def __init__(self, what: str):
        self.what = what
        super().__init__(what)


class Budget:
    """What one rendering may still spend."""

    __slots__ = ("limits", "deadline", "steps", "written", "chunks", "max_chars")

    def __init__(self, limits: TemplateLimits):
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.steps = limits.steps
        self.written = 0
        self.chunks = 0
        self.max_chars = limits.max_chars

    def spend(self, steps: int = 1) -> None:
        self.steps -= steps
        if self.steps < 0:
            raise Exceeded(f"it took more than {self.limits.steps:,} loop steps, the most a "
                           "template may take")
        self.check_clock()

    def check_clock(self) -> None:
        if time.monotonic() > self.deadline:
            seconds = self.limits.seconds
            raise Exceeded(f"it ran longer than {seconds} second{'s' if seconds != 1 else ''}, "
                           "the time limit for a template (Settings template_seconds)")

    def check_size(self, size: int, what: str = "a text or list it makes") -> None:
        if size > self.max_chars:
            raise Exceeded(f"{what} would be larger than {self.limits.max_mb} MB, the size "
                           "limit for a template (Settings template_max_mb)")

    def write(self, chunk: str) -> None:
        self.written += len(chunk)
        self.chunks += 1
        if self.written > self.max_chars:
            self.check_size(self.written, "its output")
        if not self.chunks & 255:  # the clock every 256 chunks
            self.check_clock()

    def each(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.steps -= 1
            if self.steps < 0 or not self.steps & 255:  # the clock every 256 steps
                self.spend(0)
            yield item


_BUDGET: ContextVar[Budget | None] = ContextVar("brm_xl_template_budget", default=None)


def rendering(limits: TemplateLimits) -> tuple[Budget, Callable[[], None]]:
    """Start a budget for one rendering; call the second value when it ends."""
    budget = Budget(limits)
    token = _BUDGET.set(budget)
    return budget, lambda: _BUDGET.reset(token)


def size_of(value: Any) -> int:
    """Characters of text; a list or tuple counts 8 a slot (a pointer each)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return 8 * len(value)
    return 0


def sized(value: Any) -> Any:
    budget = _BUDGET.get()
    if budget is not None:
        budget.check_size(size_of(value))
    return value


def _widest(text: str) -> int:
    """The largest number written in a format string ('%300000000s', '{:>99999999}')."""
    return max((int(d) for d in DIGITS.findall(text) if len(d) < 20), default=0) if len(
        text) < 100_000 else 0


def _padding(budget: Budget, obj: Any, args: tuple[Any, ...]) -> None:
    """Refuse, before it runs, a call that would pad or repeat text past the size limit."""
    name = getattr(obj, "__name__", "")
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, str) and name in PADDED:
        budget.check_size(max((a for a in args if isinstance(a, int)), default=0) *
                          (owner.count("\t") + 1 if name == "expandtabs" else 1))
    elif isinstance(owner, str) and name == "replace" and len(args) >= 2 and all(
            isinstance(a, str) for a in args[:2]):
        grown = owner.count(args[0]) * max(0, len(args[1]) - len(args[0])) if args[0] else \
            (len(owner) + 1) * len(args[1])
        budget.check_size(len(owner) + grown)
    elif name in ("format", "format_map"):
        wrapped = getattr(obj, "__wrapped__", None)
        text = getattr(wrapped, "__self__", None)
        if isinstance(text, str):
            budget.check_size(_widest(text))


class BoundedCodeGenerator(CodeGenerator):
    """Compiles every for loop to spend a step an item, and every `~` to be measured."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        node = copy.copy(node)
        node.iter = nodes.Call(nodes.EnvironmentAttribute("counted"), [node.iter], [], None,
                               None, lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.sized(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, with the budget above on every template it renders."""

    code_generator_class = BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "%", "+", "**"})

    def __init__(self, *args: Any, limits: TemplateLimits | None = None,
                 label: str = "report template", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.limits = limits or TemplateLimits()
        self.label = label
        self.globals["range"] = bounded_range

    @staticmethod
    def counted(iterable: Any) -> Any:
        budget = _BUDGET.get()
        return iterable if budget is None else budget.each(iterable)

    @staticmethod
    def sized(value: Any) -> Any:
        return sized(value)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if isinstance(times, int) and not isinstance(times, bool):
                        budget.check_size(size_of(seq) * max(0, times))
            elif operator == "%" and isinstance(left, str):
                budget.check_size(_widest(left))
            elif operator == "**" and isinstance(left, int) and isinstance(right, int) \
                    and abs(left) > 1 and right > 0 and right * math.log2(abs(left)) > INT_BITS:
                raise Exceeded(f"{left} ** {right} is a number too large for a template to make")
            budget.check_clock()
        return sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = _BUDGET.get()
        if budget is not None:
            budget.check_clock()
            if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
                args = (budget.each(args[0]), *args[1:])
            else:
                _padding(budget, __obj, args)
        return sized(super().call(__context, __obj, *args, **kwargs))


def bounded_range(*args: int) -> range:
    """range(), at most MAX_RANGE items, each spending a loop step."""
    numbers = jinja2.sandbox.safe_range(*args)
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(len(numbers))
    return numbers


def bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result is measured, and whose padding width is checked first."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            _filter_padding(budget, name, args, kwargs)
        return sized(function(*args, **kwargs))

    return run


def _filter_padding(budget: Budget, name: str, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    texts = [a for a in args if isinstance(a, str)]
    numbers = [a for a in [*args, *kw.values()] if isinstance(a, int) and not isinstance(a, bool)]
    if name == "center":
        budget.check_size(max(numbers, default=0))
    elif name == "indent" and texts:
        budget.check_size(len(texts[0]) + (texts[0].count("\n") + 1) * max(numbers, default=0))
    elif name == "format" and texts:
        budget.check_size(_widest(texts[0]))
    elif name == "replace" and len(texts) >= 3:
        s, old, new = texts[:3]
        budget.check_size(len(s) + (s.count(old) if old else len(s) + 1) * len(new))
    budget.check_clock()


def bound_filters(env: jinja2.Environment) -> None:
    """Every filter of `env` measured (call after the last filter is added)."""
    for name, function in list(env.filters.items()):
        if not getattr(function, "_brm_bounded", False):
            wrapped = bounded_filter(name, function)
            wrapped._brm_bounded = True  # type: ignore[attr-defined]
            env.filters[name] = wrapped


def render_template(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render one template within its limits (time, output size, loop steps: see limits);
    a broken, forbidden or unbounded template is a TemplateError sentence."""
    label = getattr(env, "label", "report template")
    limits = getattr(env, "limits", None) or TemplateLimits()
    bound_filters(env)
    budget, done = rendering(limits)
    try:
        parts = []
        for chunk in env.get_template(name).generate(**context):
            budget.write(chunk)
            parts.append(chunk)
        text = "".join(parts)
        budget.check_size(len(text.encode("utf-8")), "its output")
        return text
    except Exceeded as exc:
        raise TemplateError(f"{label} {name} was stopped: {exc.what}; nothing was "
                            "written") from None
    except OverflowError as exc:  # range() past jinja2's MAX_RANGE
        raise TemplateError(f"{label} {name} could not be rendered: {exc}") from None
    except (MemoryError, RecursionError) as exc:
        what = "used too much memory" if isinstance(exc, MemoryError) else \
            "calls itself without end (a macro, an include or a recursive loop)"
        raise TemplateError(f"{label} {name} was stopped: it {what}; nothing was "
                            "written") from None
    except jinja2.sandbox.SecurityError as exc:
        raise TemplateError(f"{label} {name} tried something templates may not do "
                            f"({exc}); it was not used") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{label} {exc.filename or exc.name or name}, line "
                            f"{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{label} {name} could not be rendered: {exc}") from None
    except (ArithmeticError, ValueError, TypeError, LookupError, AttributeError) as exc:
        # the template's own expression failed ({{ 1/0 }}, a bad format): its author's fault
        raise TemplateError(f"{label} {name} could not be rendered: {type(exc).__name__} in "
                            "the template's own code; nothing was written") from None
    finally:
        done()
