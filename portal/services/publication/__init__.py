"""Publishing the four kinds and everything derived from them: drafts, history, queries behind the public pages, import, open data, the sitemap."""
