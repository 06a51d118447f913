-- load.lua - create a fixed set of namespaces through the API, as fast as the
-- server takes them, then stop. Used by bench/run.sh to build the 1M-object
-- data set:
--   parents:  /bench/gPPPP            (P = parent index, 4 digits)
--   children: /bench/gPPPP/cCCCC      (C = 0 .. KW_NCHILDREN-1)
-- Children with C % 4 == 3 get description "tier-3", C % 4 == 1 "tier-1",
-- the others none.
--
-- The tasks are split over the wrk threads (task k goes to thread k % threads).
-- A thread that has sent all its tasks parks its connections (delay()) and,
-- once every answer is in, writes "done" to its progress file and stops;
-- bench/run.sh watches the progress files and ends wrk with SIGINT.
--
-- Environment:
--   KW_TOKEN          bearer token
--   KW_LOAD_MODE      "parents" or "children"
--   KW_NPARENTS       number of parents (indices 0 .. N-1) unless KW_LOAD_PARENTS
--   KW_LOAD_PARENTS   optional file with the parent indices to load, one a line
--   KW_NCHILDREN      children per parent
--   KW_THREADS        wrk's -t value
--   KW_PROGRESS       progress file prefix (thread id appended)
--   KW_ACCEPT_DUP     "1": a 422 Duplicate Key counts as done (repair pass)

local token     = os.getenv("KW_TOKEN") or ""
local mode      = os.getenv("KW_LOAD_MODE") or "children"
local nchildren = tonumber(os.getenv("KW_NCHILDREN") or "1000")
local nthreads  = tonumber(os.getenv("KW_THREADS") or "1")
local progress  = os.getenv("KW_PROGRESS") or "/tmp/keyward-load-progress."
local acceptdup = os.getenv("KW_ACCEPT_DUP") == "1"

local threads = {}
local nsetup  = 0

function setup(thread)
   thread:set("tid", nsetup)
   nsetup = nsetup + 1
   table.insert(threads, thread)
end

-- per-thread state
acked  = 0    -- 200, the object was created
dup    = 0    -- 422 Duplicate Key (already there; counted as done on repair)
failed = 0    -- anything else
sent   = 0

local parents = {}
local total, mine, nextk, finished
local skip_verify
local headers = { ["Authorization"] = "Bearer " .. token,
                  ["Content-Type"]  = "application/json" }

local function write_progress()
   local f = io.open(progress .. tostring(tid), "w")
   if f then
      f:write(string.format("%d %d %d %d %d\n", acked, dup, failed, mine,
                            finished and 1 or 0))
      f:close()
   end
end

function init(args)
   local list = os.getenv("KW_LOAD_PARENTS")
   if list and list ~= "" then
      for line in io.lines(list) do
         local n = tonumber(line)
         if n then parents[#parents + 1] = n end
      end
   else
      for i = 0, tonumber(os.getenv("KW_NPARENTS") or "1000") - 1 do
         parents[#parents + 1] = i
      end
   end
   if mode == "parents" then
      total = #parents
   else
      total = #parents * nchildren
   end
   if total > tid then
      mine = math.floor((total - 1 - tid) / nthreads) + 1
   else
      mine = 0
   end
   nextk = tid
   finished = (mine == 0)
   -- wrk calls request() once on thread 0 before starting it, to check the
   -- request; that call must not use up a task.
   skip_verify = (tid == 0)
   write_progress()
end

function delay()
   if sent >= mine then
      return 3600000 -- park the connection: nothing left to send
   end
   return 0
end

function request()
   if skip_verify then
      skip_verify = false
      return wrk.format("GET", "/health", {}, nil)
   end
   if sent >= mine then
      return wrk.format("GET", "/health", {}, nil)
   end
   local k = nextk
   nextk = nextk + nthreads
   sent = sent + 1
   local ns, body
   if mode == "parents" then
      ns = "/bench"
      body = string.format('{"name":"g%04d"}', parents[k + 1])
   else
      local p = parents[math.floor(k / nchildren) + 1]
      local c = k % nchildren
      ns = string.format("/bench/g%04d", p)
      if c % 4 == 3 then
         body = string.format('{"name":"c%04d","description":"tier-3"}', c)
      elseif c % 4 == 1 then
         body = string.format('{"name":"c%04d","description":"tier-1"}', c)
      else
         body = string.format('{"name":"c%04d"}', c)
      end
   end
   headers["X-Namespace"] = ns
   return wrk.format("POST", "/namespaces", headers, body)
end

function response(status, hdrs, body)
   if status == 200 then
      if not string.find(body, '"object":"namespace"', 1, true) then
         return -- a /health answer
      end
      acked = acked + 1
   elseif status == 422 and acceptdup and
          string.find(body, "Duplicate", 1, true) then
      dup = dup + 1
   else
      failed = failed + 1
      if failed <= 3 then
         io.stderr:write(string.format("load: status %d: %s\n", status,
                                       string.sub(body, 1, 300)))
      end
   end
   local n = acked + dup + failed
   if n >= mine then
      finished = true
      write_progress()
      wrk.thread:stop()
   elseif n % 1000 == 0 then
      write_progress()
   end
end

function done(summary, latency, requests)
   local a, d, f = 0, 0, 0
   for _, t in ipairs(threads) do
      a = a + (t:get("acked") or 0)
      d = d + (t:get("dup") or 0)
      f = f + (t:get("failed") or 0)
   end
   io.write(string.format("RESULT acked=%d dup=%d failed=%d requests=%d duration_us=%d\n",
                          a, d, f, summary.requests, summary.duration))
end
