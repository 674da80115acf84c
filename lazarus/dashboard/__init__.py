"""`lazarus dashboard`: a live web page for the people who operate Lazarus.

- `state`: what the page shows: the `Sampler` that reads Redis and Kafka in background
  threads and assembles `/api/state` from the pure parts beside it:
  `roles_view` (heartbeats -> role rows, events/s, dead letters), `lag_view` (the lag
  history) and `models_view` (pointers, timeline and metrics per version).
- `server`: the Starlette app: `/` the page, `/api/state` JSON, `/healthz`, `/static/*`.

The page (`static/index.html`, `static/app.js`) polls `/api/state` and draws with Chart.js,
vendored in `static/` so nothing is fetched from the network.
"""
