"""The policy in force: the meter rules, the gate's copy and the plans, as one document.

A document comes from the settings file (version 0) or from a version saved in
the dashboard; the live policy is a document as one request sees it, with the
reader's experiment variant laid over it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meterwall.access.model import Policy
from meterwall.settings import CopySettings, OfferSettings, PolicySettings, Settings


class PolicyDocument(BaseModel):
    """Everything a policy version holds."""

    model_config = ConfigDict(extra="forbid")

    policy: PolicySettings
    copy_text: CopySettings
    offers: list[OfferSettings] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_offers(self) -> PolicyDocument:
        ids = [o.id for o in self.offers]
        if len(set(ids)) != len(ids):
            raise ValueError("offer ids must be unique")
        return self

    @classmethod
    def from_settings(cls, settings: Settings) -> PolicyDocument:
        """The document the settings file describes (version 0)."""
        return cls(policy=settings.policy, copy_text=settings.copy_text, offers=settings.offers)


@dataclass(frozen=True, slots=True)
class LivePolicy:
    """The policy, copy and plans in force for one request.

    ``version`` is the policy version (0: the settings file);
    ``experiment``/``variant`` name the reader's experiment variant, if any.
    """

    policy: Policy
    copy: CopySettings
    offers: tuple[OfferSettings, ...]
    version: int = 0
    experiment: str = ""
    variant: str = ""

    @classmethod
    def of(cls, document: PolicyDocument, version: int) -> LivePolicy:
        """The live policy of a stored document."""
        return cls(
            policy=document.policy.to_policy(),
            copy=document.copy_text,
            offers=tuple(document.offers),
            version=version,
        )
