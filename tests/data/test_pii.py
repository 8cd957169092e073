"""A labelled set: every planted value of each kind is masked, ordinary chat is left alone.

The figures (share masked per kind, false positives) are printed; run with `-s` to see them.
"""

from __future__ import annotations

from training.data.pii import TAGS, PiiMasker

JWT = (
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
# kind -> (sentence, the value planted in it)
LABELLED = {
    "email": [
        ("mail me at alice.w@example.com", "alice.w@example.com"),
        ("work: a_smith+discord@mail.example.co.uk ok", "a_smith+discord@mail.example.co.uk"),
        ("BOB@EXAMPLE.ORG is the old address", "BOB@EXAMPLE.ORG"),
        ("contact: chen-li99@sub.example.net.", "chen-li99@sub.example.net"),
        ("(dee@example.io)", "dee@example.io"),
    ],
    "phone": [
        ("call me at (201) 555-0123", "(201) 555-0123"),
        ("text 415-555-0134 when you land", "415-555-0134"),
        ("my uk number +44 20 7946 0958", "+44 20 7946 0958"),
        ("+1 202 555 0173 is the office", "+1 202 555 0173"),
        ("new num: 212.555.0199", "212.555.0199"),
        ("ring +49 30 901820 tomorrow", "+49 30 901820"),
        ("it's 2025550147 no dashes", "2025550147"),
    ],
    "ip": [
        ("server is at 192.168.1.20", "192.168.1.20"),
        ("ping 8.8.8.8 to check", "8.8.8.8"),
        ("my home ip 203.0.113.77, don't ddos me", "203.0.113.77"),
        ("ipv6 2001:db8::8a2e:370:7334 works", "2001:db8::8a2e:370:7334"),
        ("fe80::1ff:fe23:4567:890a on the lan", "fe80::1ff:fe23:4567:890a"),
    ],
    "invite": [
        ("join us discord.gg/catcafe", "discord.gg/catcafe"),
        ("https://discord.gg/AbCd123 is the link", "https://discord.gg/AbCd123"),
        ("https://discord.com/invite/xyz-789", "https://discord.com/invite/xyz-789"),
        ("old one discordapp.com/invite/meow", "discordapp.com/invite/meow"),
    ],
    "token": [
        ("oops MTE4MDAwMDAwMDAwMDAwMDEwMQ.GhJkLm.abcdefghijklmnopqrstuvwxyz0123456789AB",
         "MTE4MDAwMDAwMDAwMDAwMDEwMQ.GhJkLm.abcdefghijklmnopqrstuvwxyz0123456789AB"),
        ("bot token NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I",
         "NzkyNzE1NDU0MTk2MDg4ODQy.X-hvzA.Ovy4MCQywSkoMRRclStW4xAYK7I"),
        ("mfa." + "a1B2c3D4e5" * 9, "mfa." + "a1B2c3D4e5" * 9),
    ],
    "secret": [
        ("aws key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ leaked",
         "ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"),
        ("use sk-proj-a1b2c3d4e5f6g7h8i9j0k1l2", "sk-proj-a1b2c3d4e5f6g7h8i9j0k1l2"),
        ("password: hunter22", "hunter22"),
        ("api_key=9f8e7d6c5b4a", "9f8e7d6c5b4a"),
        ("jwt " + JWT, JWT),
        ("key 3f9aK2mQ7xLp0RzT8vBn4WcYs6HdJe1Ug5", "3f9aK2mQ7xLp0RzT8vBn4WcYs6HdJe1Ug5"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
         "MIIEpAIBAAKCAQEA"),
    ],
    "card": [
        ("card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
        ("5500-0000-0000-0004", "5500-0000-0000-0004"),
        ("amex 378282246310005 lol", "378282246310005"),
        ("use 6011111111111117 for the test", "6011111111111117"),
    ],
}

ORDINARY = [
    "nya hello~ :3", "meet at 7:30pm?", "it's 10:45 already", "lunch at 12:00 tomorrow",
    "the meeting is on 2024-05-01", "born 03/14/1998 lol", "score was 3-2", "i have 3 cats",
    "10/10 would nap again", "room 404 not found haha", "it costs $12.99", "version 3.11 is out",
    "python 3.11.4 broke my build", "i ran 5km in 25:30", "the year 2024 was wild",
    "my password reset email never came", "the token economy in that game is weird",
    "ping me later", "anyone up? :D", "lmao 😂😂", "brb 5 min",
    "see https://example.com/blog/post-123", "watch https://youtu.be/dQw4w9WgXcQ",
    "https://tenor.com/view/cat-dance-gif-12345678", "order #12345 shipped", "level 99 finally",
    "1 2 3 4 5 6 7 8", "lost 1000 gold in one run", "it's 35°C outside", "50% off today only",
    "the kd ratio is 1.5", "call me maybe", "@Alice did you see this", "#general is quiet today",
    ":blobcat: :3 :3", "x = 42; y = x * 2", "use port 8080", "top 10 anime", "ratio 16:9",
    "2x speed please", "covid-19 again", "i slept 14 hours mrrp~", "hash tags #cats #naps",
    "email me when you're free", "phone died, charging", "the ip address thing confused me",
    "my discord name changed", "1st, 2nd and 3rd place", "wifi password is on the fridge",
    "episode 7 season 2", "it was 1999 all over again", "ticket 5-1234 fixed",
    "the bus 42 is late", "1.5kg of tuna", "dinner at 6 or 7?", "sleeping from 11pm to 9am",
    "my phone is 5 years old", "chapter 12 page 304", "invite me to the game later",
]


def test_every_labelled_value_is_masked_and_no_ordinary_line_is_touched():
    masker = PiiMasker("US")
    shares = {}
    for kind, cases in LABELLED.items():
        masked = 0
        for sentence, value in cases:
            cleaned = masker.mask(sentence)
            if value not in cleaned and TAGS[kind] in cleaned:
                masked += 1
            else:
                print(f"  missed {kind}: {sentence!r} -> {cleaned!r}")
        shares[kind] = masked / len(cases)
    false_positives = [(line, masker.mask(line)) for line in ORDINARY if masker.mask(line) != line]
    total = sum(len(cases) for cases in LABELLED.values())
    print(f"\nPII labelled set: {total} planted values, {len(ORDINARY)} ordinary lines")
    for kind, share in shares.items():
        print(f"  {kind:7s} masked {share:6.1%} of {len(LABELLED[kind])}")
    print(f"  false positives on ordinary lines: {len(false_positives)}/{len(ORDINARY)}")
    for line, cleaned in false_positives:
        print(f"    {line!r} -> {cleaned!r}")
    assert all(share == 1.0 for share in shares.values()), shares
    assert not false_positives


def test_counts_by_kind():
    masker = PiiMasker()
    masker.mask("a@example.com b@example.com and 8.8.8.8")
    assert masker.counts == {"email": 2, "ip": 1}


def test_phone_region_reads_local_numbers():
    assert PiiMasker("GB").mask("ring 020 7946 0958") == "ring [phone]"
    # A UK number written the national way used to pass unmasked with the default region
    # (US): the common regions are now tried too (see test_pii_attacks.py). The region
    # still matters for a country outside them, such as Korea.
    assert PiiMasker("US").mask("ring 020 7946 0958") == "ring [phone]"
    assert PiiMasker("KR").mask("ring 010-1234-5678") == "ring [phone]"
    # A number that fits no issued US range but has a US number's length and grouping is
    # masked too now (a possible number: issued ranges change; when unsure, protect).
    assert PiiMasker("US").mask("ring 010-1234-5678") == "ring [phone]"
