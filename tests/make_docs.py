"""Builders of real documents of every supported format, written into a folder by the tests.

Nothing here is a fixture file copied from elsewhere: each function writes a genuine file with
the library a college's own tools would use (reportlab for PDF, python-docx for DOCX).
"""

from __future__ import annotations

from pathlib import Path


def make_pdf_en(path: Path, *, title: str = "Campus Workshop Rules") -> Path:
    """An English PDF whose paragraphs wrap over several layout lines, with numbered headings."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title, author="Teaching Affairs Office")
    body = (
        "Every apprentice who operates the laser cutter in the north workshop must complete "
        "the quarterly safety drill run by the equipment officer, and the officer records "
        "attendance in the workshop ledger kept beside the cutter."
    )
    story = [
        Paragraph("1. General provisions", styles["Heading1"]),
        Paragraph(
            "These rules govern the practical training workshops of the college and apply "
            "to all teachers, students and visiting enterprise mentors.",
            styles["BodyText"],
        ),
        Spacer(1, 12),
        Paragraph("2. Safety of the laser cutter", styles["Heading1"]),
        Paragraph(body, styles["BodyText"]),
    ]
    doc.build(story)
    return path


def make_pdf_zh(path: Path, *, title: str = "实训基地管理办法") -> Path:
    """A Chinese PDF (built-in CID font STSong-Light) with 第X章/第X条 and wrapped lines."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    normal = ParagraphStyle("zh", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")
    head = ParagraphStyle("zhh", parent=normal, fontSize=15, leading=22)
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title)
    story = [
        Paragraph("第一章 总则", head),
        Paragraph("第一条 为规范学院实训基地的建设与管理，提高实践教学质量，制定本办法。", normal),
        Paragraph("第二章 设备管理", head),
        Paragraph(
            "第五条 实训基地的数控机床由设备管理员统一保管，学生使用数控机床前必须通过安全考核，"
            "考核合格后方可在教师指导下独立操作，设备管理员每月检查一次机床的润滑和接地情况，"
            "并在设备台账上签字确认。",
            normal,
        ),
    ]
    doc.build(story)
    return path


def make_docx(path: Path, *, title: str = "教师企业实践管理规定") -> Path:
    """A DOCX with Heading styles, 第X条 paragraphs and a core-properties title."""
    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.core_properties.author = "人事处"
    d.add_heading("第一章 总则", level=1)
    d.add_paragraph("第一条 为提高教师的实践教学能力，根据国家有关规定，制定本规定。")
    d.add_heading("第二章 实践要求", level=1)
    d.add_paragraph(
        "第三条 专业教师每五年累计到企业实践的时间不少于六个月，实践期间由企业导师"
        "填写考核表，考核结果记入教师业务档案。"
    )
    d.add_heading("Evaluation", level=2)
    d.add_paragraph(
        "Teachers who skip the enterprise placement lose eligibility for promotion that year."
    )
    d.save(str(path))
    return path


def make_html(path: Path, *, title: str = "Library Opening Hours") -> Path:
    """An HTML page with <title>, h1/h2 and paragraphs (plus a script that must be dropped)."""
    path.write_text(
        f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<script>var secret = "do not index me";</script></head>
<body><h1>Library services</h1>
<p>The library supports the college's teaching with printed and digital collections.</p>
<h2>Evening opening</h2>
<p>During examination weeks the reading room stays open until 23:00 and a duty librarian
   answers questions at the front desk.</p>
</body></html>""",
        encoding="utf-8",
    )
    return path


def make_markdown(path: Path, *, title: str = "Scholarship Guidelines") -> Path:
    """Markdown with YAML front matter and numbered headings."""
    path.write_text(
        f"""---
title: {title}
issuer: Student Affairs Office
date: 2024-09-01
---

# Scholarship guidelines

## 1. Eligibility

Full-time students with no disciplinary record may apply.

## 2. Amounts

The first-class scholarship is 8000 yuan per year, paid in two instalments each semester.
""",
        encoding="utf-8",
    )
    return path


def make_txt_gb18030(path: Path) -> Path:
    """A GB18030 plain-text regulation with 第一章/第一条 and 一、/（一） numbering."""
    text = (
        "学生顶岗实习管理办法\n\n"
        "第一章 总则\n"
        "第一条 为加强学生顶岗实习管理，保障实习学生合法权益，制定本办法。\n"
        "第二章 实习安排\n"
        "第二条 顶岗实习原则上安排在第三学年进行。\n\n"
        "一、实习单位的选择\n"
        "（一）实习单位应当具备安全生产条件，并为实习学生购买实习责任保险。\n"
        "（二）学院每年对合作企业进行一次评估。\n"
        "二、实习报酬\n"
        "实习学生的报酬不低于同岗位试用期工资的百分之八十。\n"
    )
    path.write_bytes(text.encode("gb18030"))
    return path


def make_good_folder(folder: Path) -> dict[str, Path]:
    """One file of every format in `folder`; returns doc_id -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "workshop-rules": make_pdf_en(folder / "workshop-rules.pdf"),
        "training-base": make_pdf_zh(folder / "training-base.pdf"),
        "teacher-practice": make_docx(folder / "teacher-practice.docx"),
        "library-hours": make_html(folder / "library-hours.html"),
        "scholarships": make_markdown(folder / "scholarships.md"),
        "internship": make_txt_gb18030(folder / "internship.txt"),
    }
    return files
