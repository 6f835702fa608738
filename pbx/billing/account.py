"""What one company has under the catalogue: its plan, the extras it bought and the
paid options it switched on — and from that, what it may do. Every limit and feature
check of the product asks an `Account` (issue 6: limits enforced in one place)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pbx.billing.catalogue import Catalogue, Feature, Limit, LimitKind, Plan

# Extended retention tiers of the catalogue vocabulary (README): days, minutes cap.
RETENTION_OPTIONS: dict[str, tuple[int, int | None]] = {
    "retention_7d": (7, 3500),
    "retention_14d": (14, 7000),
    "retention_30d": (30, None),
}


@dataclass(frozen=True)
class Account:
    catalogue: Catalogue
    plan_id: str | None  # None: outside billing, nothing is limited
    extras: dict[LimitKind, int] = field(default_factory=dict)  # packs bought
    options: frozenset[str] = frozenset()  # paid options switched on
    blocked: str | None = None

    @property
    def plan(self) -> Plan | None:
        return self.catalogue.plans.get(self.plan_id) if self.plan_id else None

    @property
    def billed(self) -> bool:
        return self.plan is not None

    def limit(self, kind: LimitKind) -> Limit:
        plan = self.plan
        return plan.limit(kind) if plan else Limit(included=None)

    def allowance(self, kind: LimitKind) -> int | None:
        """Units usable now: included plus bought packs (None: unlimited)."""
        limit = self.limit(kind)
        if limit.included is None:
            return None
        total = limit.included + self.extras.get(kind, 0) * limit.step
        return min(total, limit.max) if limit.max is not None else total

    def packs_left(self, kind: LimitKind) -> int | None:
        """How many more packs may be bought (None: no cap; 0: none sold)."""
        cap = self.limit(kind).packs_cap()
        return None if cap is None else max(0, cap - self.extras.get(kind, 0))

    def sold(self, name: str) -> bool:
        """Whether the catalogue sells or withholds `name` at all; a feature it never
        describes is not part of the offer and is never restricted."""
        return name in self.catalogue.options

    def has(self, name: str) -> bool:
        """Whether the feature or option works for this company now."""
        plan = self.plan
        if plan is None or not self.sold(name):
            return True
        offer = plan.feature(name)
        if offer.status is Feature.INCLUDED:
            return True
        return offer.status is Feature.PAID and name in self.options

    def ivr_depth(self) -> int | None:
        """Menu levels allowed: the plan's, raised by the level options while on."""
        if self.has("ivr_unlimited_levels") and self.sold("ivr_unlimited_levels"):
            return None
        base = self.allowance(LimitKind.IVR_LEVELS)
        if self.sold("ivr_two_levels") and self.has("ivr_two_levels"):
            return max(2, base or 0) if base is not None else None
        return base

    def recording_caps(self) -> tuple[int | None, int | None]:
        """Recording retention days and minutes cap: the plan's, or the longest
        retention option switched on (seed 000: 7 d / 3500 min, 14 d / 7000 min, 30 d)."""
        days = self.allowance(LimitKind.RETENTION_DAYS)
        minutes = self.allowance(LimitKind.RECORDING_MINUTES)
        for option, (o_days, o_minutes) in RETENTION_OPTIONS.items():
            if option in self.options and self.has(option):
                days, minutes = o_days, o_minutes
        return days, minutes

    def plans_offering(self, name: str) -> list[str]:
        """Titles of the plans that include or sell `name`."""
        return [
            p.title
            for p in self.catalogue.plans.values()
            if p.feature(name).status is not Feature.UNAVAILABLE
        ]
