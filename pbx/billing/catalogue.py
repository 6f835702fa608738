"""The plan catalogue as data: YAML files in `pbx/billing/catalogues/` (or an operator's
own file in the same format), validated when loaded. Every figure the product uses —
fees, included units, caps, unit prices, which options a plan includes, sells or lacks
— lives in the file, never in code.

A broken catalogue is refused with the file, the line and what is wrong, e.g.
`seed000.yaml:41: plans.mini.limits.employees.extra: prices are strings like "50.00"`.

Shape (see `catalogues/README.md` for the whole format):

    catalogue: seed000
    title: ...
    default_plan: mini            # where a company signing up in the bot starts
    currency: RUB
    vat_percent: 20              # prices below include VAT
    options:                     # what can be switched on, with its names
      recording: {en: Call recording, ru: Запись разговоров}
    plans:
      mini:
        title: МИНИ
        monthly_fee: "1000.00"
        limits:
          employees: {included: 10, extra: "50.00"}          # no cap on extras
          numbers: {included: 2, max: 2}                     # cannot buy more
          channels: {included: null}                         # unlimited
        features:
          recording: included        # or unavailable, or a monthly price "250.00"
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pbx.errors import PbxError

CATALOGUES = Path(__file__).parent / "catalogues"


class LimitKind(StrEnum):
    """What a plan counts, enforced in one place (issue 6)."""

    EMPLOYEES = "employees"
    NUMBERS = "numbers"
    CHANNELS = "channels"  # concurrent calls per company number
    IVR_MENUS = "ivr_menus"
    IVR_LEVELS = "ivr_levels"
    RING_GROUPS = "ring_groups"
    CONFERENCE_ROOMS = "conference_rooms"
    CONFERENCE_PARTICIPANTS = "conference_participants"
    STORAGE_MB = "storage_mb"  # call recordings
    STORAGE_PACKS = "storage_packs"  # +5 GB each
    RETENTION_DAYS = "retention_days"  # how long recordings are kept
    RECORDING_MINUTES = "recording_minutes"  # ... but no more than this many minutes
    MELODY_STORAGE_MB = "melody_storage_mb"
    SMS = "sms"  # SMS messages per month


class CatalogueError(PbxError, ValueError):
    """A catalogue file that cannot be used, with where and why."""


def _money(value: Any) -> Decimal:
    # YAML floats (0.1 + 0.2 …) never become money: prices are written as strings.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('prices are strings like "50.00"')
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{value!r} is not an amount in kopecks (two decimals at most)")
    return amount


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Model):
    """`included` units come with the fee (None: unlimited); up to `max` in all (None:
    no cap) at `extra` per `step` units per month (None: extras are not sold). `step`
    is the pack size, e.g. storage sold by 5120 MB."""

    included: int | None = Field(ge=0)
    max: int | None = Field(default=None, ge=0)
    extra: Decimal | None = None
    step: int = Field(default=1, ge=1)

    @field_validator("extra", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Decimal | None:
        return None if value is None else _money(value)

    @model_validator(mode="after")
    def _coherent(self) -> Limit:
        if self.included is None and (self.max is not None or self.extra is not None):
            raise ValueError("an unlimited amount has no max and no extra price")
        if self.included is not None and self.max is not None and self.max < self.included:
            raise ValueError(f"max {self.max} is below the included {self.included}")
        if self.step != 1 and self.extra is None:
            raise ValueError("step is the size of a sold pack; it needs an extra price")
        return self

    @property
    def sellable(self) -> bool:
        return self.included is not None and self.extra is not None

    def packs_cap(self) -> int | None:
        """How many extra packs can be bought at most (None: no cap)."""
        if self.included is None or self.extra is None:
            return 0
        if self.max is None:
            return None
        return (self.max - self.included) // self.step

    @property
    def unlimited(self) -> bool:
        return self.included is None

    @property
    def ceiling(self) -> int | None:
        """The most this plan ever allows (None: no ceiling)."""
        if self.included is None:
            return None
        if self.extra is None:
            return self.included
        return self.max


class Feature(StrEnum):
    INCLUDED = "included"
    UNAVAILABLE = "unavailable"
    PAID = "paid"


class Offer(_Model):
    """One option or feature on one plan: included, unavailable, or paid monthly."""

    status: Feature
    monthly_fee: Decimal = Decimal("0.00")


class Plan(_Model):
    title: str = Field(min_length=1)
    monthly_fee: Decimal
    limits: dict[LimitKind, Limit] = Field(default_factory=dict)
    features: dict[str, Offer] = Field(default_factory=dict)

    @field_validator("monthly_fee", mode="before")
    @classmethod
    def _fee(cls, value: Any) -> Decimal:
        return _money(value)

    @field_validator("features", mode="before")
    @classmethod
    def _offers(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for name, raw in value.items():
            if raw in (Feature.INCLUDED.value, Feature.UNAVAILABLE.value):
                out[name] = {"status": raw}
            else:
                out[name] = {"status": Feature.PAID.value, "monthly_fee": _money(raw)}
        return out

    def limit(self, kind: LimitKind) -> Limit:
        """A kind the plan does not name is not limited by it."""
        return self.limits.get(kind, Limit(included=None))

    def feature(self, name: str) -> Offer:
        """A feature the plan does not name is not available on it."""
        return self.features.get(name, Offer(status=Feature.UNAVAILABLE))


class OptionInfo(_Model):
    en: str = Field(min_length=1)
    ru: str = Field(min_length=1)


class Catalogue(_Model):
    catalogue: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    vat_percent: Decimal = Field(ge=0, le=100)
    options: dict[str, OptionInfo] = Field(default_factory=dict)
    plans: dict[str, Plan] = Field(min_length=1)
    # The plan a company starts on when it signs up in the bot.
    default_plan: str

    @model_validator(mode="after")
    def _default_known(self) -> Catalogue:
        if self.default_plan not in self.plans:
            raise ValueError(f"default_plan {self.default_plan!r} is not one of the plans")
        return self

    @model_validator(mode="after")
    def _known_features(self) -> Catalogue:
        for plan_id, plan in self.plans.items():
            for name in plan.features:
                if name not in self.options:
                    # "@path:" lets the loader point at the feature's own line.
                    raise ValueError(
                        f"@plans.{plan_id}.features.{name}: plan {plan.title!r} names feature"
                        f" {name!r}, which `options` does not describe"
                    )
        return self

    def plan(self, plan_id: str) -> Plan:
        return self.plans[plan_id]

    def plans_allowing(self, kind: LimitKind, count: int) -> list[str]:
        """Titles of the plans under which `count` units of `kind` are possible."""
        return [
            p.title
            for p in self.plans.values()
            if (ceiling := p.limit(kind).ceiling) is None or ceiling >= count
        ]


# --- loading --------------------------------------------------------------------------
def load(path: Path) -> Catalogue:
    """Read and validate one catalogue file; CatalogueError names the line at fault."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise CatalogueError(f"{path.name}:{line}: not valid YAML: {exc.problem}") from None
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        if message.startswith("@"):
            dotted, _, message = message[1:].partition(": ")
            loc = tuple(dotted.split("."))
        where = ".".join(str(p) for p in loc) or "(top)"
        raise CatalogueError(f"{path.name}:{_line(root, loc)}: {where}: {message}") from None


def _line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The line of the deepest YAML node on the path `loc` (1-based)."""
    found = node
    for key in loc:
        if isinstance(found, yaml.MappingNode):
            nxt = next((v for k, v in found.value if k.value == str(key)), None)
        elif isinstance(found, yaml.SequenceNode) and isinstance(key, int):
            nxt = found.value[key] if key < len(found.value) else None
        else:
            nxt = None
        if nxt is None:
            break
        found = nxt
    return found.start_mark.line + 1 if found is not None else 1


def presets() -> dict[str, Catalogue]:
    """Every catalogue shipped with the product, by id."""
    out = {}
    for path in sorted(CATALOGUES.glob("*.yaml")):
        cat = load(path)
        out[cat.catalogue] = cat
    return out


@cache
def resolve(spec: str) -> Catalogue:
    """The installation's catalogue: a preset id (seed000 …) or a path to a YAML file."""
    path = CATALOGUES / f"{spec}.yaml"
    if spec and path.is_file():
        return load(path)
    given = Path(spec)
    if given.suffix in (".yaml", ".yml") and given.is_file():
        return load(given)
    names = ", ".join(p.stem for p in sorted(CATALOGUES.glob("*.yaml")))
    raise CatalogueError(
        f"PBX_CATALOGUE={spec!r} is neither a preset ({names}) nor a .yaml file that exists"
    )
