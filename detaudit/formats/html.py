"""``--format html``: this run's report as one self-contained page (the dashboard's views, with
styles, data and script inlined; it opens from disk and loads nothing from the network)."""


def render(report, *, color: bool = False) -> str:
    from ..dashboard.data import combine
    from ..dashboard.model import from_dict
    from ..dashboard.site import single_page

    data = combine([from_dict(report.to_dict())])
    data["title"] = "detaudit report"
    return single_page(data)
