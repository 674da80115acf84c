"""`lazarus dashboard`: a live web page for the people who operate Lazarus.

- `state`: what the page shows: the `Sampler` that reads Redis and Kafka in background
  threads and assembles `/api/state` from the pure parts beside it:
  `roles_view` (heartbeats -> role rows, events/s, dead letters), `lag_view` (the lag
  history) and `models_view` (pointers, timeline and metrics per version).
- `sites_feed`: the site map's data, tailed from the located input topics and the score
  topics in a thread of its own, shaped by `sites_view` (the latest location and score per
  site, bounded) into `/api/sites`.
- `server`: the Starlette app: `/` the page, `/api/state` JSON, `/healthz`, `/static/*`, and
  `/metrics`: every live role's Prometheus metrics on one page (`metrics_proxy`).

The page (`static/index.html`, `static/app.js`) polls `/api/state` and draws with Chart.js,
vendored in `static/` so nothing is fetched from the network; `static/map.js` polls
`/api/sites` and draws the site map over a world outline vendored in `static/vendor/` (Natural
Earth via npm `world-atlas`, made by `scripts/vendor-map`).
"""
