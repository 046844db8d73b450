"""What a question asks for: a fact, what to do, an overview; and whether it follows up.

Pure, no I/O. Input: the question (and the earlier user turns). Output: a Query, the frozen
description of the question every later stage reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .text import detect_language


class Intent(StrEnum):
    """The shape of answer a question wants."""

    FACT = "fact"  # when / how many / which document: one line that states it
    TODO = "todo"  # what should we do: countermeasures and requirements
    OVERVIEW = "overview"  # summarise / list all: an outline across a document or topic


_OVERVIEW = re.compile(
    r"\b(summari[sz]e|summary|overview|outline|gist|in a nutshell|main (points|ideas|findings|"
    r"problems|countermeasures|measures|recommendations|requirements)|key (points|takeaways)|"
    r"list (all|every|the)|what are (all|the main|the key)|(pull|put|bring) together|round up|"
    r"all (of )?the (national )?(requirements|rules|provisions|measures|countermeasures|targets)|"
    r"what (countermeasures|measures|recommendations|problems|solutions|requirements|strategies)"
    r" (does|do|did) (the|this|it)|which (countermeasures|problems) does)\b|"
    r"概括|总结|概述|综述|主要内容|讲了什么|说了什么|(有|都有|包括|存在)哪些(对策|措施|问题|要求|建议|规定|内容)|"
    r"列出|梳理|要点|(提出|提了)了?哪(些|几)|(一共|总共)(提出|有|包括)?了?哪|全部|所有",
    re.I,
)
_FACT = re.compile(
    r"^\s*((by|in|from|since|until|before|after|for|under|according to|as of) [^,?]{1,30},\s*)?"
    r"(when(?= (is|was|were|are|did|does|do|will|would|should|must|can|could|has|have|had)\b)|"
    r"what year|which year|in what year|by when|by what year|how many|how much|"
    r"how long|how often|how old|who (issued|published|signed|released)|"
    r"which (document|body|bodies|ministry|ministries|department|departments|agency|law|plan|"
    r"policy|round|year)|what('s| is| was) the (document number|number|percentage|share|"
    r"proportion|ratio|amount|deadline|date|target|standard|minimum|name|title)|"
    r"what percentage|what share|what proportion|is there a (deadline|minimum)|"
    r"what ([\w-]+ ){0,2}(level|amount|standard|percentage|share|proportion|ratio|number|figure) "
    r"(did|does|do|was|is|were|are|must|should|has|have))\b|"
    r"\b((on|from|by|since|until) )?what date\b|\bwhat (is|was|were|are) the (minimum|maximum|"
    r"number|share|percentage|amount|deadline|date|target|standard|document number|ratio)\b|"
    r"\b(effective date|document number|doc(ument)? (number|no\.?)|take effect|took effect|"
    r"come into force|came into force)\b|"
    r"何时|什么时候|哪一年|哪年|哪天|哪一天|几月几[日号]|什么日期|多少|(?<!哪)几[年个次所项篇天月家种类条批轮名位门件]|多久|多长|"
    r"哪个(部门|文件|机构|单位)|"
    r"哪些部门|哪几个部门|谁(发布|印发|制定)|文号|比例|什么时间(?!要求)|是哪|生效|施行|什么标准",
    re.I,
)
_FOLLOWUP = re.compile(
    r"\b(that|this|those|these|it|they|them|its|their|above|same|also|what about|how about|"
    r"and|then|there)\b|^\s*(and|so|but|what about|how about|also)\b|"
    r"(这|那|它|他们|上述|还有|此外|呢|另外|同样|这些|那些|其中)",
    re.I,
)

# What a fact question asks for, and how to see it in a sentence.
_ASKS = {
    "date": re.compile(
        r"\b(when(?! (we|you|they|a|an|the|our|your|their|teachers?|colleges?|students?)\b)|"
        r"what year|which year|by when|date|deadline|take effect|took effect|"
        r"come into force|came into force|effective)\b|何时|什么时候|哪一年|哪年|哪天|哪一天|"
        r"几月几[日号]|什么日期|什么时间(?!要求)|"
        r"生效|施行|期限|截止",
        re.I,
    ),
    "quantity": re.compile(
        r"\b(how many|how much|percentage|share|proportion|ratio|amount|number of|minimum|"
        r"standard)\b|多少|(?<!哪)几[个次所项篇家种类条批名位门件]|比例|标准",
        re.I,
    ),
    # "what percentage of its posts": a share, which "3 years" or "6 months" does not state
    "share": re.compile(
        r"\b(percentage|percent|proportion|ratio|what share|which share)\b|比例|占比|百分之|几成",
        re.I,
    ),
    # "how many B-grade units": a count by grade, which a total ("60 schools") does not state
    "grade": re.compile(
        r"\b([ABC][- ]grade[ds]?|grade[ds]? [ABC]|graded [ABC]|[ABC][- ]graded|[ABC][- ]level)\b|"
        r"[ABC]\s*档|档次",
    ),
    "money": re.compile(
        r"\bhow much (money|funding|funds|subsidy|subsidies|support|allowance|grant|pay)\b|"
        r"\bhow much (does|do|did|will|is|are)\b.*\b(get|receive|paid|pay|cost|worth)\b|"
        r"多少钱|多少经费|金额|资助标准|补贴标准|发多少|给多少",
        re.I,
    ),
    "duration": re.compile(
        r"\b(how long|how often|how many (months|years))\b|多久|多长|几年|时长|时间要求", re.I
    ),
    "issuer": re.compile(
        r"^\s*who\b|\bby whom\b|\bwho (issued|published|signed|released|approved|is responsible)\b|"
        r"\b(which (body|bodies|ministry|ministries|department|departments|agency))\b|"
        r"哪个部门|哪些部门|哪几个部门|谁|哪个机构",
        re.I,
    ),
    "docnumber": re.compile(
        r"\b(document number|doc(ument)? (no\.?|number)|reference number)\b|文号|发文字号", re.I
    ),
    "document": re.compile(
        r"\b(which (document|law|plan|policy)|name of the|title of)\b|哪个文件|什么文件", re.I
    ),
}
_SEES = {
    "date": re.compile(
        r"\b(19|20)\d{2}\b|\d{4}年|\d{1,2}月|\b(January|February|March|April|May|June|July|"
        r"August|September|October|November|December)\b|"
        r"\b\d{1,2}(:\d{2})?\s*(am|pm|a\.m\.|p\.m\.|o'clock)|\b\d{1,2}:\d{2}\b|[上下]午\s*\d{1,2}\s*[点时]|\d{1,2}[点时]",
        re.I,
    ),
    "quantity": re.compile(
        r"\d|\b(half|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|"
        r"million|billion|percent|majority)\b|[一二三四五六七八九十百千两]+\s*[个所项名家人倍成批类万亿元年]|"
        r"一半|过半|半数|多数",
        re.I,
    ),
    "share": re.compile(
        r"\d\s*(%|％|percent\b|per cent\b)|百分之|[一二三四五六七八九十]成|\bhalf\b|一半|过半|半数|"
        r"\bmajority\b|\b(one|two)[- ](third|quarter|fifth)s?\b|\bquarter\b|分之|\d+\s*:\s*\d+|"
        r"\bratio of \d",
        re.I,
    ),
    "grade": re.compile(
        r"\bgraded\b|\bgrade [ABC]\b|\b\d+\s+[ABC]\b|[ABC]\s*档\s*\d|\d+\s*所?\s*[ABC]\s*档"
    ),
    "money": re.compile(
        r"\d[\d,.]*\s*(thousand |million |billion )?(yuan|RMB|CNY)\b|\d[\d,.]*\s*[万亿]?元|"
        r"(yuan|元)\s*\d",
        re.I,
    ),
    "duration": re.compile(
        r"\b(\d+|one|two|three|four|five|six|ten)[\s-]*(months?|years?|weeks?|days?)\b|"
        r"\bevery\s+(\d+|two|three|four|five|six|ten)\b|个月|\d+年|每\d+年|[一二三四五六七八九十两]年",
        re.I,
    ),
    "issuer": re.compile(
        r"\b(Ministry|Ministries|MOE|MOF|MOHRSS|NDRC|MIIT|SASAC|State Council|Central Committee|"
        r"General Office|issued (jointly )?by|jointly)\b|"
        r"教育部|国务院|中共中央|办公厅|财政部|印发|联合",
    ),
    "docnumber": re.compile(r"〔\d{4}〕\s*\d+\s*号|\bNo\.\s*\d"),
    "document": re.compile(r"《|\b(Law|Plan|Decision|Provisions|Opinions|Measures|Notice)\b"),
}


@dataclass(frozen=True)
class Query:
    """A question as every stage after validation sees it."""

    text: str  # as asked (validated, whitespace-normalised)
    language: str  # "zh" or "en"
    intent: Intent
    search_text: str  # what retrieval searches: the question, or a follow-up read in context
    previous: str = ""  # the earlier question a follow-up was read against, else ""
    earlier: str = ""  # the last earlier user question, follow-up or not ("" without history)
    asks: frozenset[str] = field(default_factory=frozenset)  # for FACT: date, quantity ...
    sources: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None

    @property
    def filtered(self) -> bool:
        """True when the user narrowed the search to some documents or kinds."""
        return bool(self.sources or self.kinds)


_COMPOUND = re.compile(
    r"\b(and|or|also) (how|what|why|where|which)\b|[?？].+[?？]|"
    r"(以及|并且|同时|还有|另外).{0,6}(如何|怎么|怎样|哪些)",
    re.I,
)


# "我们想拉几家企业一起共建……，该拿哪些政策去谈？": after a verb, in a clause the question goes
# on from, 几 is "a few", not "how many"
_A_FEW = re.compile(
    r"(?<=[请拉找选派招聘引进办建搞开设组请邀])几(?=[家位个名所门项支批][^，,。；;？?]*[，,。；;])"
)


def _asking(question: str) -> str:
    """The question with its indefinite 几 ("a few") read as 些, which asks for no count."""
    return _A_FEW.sub("些", question)


def classify(question: str) -> Intent:
    """The intent of one question on its own."""
    question = _asking(question)
    if _OVERVIEW.search(question):
        return Intent.OVERVIEW
    if _FACT.search(question):
        compound = _COMPOUND.search(question.strip().rstrip("?？"))
        if compound is None:
            return Intent.FACT
        # "when ... and how should we ...?" asks for more than a fact; "who issued it, and
        # what's the document number?" asks for two facts
        rest = question[compound.start() :].split(None, 1)[-1]
        if compound.group(2) and _FACT.search(rest):
            return Intent.FACT
    return Intent.TODO


def asked_types(question: str) -> frozenset[str]:
    """What kind of fact a question asks for (empty for non-fact questions)."""
    asks = {name for name, rx in _ASKS.items() if rx.search(_asking(question))}
    if "docnumber" in asks:
        asks.discard("quantity")  # "what is the document number" asks for a 文号, not a count
    if "grade" in asks:
        asks.discard("quantity")  # "how many A-grade units" is answered by a count by grade
    if "share" in asks:
        asks.discard("quantity")  # "what percentage" is answered by a share, not any number
    if "money" in asks:
        asks.discard("quantity")  # "how much money" is answered by an amount, not a share
    return frozenset(asks)


# numbers that are not facts: reference markers [3], article and section numbers
_NOT_FACTS = re.compile(
    r"\[\d+\]|\b(Art|Arts|Article|Articles|No|§)\.?\s*\d+(\s*(,|and|–|-)\s*\d+)*|"
    r"第\d+条|§\s*\d+(\.\d+)*|\(\d\)|（\d）|〔\d{4}〕\s*\d+\s*号|职教\s*\d+\s*条|"
    r"\b1\s*\+\s*X\b|Made in China 2025|中国制造2025",
    re.I,
)


_YEAR_LIKE = re.compile(
    r"(?<![\d.,])(19|20)\d{2}(\s*[–—-]\s*(19|20)?\d{2,4})?年|"
    r"(?<![\d.,])(19|20)\d{2}(\s*[–—-]\s*(19|20)?\d{2,4})?\b(?![.,%]?\d|%)|"
    r"\d{1,2}\s*月(\s*\d{1,2}\s*[—–-]?\s*\d{0,2}\s*日)?|"
    r"\b\d{1,2}(\s*[–-]\s*\d{1,2})?\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b",
    re.I,
)


def sentence_has(kind: str, sentence: str) -> bool:
    """True when a sentence contains what a fact question of this kind asks for."""
    rx = _SEES.get(kind)
    if kind != "docnumber":
        sentence = _NOT_FACTS.sub(" ", sentence)
    if kind in ("quantity", "money", "share"):
        sentence = _YEAR_LIKE.sub(" ", sentence)  # "in 2019" is a date, not a count
    return bool(rx and rx.search(sentence))


TERSE_ZH = 10  # characters
TERSE_EN = 4  # words


def is_followup(question: str, previous: str) -> bool:
    """A short question with a reference back ("and for that?", "那经费呢？") after a turn."""
    if not previous:
        return False
    zh = detect_language(question) == "zh"
    short = len(question) <= 20 if zh else len(question.split()) <= 12
    # "中央财政投了多少钱？" right after a question about a programme: too short to stand alone
    terse = len(question.strip()) <= TERSE_ZH if zh else len(question.split()) <= TERSE_EN
    return (short and bool(_FOLLOWUP.search(question))) or (terse and "《" not in question)


def as_followup(query: Query) -> Query:
    """The same question read against the earlier one (when it was not recognised as such)."""
    if not query.earlier or query.previous:
        return query
    return replace(query, previous=query.earlier, search_text=f"{query.text} {query.earlier}")


def as_standalone(query: Query) -> Query:
    """The question read on its own (when reading it as a follow-up found no answer)."""
    if not query.previous:
        return query
    return replace(query, previous="", search_text=query.text, intent=classify(query.text))


# Who is asking, not what: "Dean here -", "HR office here.", "Teaching affairs office question:",
# "您好，我是教务处的，". Left in, it pulls every cosine towards nothing in the texts.
_PREAMBLE = re.compile(
    r"^\s*((hi|hello|dear [\w ]{1,20})[,!.]?\s+)?"
    r"(([\w'’&/ -]{1,40}?\s+(here|speaking)|[\w'’&/ -]{1,40}?\bquestion|quick question)"
    r"\s*[.,:;!–—-]+\s*)?",
    re.I,
)
_PREAMBLE_ZH = re.compile(r"^\s*((您好|你好)[，,！!。]?\s*)?(我是[^，,。？?]{1,12}[，,。]\s*)?")


def asking_part(question: str) -> str:
    """The sentences of a question that ask for a fact ("What's the doc number ...?"), not
    the asker's purpose around them ("Need it for a report footnote.")."""
    parts = re.findall(r"[^.?!。？！]+[.?!。？！]*", question)
    asking = [p for p in parts if _FACT.search(p.strip())]
    return "".join(asking) or question


def without_preamble(question: str) -> str:
    """The question without a greeting or the asker's introduction (or as asked, if that is
    all there is)."""
    rest = question[_PREAMBLE.match(question).end() :]  # type: ignore[union-attr]
    rest = rest[_PREAMBLE_ZH.match(rest).end() :]  # type: ignore[union-attr]
    return rest if len(rest.strip()) >= 4 else question


def make_query(
    question: str,
    previous_questions: list[str],
    *,
    sources: list[str] | None = None,
    kinds: list[str] | None = None,
) -> Query:
    """Build the Query for a validated question and the earlier user questions (oldest first)."""
    previous = previous_questions[-1] if previous_questions else ""
    follow = is_followup(question, previous)
    intent = classify(question)
    if follow and intent is Intent.TODO:
        # "and for new teachers?" keeps the shape of the question it follows
        intent = classify(previous)
    asked = without_preamble(question)
    search_text = f"{asked} {previous}" if follow else asked
    return Query(
        text=question,
        language=detect_language(question),
        intent=intent,
        search_text=search_text,
        previous=previous if follow else "",
        earlier=previous,
        asks=asked_types(question),
        sources=tuple(sources) if sources else None,
        kinds=tuple(kinds) if kinds else None,
    )


def history_turns(history: Sequence[Any] | None) -> list[tuple[str, str]]:
    """Normalise a chat history (pairs or role/content dicts) to (role, text) turns."""
    turns: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, list):  # gradio multimodal content parts
                content = " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
            turns.append((str(item.get("role", "user")), str(content or "")))
        elif isinstance(item, list | tuple) and len(item) == 2:
            turns.append(("user", str(item[0] or "")))
            turns.append(("assistant", str(item[1] or "")))
    return turns


def user_questions(history: Sequence[Any] | None) -> list[str]:
    """The earlier user questions of a chat history, oldest first."""
    return [t for role, t in history_turns(history) if role == "user" and t.strip()]


def condense(question: str, history: Sequence[Any] | None) -> tuple[str, str]:
    """A follow-up as a standalone retrieval query: (query, the question it follows or "")."""
    query = make_query(question, user_questions(history))
    return query.search_text, query.previous


_PROBLEM_WORDS = re.compile(
    r"\b(problems?|issues?|difficult(y|ies)|challenges?|obstacles?|affect|affects|impact)\b|"
    r"问题|困难|难点|挑战|障碍|影响",
    re.I,
)


PRESCRIPTIVE_ASK = re.compile(
    r"\b(how (can|should|do|could|to)|what (can|should|could)|ways? to|solve|fix|address|"
    r"tackle|improve|deal with)\b|"
    r"怎么办|如何|怎样|怎么(做|解决|改|建|办)|应该|该怎么|解决|对策|措施|建议",
    re.I,
)


def about_problems(query: Query) -> bool:
    """The question asks about a problem itself, not what to do about it."""
    return bool(_PROBLEM_WORDS.search(query.text)) and not PRESCRIPTIVE_ASK.search(query.text)
