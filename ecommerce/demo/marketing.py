"""Marketing: discount campaigns with their coupons and e-mails."""

from __future__ import annotations

from datetime import datetime, timedelta

from decision_trace.ecommerce.event_types import EcommerceEventType as E
from decision_trace.enums import ObjectType
from ecommerce.demo.cast import EMAIL_JOB, MARKETER, system
from ecommerce.demo.customers import Customers
from ecommerce.demo.engine import Simulation
from ecommerce.demo.entities import Campaign

__all__ = ["Marketing"]


class Marketing:
    """The period's ``campaigns``, planned at the start and launched, paused and ended on time."""

    def __init__(self, sim: Simulation, customers: Customers) -> None:
        self.sim = sim
        self.customers = customers
        self.campaigns: list[Campaign] = []

    def plan_campaigns(self) -> None:
        for index in range(max(1, round(self.sim.days / 12))):
            first = self.sim.rng.randint(0, max(0, self.sim.days - 6))
            length = self.sim.rng.randint(4, 8)
            start = self.sim.start + timedelta(days=first, hours=self.sim.rng.randint(8, 11))
            number = self.sim.serial("campaign", 201)
            percent = self.sim.rng.choice((10, 15, 20))
            name = ("Spring Refresh", "Weekend Flash Sale", "Back to Basics", "Summer Picks")[
                index % 4
            ]
            campaign = Campaign(
                id=f"cmp-{number}",
                name=name,
                coupon=f"{name.split()[0].upper()}{percent}",
                percent=percent,
                start=start,
                end=start + timedelta(days=length),
            )
            self.campaigns.append(campaign)
            self.sim.schedule(start, self._launch, campaign)
            self.sim.schedule(campaign.end, self._end, campaign)

    def campaign_at(self, when: datetime) -> Campaign | None:
        for campaign in self.campaigns:
            if campaign.ref is not None and campaign.start <= when < campaign.end:
                return campaign
        return None

    def _launch(self, when: datetime, campaign: Campaign) -> None:
        launched = self.sim.emit(
            self.sim.client.trace(E.CAMPAIGN_LAUNCHED, f"Campaign {campaign.name} launched")
            .by(MARKETER)
            .affecting_object(
                ObjectType.CAMPAIGN,
                campaign.id,
                name=campaign.name,
                state_after={"status": "live", "ends": campaign.end},
            )
            .because(
                f"{campaign.percent} % off to lift orders in a quiet week",
                alternatives=[{"action": "free_shipping"}],
                rejection_reasons={"free_shipping": "Most orders already ship free"},
            )
            .with_data(coupon=campaign.coupon, percent=campaign.percent)
            .with_tags("marketing", "campaign"),
            when,
            correlation=campaign.id,
        )
        if launched is None:
            return
        campaign.ref = launched
        self.sim.emit(
            self.sim.client.trace(E.COUPON_CREATED, f"Coupon {campaign.coupon} created")
            .by(MARKETER)
            .affecting_object(
                ObjectType.COUPON,
                campaign.coupon,
                state_after={"percent_off": campaign.percent, "expires": campaign.end},
            )
            .with_tags("marketing", "coupon"),
            when + timedelta(seconds=30),
            parent=launched,
            correlation=campaign.id,
        )
        recipients = sum(1 for c in self.customers.regulars if not c.blocked)
        self.sim.emit(
            self.sim.client.trace(E.EMAIL_SENT, f"Campaign e-mail to {recipients} customers")
            .by(EMAIL_JOB)
            .affecting_object(ObjectType.EMAIL, f"blast-{campaign.id}", template=campaign.id)
            .with_data(recipients=recipients, bounced=round(recipients * 0.012))
            .with_tags("marketing", "email"),
            when + self.sim.minutes(10, 30),
            parent=launched,
            correlation=campaign.id,
            duration=self.sim.rng.uniform(60, 400),
        )
        pause = when + timedelta(hours=self.sim.rng.randint(20, 40))
        if pause < campaign.end:
            self.sim.schedule(pause, self._pause, campaign)

    def _pause(self, when: datetime, campaign: Campaign) -> None:
        self.sim.emit(
            self.sim.client.trace(E.CAMPAIGN_PAUSED, f"Campaign {campaign.name} ads paused")
            .by(MARKETER)
            .affecting_object(ObjectType.CAMPAIGN, campaign.id, state_after={"ads": "paused"})
            .because("Daily ad budget reached; the coupon stays valid")
            .with_tags("marketing", "campaign"),
            when,
            parent=campaign.ref,
            correlation=campaign.id,
        )

    def _end(self, when: datetime, campaign: Campaign) -> None:
        if campaign.ref is None:
            return
        ended = self.sim.emit(
            self.sim.client.trace(E.CAMPAIGN_ENDED, f"Campaign {campaign.name} ended")
            .by(system("marketing-scheduler"))
            .affecting_object(
                ObjectType.CAMPAIGN,
                campaign.id,
                state_before={"status": "live"},
                state_after={"status": "ended"},
            )
            .with_tags("marketing", "campaign"),
            when,
            parent=campaign.ref,
            correlation=campaign.id,
        )
        if ended is not None:
            self.sim.emit(
                self.sim.client.trace(E.COUPON_EXPIRED, f"Coupon {campaign.coupon} expired")
                .by(system("marketing-scheduler"))
                .affecting_object(ObjectType.COUPON, campaign.coupon, state_after={"valid": False})
                .with_tags("marketing", "coupon"),
                when + timedelta(seconds=1),
                parent=ended,
                correlation=campaign.id,
            )
