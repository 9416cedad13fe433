"""What if these accounts reshared? Extra distinct people, from the stored theta sketches."""

from __future__ import annotations

from dash import Input, Output, State, dcc, html

from reach.followers.sketches import SketchStore, what_if

from .. import state as st
from ..format import human
from .common import empty

ROUGH = ("Rough: these accounts add few people next to the campaign's audience, and a "
         "sketch measures that difference only coarsely. Trust the interval, not the "
         "point estimate.")


def layout(reader, state) -> html.Div:
    dates = st.dates(state)
    campaigns = reader.campaigns(dates)
    if campaigns.height == 0:
        return empty("No campaign was active in the chosen dates." if dates else
                     "No marts yet: run `reach compute --lake LAKE`, then reload.")
    networks = reader.networks()
    ids = campaigns["campaign_id"].to_list()
    c = st.first(state, "campaign")
    c = c if c in ids else (reader.default_campaigns(1, dates) or ids)[0]
    n = st.first(state, "network")
    n = n if n in networks else (networks[0] if networks else None)
    return html.Div([
        html.P("Choose candidate accounts (for example influencers you might brief): how many "
               "more distinct people would a reshare by them add to the campaign? Estimated "
               "from the theta sketches of each account's followers, with ~95% bounds."),
        html.Div(style={"display": "flex", "gap": "12px", "flexWrap": "wrap"}, children=[
            dcc.Dropdown(id="wi-campaign", value=c, clearable=False,
                         style={"width": "320px", "maxWidth": "100%"},
                         options=[{"label": f"{r['name']} ({r['campaign_id']})",
                                   "value": r["campaign_id"]}
                                  for r in campaigns.iter_rows(named=True)]),
            dcc.Dropdown(id="wi-network", value=n, clearable=False, style={"width": "180px"},
                         options=networks),
        ]),
        dcc.Dropdown(id="wi-accounts", multi=True, value=[], placeholder="candidate accounts "
                     "(largest audiences first; type to search every account)…",
                     style={"marginTop": "8px"}),
        dcc.Loading(html.Div(id="wi-answer", style={"fontSize": "20px", "margin": "16px 0"}),
                    type="dot"),
    ])


def answer(reader, campaign: str, network: str, accounts: list[str]):
    """(estimate, current exposers) — the library call the page shows."""
    table = reader.sketch_table(network)
    if table.height == 0:
        return None
    store = SketchStore(table)
    current = reader.keys_of(network, reader.exposer_ids(campaign, network))
    authors = reader.keys_of(network, reader.exposer_ids(campaign, network, role="author"))
    return what_if(store, current, reader.keys_of(network, accounts), excluded=authors)


def register(app, reader) -> None:
    @app.callback(Output("wi-accounts", "options"), Output("url", "search",
                                                           allow_duplicate=True),
                  Input("wi-campaign", "value"), Input("wi-network", "value"),
                  Input("wi-accounts", "search_value"), State("wi-accounts", "value"),
                  State("url", "search"), prevent_initial_call="initial_duplicate")
    def options(campaign, network, typed, chosen, search):
        search = st.with_values(search, campaign=campaign, network=network)
        if not network:
            return [], search
        # the largest audiences first; what is typed searches every account; what is
        # chosen stays listed (a dropdown drops a value its options no longer hold)
        cand = reader.candidates(network, campaign, search=typed, keep=chosen or [])
        return [{"label": f"{a} ({human(f)} follower{'' if f == 1 else 's'})", "value": a}
                for a, f in cand.rows()], search

    @app.callback(Output("wi-answer", "children"), Input("wi-accounts", "value"),
                  State("wi-campaign", "value"), State("wi-network", "value"))
    def estimate(accounts, campaign, network):
        if not accounts:
            return empty("Pick one or more accounts to see how many more people they add.")
        est = answer(reader, campaign, network, accounts)
        if est is None:
            return empty("No follower sketches in this lake: run `reach compute` (sketches "
                         "are on by default).")
        base = reader.reach_of(campaign, network)
        return html.Div([
            html.Span(f"+{human(round(est.estimate))}", id="wi-estimate",  # whole people
                      **{"data-estimate": f"{est.estimate:.6f}"},
                      style={"fontWeight": "700", "fontSize": "32px"}),
            html.Span(f" more distinct people on {network} (95%: {human(round(est.low))} – "
                      f"{human(round(est.high))}) if {len(accounts)} account(s) reshared."),
            html.P(baseline_words(base, est), id="wi-baseline",
                   style={"fontSize": "16px", "margin": "6px 0"}),
            *([html.P(ROUGH, id="wi-rough", style={"color": "#92400e"})]
              if est.rel_error > 0.25 else []),
            *([html.P(words, id="wi-partial", style={"color": "#92400e"})]
              if (words := partial_words(reader.partial_lists(
                  network, accounts + reader.exposer_ids(campaign, network)))) else [])])


def partial_words(partial) -> str | None:
    """What partial follower lists do to the answer, or None when every list is whole.

    The sketches hold the followers listed: a chosen account's unlisted followers are
    missed (too low), and people already reached through unlisted memberships look new
    (too high), so the number is neither exact nor a bound (README.md, "Metrics")."""
    if partial.height == 0:
        return None
    listed, reported = int(partial["listed"].sum()), int(partial["reported"].sum())
    return (f"{partial.height:,} of the accounts involved list fewer followers than they "
            f"report ({human(listed)} of {human(reported)} listed, "
            f"{listed / reported:.0%}). This answer counts listed followers only: it can be "
            "too low (followers not listed) or too high (people already reached whose "
            "follow is not listed). Load fuller lists for a firm answer.")


def baseline_words(base: dict | None, est) -> str:
    """The campaign's reach now, and what the estimate adds to it in per cent."""
    if base is None or base["total_reach"] is None:
        return ("Its reach on this network now is unknown (no follower graph), so the "
                "added people cannot be put in proportion.")
    now = base["total_reach"]
    how = "" if base["method"] in (None, "exact") else f" (estimated: {base['method']})"
    if now == 0:
        return f"It reaches nobody there yet{how}: every added person is new."
    digits = 1 if est.high / now < 0.1 else 0  # +3.2 % but +397 %

    def share(x: float) -> str:
        return f"{x / now:+.{digits}%}"
    return (f"It reaches {now:,} distinct people there now{how}: that would be "
            f"{share(est.estimate)} (95%: {share(est.low)} to {share(est.high)}), "
            f"{round(now + est.estimate):,} in all.")
