-- wrk script for scripts/bench-daemon.sh: GET /v1/accounts/{email}/token for a random account of
-- the file named by BENCH_EMAILS (one email a line), with the API key of BENCH_API_KEY. Requests
-- are formatted once, up front, so wrk spends the same (small) effort per request on either server.
local emails = os.getenv("BENCH_EMAILS")
local key = os.getenv("BENCH_API_KEY")
local requests = {}

-- In init, not at load time: only then does wrk.format know the Host header.
init = function(args)
    for email in io.lines(emails) do
        local path = "/v1/accounts/" .. (email:gsub("@", "%%40")) .. "/token"
        requests[#requests + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
    end
    math.randomseed(os.time())
end

request = function()
    return requests[math.random(#requests)]
end
