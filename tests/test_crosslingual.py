"""Chinese questions find English passages, English questions find Chinese documents.

The Chinese document is written by the test itself and ingested into a private index.
"""

from __future__ import annotations

import pytest

import assistant as api

CHINESE_RULES = """---
title: 某职业技术学院教师队伍建设管理办法
kind: own
---
第一章 总则

第一条 为加强学院"双师型"教师队伍建设，提高人才培养质量，结合学院实际，制定本办法。

第二章 企业实践

第二条 专业课教师每五年累计到企业实践的时间不少于六个月，新入职教师须先到合作企业实践三个月后方可独立承担专业课教学。

第三条 教师企业实践期间的工作量按每月四十课时计算，差旅费由学院专项经费列支。

第三章 薪酬与职称

第四条 学院设立高技能人才培养专项奖励，教师指导学生在全国职业院校技能大赛中获一等奖的，给予每人两万元奖励。

第五条 教师参与高技能人才培养的工作量和成果纳入年度绩效考核，作为职称评审和岗位晋升的重要依据。

第四章 实训基地

第六条 学院与企业共建生产性实训基地，企业投入的设备由双方共同管理，基地运行费用由学院和企业按比例分担。

第五章 学生资助

第七条 家庭经济困难学生可申请国家助学金，学院另设勤工助学岗位，每月补助不低于八百元。
"""

ENGLISH_QUESTIONS = [
    ("How long must our specialty teachers spend working in companies?", "第二条"),
    ("Who pays the travel costs when a teacher is placed in a company?", "第三条"),
    ("What bonus do teachers get when their students win a national skills contest?", "第四条"),
    ("Does training skilled talent count toward a teacher's promotion and appraisal?", "第五条"),
    (
        "How are the running costs of the jointly built training base shared with the company?",
        "第六条",
    ),
    ("What financial help can students from poor families get?", "第七条"),
]


@pytest.fixture(scope="module")
def chinese_doc(tmp_path_factory):
    from assistant import Settings
    from assistant.pipeline import Assistant

    folder = tmp_path_factory.mktemp("zh")
    path = folder / "teacher-rules-zh.md"
    path.write_text(CHINESE_RULES, encoding="gb18030")
    engine = Assistant(Settings(data_dir=folder / "data", auto_ingest=False))
    report = engine.ingest([path])
    assert report.added == ["teacher-rules-zh"], report.as_dict()
    return engine


@pytest.mark.parametrize(("question", "article"), ENGLISH_QUESTIONS)
def test_english_question_finds_the_chinese_article(chinese_doc, question, article):
    passages = chinese_doc.retrieve(question, k=3)
    keys = [p.metadata.get("section_key") for p in passages]
    assert article in keys, (question, keys)


def test_english_answer_quotes_the_chinese_original(chinese_doc):
    answer = chinese_doc.ask("How long must our specialty teachers spend working in companies?")
    assert answer.grounded and answer.language == "en"
    assert "六个月" in answer.text  # quoted in its original language
    assert "Your document" in answer.text


def test_chinese_question_finds_english_paper_section(corpus_assistant):
    passages = api.retrieve(
        "如何提高教师薪酬竞争力？", k=3, sources=["high-skilled-talent-training"]
    )
    assert "4.3" in [p.metadata["section_key"] for p in passages]


def test_chinese_answer_uses_chinese_wording_and_titles(corpus_assistant):
    answer = api.ask("专业课教师到企业实践有什么时间要求？")
    assert answer.grounded and answer.language == "zh"
    assert "出处" in answer.text and "政策要求" in answer.text
    assert "《" in answer.text  # policy briefs cited with their Chinese title


def test_mixed_language_question(corpus_assistant):
    passages = api.retrieve(
        "双师型 teachers salary 绩效", k=5, sources=["high-skilled-talent-training"]
    )
    assert "4.3" in [p.metadata["section_key"] for p in passages[:3]]


def test_english_terms_reach_chinese_chunks_lexically(chinese_doc):
    from assistant.glossary import chinese_terms

    terms = chinese_terms("How are our lecturers paid, and who funds the training workshop?")
    assert "教师" in terms and "薪酬" in terms and "实训基地" in terms
    assert chinese_terms("如何建设双师型教师队伍") == ""  # only English forms trigger it
    assert chinese_terms("What is the capital of France?") == ""
    hits = chinese_doc.lexical.search("teachers 教师 薪酬", 5, chinese_only=True)
    assert hits, "the Chinese regulation should match its own words"
    keys = [p.metadata.get("section_key") for p in chinese_doc.retrieve("How are teachers paid?")]
    assert "第四条" in keys[:3] or "第五条" in keys[:3], keys
