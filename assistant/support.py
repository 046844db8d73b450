"""Answerability: does the corpus answer this question at all? Pure, no I/O after load.

Two checks, both needed for an answer:
1. *support*: the best passage's calibrated similarity clears its threshold (per language);
2. *coverage*: every distinctive term of the question (a country, a school level, a region, a
   year or round the question names, a scope word listed in ``data/scope.yaml``) occurs in the
   passages found for it. "Which colleges are on the third-round list for 2030-2034?" finds the
   2019 first round, strongly similar, but the passages never say 2030: not covered. A fact
   question also names the thing it wants measured ("课时费按什么标准", "how much subsidy per
   apprentice"): a rare word of it (by general word frequency, ``wordfreq``) that none of the
   passages use means they state some other number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from .glossary import expansion
from .lexical import tokenize
from .text import CJK_RE as _CJK
from .types import Passage

# Support: per passage, English questions combine the USE cosine with the question as asked
# (`support`), the dense cosines with its glossary expansion (`support_expanded`) and the raw
# BM25 score; Chinese questions use the expanded USE cosine. The thresholds separate
# tests/golden/**/offtopic.jsonl (all refused) from the on-topic sets; `assistant eval` prints
# both rates.
SUPPORT_THRESHOLD = {"en": 0.62, "zh": 0.285}
# When the user narrows the search to a kind or to documents, the question is about those
# texts by the user's own choice; the evidence needed is lowered by this much.
FILTER_SLACK = {"en": 0.06, "zh": 0.03}

_SCOPE = Path(__file__).with_name("data") / "scope.yaml"
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_ROUND = re.compile(
    r"\b(first|second|third|fourth|fifth|sixth|1st|2nd|3rd|4th|5th|6th|next|new)[- ]"
    r"(round|batch|phase|cycle)\b|第[一二三四五六七八九十\d]+(轮|批|期)|下一轮|新一轮",
    re.I,
)
# a name the question quotes or titles (《...》, "...") must be found as written
_QUOTED = re.compile(r"《([^》]{2,60})》|“([^”]{2,40})”|\"([^\"]{2,40})\"")


# A fact question's word rarer than this (Zipf scale: 3 = once per million words) and absent
# from every passage found is the thing it asks about, which they do not state. Common words
# ("teacher", "老师") are synonyms the texts word differently, not a missing subject.
RARE_ZIPF = 3.6
_INTERROGATIVE = re.compile(r"多少|多长|多久|哪|几|什么|怎|如何|是否")
_NOUN_TAGS = ("n", "vn", "l", "i")
_NOT_NOUN = re.compile(r"(i[sz]e[sd]?|ing|ed|ly|ous|ive|ful|able|ible)$")


@lru_cache(maxsize=1)
def _posseg() -> object:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def _zipf(word: str, language: str) -> float:
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, language))


def rare_terms(question: str) -> list[str]:
    """The question's rare content words (Chinese nouns, English words of 4+ letters)."""
    if _CJK.search(question):
        seg = _posseg()
        words = [
            w
            for w, flag in seg.lcut(question)  # type: ignore[attr-defined]
            if len(w) >= 2
            and _CJK.fullmatch(w[0])
            and flag.startswith(_NOUN_TAGS)
            and not _INTERROGATIVE.search(w)
        ]
        return [w for w in dict.fromkeys(words) if _zipf(w, "zh") < RARE_ZIPF]
    # English has no tagger here: words shaped like verbs, adverbs and adjectives are left out
    words = [w for w in re.findall(r"[A-Za-z][a-z]{3,}", question) if not _NOT_NOUN.search(w)]
    return [w for w in dict.fromkeys(words) if _zipf(w.lower(), "en") < RARE_ZIPF]


def _unquote(text: str) -> str:
    """Text without quotation marks, brackets and spaces, lower-cased (for name look-ups)."""
    return re.sub(r"[\s\"“”'‘’《》〈〉()（）]", "", text).lower()


def support(passage: Passage) -> float:
    """Evidence that a passage answers the question, as a margin over its threshold (>= 0: yes).

    English question and English passage: the USE cosine with the question as asked, the dense
    cosines with its glossary expansion and the raw BM25 score. A Chinese question or a Chinese
    passage: the multilingual USE cosine (MiniLM and BM25 do not cross languages); for an
    English question on a Chinese passage, averaged over the expanded and the asked question.
    """
    meta, sig = passage.metadata, passage.signals
    if meta.get("named_section"):
        return 1.0  # the question names this section ("§4.3", "the conclusion"): it is the topic
    if sig.query_language == "zh" or meta.get("lang") == "zh":
        slack = FILTER_SLACK["zh"] if sig.filtered else 0.0
        cos = sig.cos_use
        if sig.query_language != "zh":
            # English question, Chinese passage: half of the evidence comes from the question
            # as asked, so the glossary expansion alone cannot make an off-topic question
            # look on-topic through a Chinese text
            cos = 0.5 * (cos + sig.support)
        return cos - SUPPORT_THRESHOLD["zh"] + slack
    bm25 = 0.05 * math.log1p(sig.bm25_raw)
    slack = FILTER_SLACK["en"] if sig.filtered else 0.0
    return 0.5 * sig.support + sig.support_expanded + bm25 - SUPPORT_THRESHOLD["en"] + slack


def is_supported(passages: Sequence[Passage], language: str = "en") -> bool:
    """True when the best passage clears its calibrated support threshold."""
    return bool(passages) and max(support(p) for p in passages) >= 0.0


@lru_cache(maxsize=1)
def _scope_forms() -> list[tuple[str, tuple[re.Pattern[str] | str, ...]]]:
    """(display form, matchers) per scope entry: a regex per Latin form, the string per CJK one."""
    import yaml

    raw = yaml.safe_load(_SCOPE.read_text(encoding="utf-8")) or {}
    entries = []
    for groups in raw.values():
        for forms in groups or []:
            matchers: list[re.Pattern[str] | str] = []
            for form in (str(f) for f in forms):
                if _CJK.search(form):
                    matchers.append(form)
                else:
                    pattern = r"(?<![\w-])" + re.escape(form) + r"(?![\w-])"
                    # short all-caps forms (UK, EU, AI) only as written, not "ai" inside text
                    flags = 0 if form.isupper() and len(form) <= 4 else re.I
                    matchers.append(re.compile(pattern, flags))
            entries.append((str(forms[0]), tuple(matchers)))
    return entries


def _found(matcher: re.Pattern[str] | str, text: str) -> str:
    if isinstance(matcher, str):
        return matcher if matcher in text else ""
    m = matcher.search(text)
    return m.group(0) if m else ""


# A degree named as a kind of recruit ("can we hire fresh master's graduates", "直接招应届硕士")
# is covered by what the texts say of hiring graduates; as a school level it is out of scope
_RECRUITS = re.compile(r"\b(hire|hiring|hired|recruit\w*)\b|招聘|招|聘|引进", re.I)
_GRADUATES = re.compile(r"\bgraduates?\b|毕业生|应届", re.I)
_DEGREES = frozenset({"postgraduate", "undergraduate"})

# "Which colleges were on the A-grade list?", "第二批试点城市具体是哪些城市？": a question for
# names is answered only by passages that name some (a college, a city); counts are no names
_NAMES_ASKED = (
    (
        re.compile(
            r"\bwhich (colleges|schools|universities|institutions|polytechnics)\b(?! should)|"
            r"哪些(学校|院校|高职院校|大学|学院)|哪(几|十)所",
            re.I,
        ),
        re.compile(
            r"\b[A-Z][a-z]+ (Polytechnic|College|University|Institute)\b|"
            r"[\u4e00-\u9fff]{2,12}(职业技术学院|职业学院|技术大学|大学)"
        ),
        {"en": "the names of the colleges", "zh": "具体院校名单"},
    ),
    (
        re.compile(r"\bwhich cities\b|哪些城市|哪几个城市", re.I),
        re.compile(
            r"\b[A-Z][a-z]+ (City|Municipality)\b|[\u4e00-\u9fff]{2,4}(?<!城)市(?![域场级民])"
        ),
        {"en": "the names of the cities", "zh": "具体城市名单"},
    ),
)


def names_unanswered(question: str, sentences: Iterable[str]) -> str:
    """For a question that asks for names ("which colleges were on the A-grade list?"): what
    it asks for when none of the answer's sentences names one, else "". A name elsewhere in
    the passages ("an article by Guangzhou Railway Polytechnic") does not answer it."""
    language = "zh" if _CJK.search(question) else "en"
    quoted = list(sentences)
    for asks, names, what in _NAMES_ASKED:
        if asks.search(question) and not any(names.search(s) for s in quoted):
            return what[language]
    return ""


def uncovered_terms(question: str, passages: Iterable[Passage], *, measured: str = "") -> list[str]:
    """The question's distinctive terms that none of the passages (or their titles) mention.

    Args:
        question: the question as asked (a follow-up: as read in its context).
        passages: what retrieval found for it (both languages of a document count).
        measured: a fact question as the user wrote it, whose rare words name what it asks
            to be stated (checked too); "" for other questions.

    Returns:
        The terms, as the question wrote them, in order; [] when everything is covered.
    """
    corpus = "\n".join(
        f"{p.title}\n{p.metadata.get('title_zh', '')}\n{p.metadata.get('title_en', '')}\n"
        f"{p.metadata.get('date', '')}\n{p.section}\n{p.text}"
        for p in passages
    )
    lowered = corpus.lower()
    missing: list[str] = []
    recruits = bool(_RECRUITS.search(question) and _GRADUATES.search(corpus))
    for display, matchers in _scope_forms():
        asked = [w for w in (_found(m, question) for m in matchers) if w]
        if recruits and display in _DEGREES:
            continue  # "hire fresh master's graduates": the rule on hiring new graduates answers
        if asked and not any(_found(m, corpus) for m in matchers):
            missing.append(asked[0])
    for year in dict.fromkeys(_YEAR.findall(question)):
        if year not in corpus:
            missing.append(year)
    flat = _unquote(corpus)
    for groups in _QUOTED.findall(question):
        name = next((g for g in groups if g), "").strip()
        if len(name) >= 2 and _unquote(name) not in flat:
            missing.append(f"“{name}”")
    for m in _ROUND.finditer(question):
        phrase = m.group(0)
        if phrase.lower().replace("-", " ") not in lowered.replace("-", " "):
            missing.append(phrase)
    language = "zh" if _CJK.search(question) else "en"
    for asks, names, what in _NAMES_ASKED:
        if asks.search(question) and not names.search(corpus):
            missing.append(what[language])
    if measured:
        stems = set(tokenize(corpus))
        for word in rare_terms(measured):
            if word in corpus or word.lower() in lowered or expansion(word):
                continue  # found, or a word the glossary knows ("高职") for what the texts say
            # "subsidy" is covered by "subsidies"; a Chinese compound whose parts the texts use
            # ("优惠政策") is worded differently
            parts = [t for t in tokenize(word) if t != word or not _CJK.search(word)]
            if parts and all(t in stems for t in parts):
                continue
            if word not in missing:
                missing.append(word)
    return missing
