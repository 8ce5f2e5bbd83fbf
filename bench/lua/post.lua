-- wrk script: send every request as a POST with the body from BENCH_BODY.
-- Headers (Authorization, Content-Type, Origin, ...) are given with wrk -H.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or ""
