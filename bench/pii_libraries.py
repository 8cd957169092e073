"""Benchmark: our masker against kept libraries on the same generated cases
(tests/data/pii_generated.py), recall per kind, ordinary lines unchanged, and speed.

    python bench/pii_libraries.py                   # ours and detect-secrets (secrets only)
    python bench/pii_libraries.py --presidio        # also presidio-analyzer's recognizers

detect-secrets (Yelp): its 27 default plugins (keyword, entropy and vendor-key detectors)
run line by line, as on a source file. presidio-analyzer (Microsoft): its pattern
recognizers (e-mail, phone, credit card, IBAN, IP, US SSN and the other countries' ids it
ships) run without an NLP engine: AnalyzerEngine needs a spaCy model, which is downloaded
from the model hub at run time and cannot be fetched here, and the recognizers measured
need none. presidio pulls in spaCy (~100 MB), so it is measured from its own environment:

    python -m venv /tmp/presidio && /tmp/presidio/bin/pip install presidio-analyzer faker \
        python-stdnum && /tmp/presidio/bin/python bench/pii_libraries.py --presidio

A library's findings are replaced by a tag, and a value counts as masked as in
bench/pii_measure.py (no five of its letters and digits in a row left).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.data.pii_generated import KINDS, leaked, ordinary_cases, pii_cases  # noqa: E402


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out += (text[last:start], "[x]")
        last = end
    return "".join(out) + text[last:]


def ours():
    from training.data.pii import PiiMasker

    maskers: dict[str, PiiMasker] = {}

    def mask(text: str, locale: str) -> str:
        region = locale.split("_")[1]
        return maskers.setdefault(region, PiiMasker(region)).mask(text)

    return mask


def detect_secrets():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    plugins = [plugin() for plugin in get_mapping_from_secret_type_to_class().values()]

    def mask(text: str, locale: str) -> str:
        spans = []
        for number, line in enumerate(text.split("\n")):
            offset = sum(len(previous) + 1 for previous in text.split("\n")[:number])
            for plugin in plugins:
                for secret in plugin.analyze_line(filename="chat.txt", line=line,
                                                  line_number=number + 1):
                    value = secret.secret_value or ""
                    at = line.find(value) if value else -1
                    if at >= 0:
                        spans.append((offset + at, offset + at + len(value)))
        return _replace(text, spans)

    return mask


def presidio():
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )

    recognizers = [CreditCardRecognizer(), EmailRecognizer(), IbanRecognizer(), IpRecognizer(),
                   UsSsnRecognizer(),
                   PhoneRecognizer(supported_regions=("US", "GB", "DE", "FR", "IN", "AU", "BR",
                                                      "ES", "IT", "NL", "PL", "MX", "RU", "TR"))]
    try:  # the other countries' ids presidio ships, where this version has them
        from presidio_analyzer import predefined_recognizers as more
        for name in ("EsNifRecognizer", "ItFiscalCodeRecognizer", "PlPeselRecognizer",
                     "FiPersonalIdentityCodeRecognizer", "UkNinoRecognizer"):
            if hasattr(more, name):
                recognizers.append(getattr(more, name)())
    except ImportError:
        pass

    def mask(text: str, locale: str) -> str:
        spans = []
        for recognizer in recognizers:
            for result in recognizer.analyze(text, recognizer.supported_entities, None) or []:
                if result.score >= 0.3:
                    spans.append((result.start, result.end))
        return _replace(text, spans)

    return mask


def run(name: str, mask, kinds, seed: int, per_locale: int, ordinary_per_locale: int) -> None:
    caught, total = Counter(), Counter()
    cases = [case for case in pii_cases(seed, per_locale) if case.kind in kinds]
    ordinary = list(ordinary_cases(seed, ordinary_per_locale))
    started = time.perf_counter()
    for case in cases:
        total[case.kind] += 1
        caught[case.kind] += not leaked(case, mask(case.text, case.locale))
    unchanged = sum(mask(case.text, case.locale) == case.text for case in ordinary)
    seconds = time.perf_counter() - started
    figures = " | ".join(f"{caught[k] / total[k]:.1%}" if total[k] else "-" for k in KINDS)
    print(f"| {name} | {figures} | {unchanged / len(ordinary):.2%} | "
          f"{(len(cases) + len(ordinary)) / seconds:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--per-locale", type=int, default=20)
    parser.add_argument("--ordinary-per-locale", type=int, default=200)
    parser.add_argument("--presidio", action="store_true")
    args = parser.parse_args()
    sizes = (args.seed, args.per_locale, args.ordinary_per_locale)
    print("| masker | " + " | ".join(KINDS) + " | ordinary unchanged | lines/s |")
    print("|---|" + "---:|" * (len(KINDS) + 2))
    if args.presidio:
        run("presidio-analyzer recognizers", presidio(),
            {"email", "phone", "card", "iban", "id", "ip"}, *sizes)
    else:
        run("ours (training/data/pii)", ours(), set(KINDS), *sizes)
        run("detect-secrets, default plugins", detect_secrets(), {"secret"}, *sizes)


if __name__ == "__main__":
    main()
