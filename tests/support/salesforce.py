"""Salesforce Outbound Messages as Salesforce sends them (the samples in
``tests/data/salesforce``), changed as a test needs, and hostile XML."""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "salesforce"
NEGOTIATION = (DATA / "opportunity_negotiation.xml").read_text()  # research note §1.2(a)
PERCEPTION = (DATA / "opportunity_perception_analysis.xml").read_bytes()  # §1.2(b)
ACCOUNT = (DATA / "account_edge.xml").read_bytes()
ORG = "00D5w000004qGTOEA2"  # sample (a)'s org
OPP = "0065w000023STAmAAO"
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def message(
    stage: str = "Negotiation/Review",
    *,
    notification: str = "04l5w00005286hAAAQ",
    closed: bool = False,
    won: bool = False,
    modified: str = "2020-05-09T03:04:32.000Z",
    org: str = ORG,
    action: str = "04k5w000000TSwMAAW",
    extra: str = "",
    **fields: str,
) -> bytes:
    """Sample (a) with its stage, notification id, flags, time or other fields changed."""
    text = NEGOTIATION.replace("04l5w00005286hAAAQ", notification)
    text = text.replace(">Negotiation/Review<", f">{stage}<")
    text = text.replace("<sf:IsClosed>false", f"<sf:IsClosed>{str(closed).lower()}")
    text = text.replace("<sf:IsWon>false", f"<sf:IsWon>{str(won).lower()}")
    text = text.replace("2020-05-09T03:04:32.000Z", modified)
    text = text.replace(ORG, org).replace("04k5w000000TSwMAAW", action)
    for name, value in fields.items():
        replacement = f"<sf:{name}>{value}</sf:{name}>"  # taken as it is, never as a pattern
        text = re.sub(rf"<sf:{name}>[^<]*</sf:{name}>", lambda _, r=replacement: r, text)
    return text.replace("    </sObject>", f"{extra}    </sObject>").encode()


def owner(email: str = "ana@example.com") -> str:
    """The field naming the rep by e-mail (for ``message(extra=...)``)."""
    return f"     <sf:Owner_Email__c>{email}</sf:Owner_Email__c>\n"


def lost_a_day_later(stage: str = "Closed Lost") -> bytes:
    """The deal of sample (a) closed lost in ``stage`` a day later: a new notification that
    names the rep by e-mail."""
    return message(
        stage,
        closed=True,
        notification="04l5w00005286hCCCQ",
        modified="2020-05-11T09:00:00Z",
        extra=owner(),
    )


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""
