def test_home_page_renders_in_chromium_without_javascript(live_server, page_nojs):
    page_nojs.goto(live_server + "/")
    assert page_nojs.locator("html").get_attribute("lang") == "zh-CN"
    assert "安全生产" in page_nojs.title()
