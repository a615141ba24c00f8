from search_index.analyzer import normalize
from search_index.snippets import WIDTH, snippet


def make(text: str, *terms: str, body: int = 0) -> str:
    return snippet(text, normalize(text), tuple(normalize(t) for t in terms), body)


def test_matches_are_marked_and_text_escaped():
    html = make("<b>经查</b>，该公司非煤矿山存在隐患 & 未整改", "矿山", "隐患")
    assert html == "&lt;b&gt;经查&lt;/b&gt;，该公司非煤<mark>矿山</mark>存在<mark>隐患</mark> &amp; 未整改"


def test_the_original_characters_are_shown_for_a_normalised_match():
    assert make("代码９１５３ABC", "9153abc") == "代码<mark>９１５３ABC</mark>"


def test_overlapping_matches_are_merged():
    assert make("非煤矿山", "煤矿", "矿山") == "非<mark>煤矿山</mark>"


def test_a_long_text_is_cut_around_the_first_match_after_the_title():
    title = "磨憨镇某公司行政处罚决定"
    text = title + "\n" + "甲" * 200 + "磨憨镇" + "乙" * 200
    html = make(text, "磨憨", body=len(title) + 1)
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>磨憨</mark>镇" in html
    assert title not in html
    assert len(html.replace("<mark>", "").replace("</mark>", "")) <= WIDTH + 2


def test_line_breaks_become_spaces():
    assert make("景洪市\n勐海县", "勐海") == "景洪市 <mark>勐海</mark>县"


def test_a_match_only_in_the_title_shows_the_start_of_the_body():
    assert make("非煤矿山\n正文内容", "矿山", body=5) == "正文内容"


def test_the_window_shows_as_many_terms_as_it_can():
    text = "矿山" + "甲" * 300 + "矿山隐患并存" + "乙" * 300
    html = make(text, "矿山", "隐患")
    assert "<mark>矿山</mark><mark>隐患</mark>" in html or "<mark>矿山隐患</mark>" in html
