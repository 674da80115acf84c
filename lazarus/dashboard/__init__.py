"""`lazarus dashboard`: a live web page for the people who operate Lazarus.

- `state`: what the page shows. Pure shaping (rates from heartbeat deltas, lag history,
  per-model rows) apart from the sampler that reads Redis and Kafka in background threads.
- `server`: the Starlette app: `/` the page, `/api/state` JSON, `/healthz`, `/static/*`.

The page (`static/index.html`, `static/app.js`) polls `/api/state` and draws with Chart.js,
vendored in `static/` so nothing is fetched from the network.
"""
