"""The statistics page's GET form: an optional year."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from portal.forms import PublicForm
from portal.params import YearField
from portal.services.oversight.statistics import year_label


class YearForm(PublicForm):
    """``year=`` among the years with data; anything else is dropped with a message."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    year = YearField(_l("年份"))

    def __init__(self, years: list[int], formdata: MultiDict[str, str]) -> None:
        super().__init__(formdata=formdata)
        self.year.choices = [("", _l("全部年份")), *((str(y), year_label(y)) for y in years)]

    def checked_year(self) -> tuple[int | None, list[str]]:
        """The chosen year (None for all years) and messages for a dropped value."""
        if self.validate() and self.year.data:
            return self.year.data, []
        if self.year.errors:
            self.year.data = None
            self.year.errors = []
            return None, [_l("所选年份没有数据或无效，已显示全部年份。")]
        return None, []
