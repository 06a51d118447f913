-- post.lua - POST a fixed list of objects through the API, each once, as fast as
-- the server takes them, then stop. Used by bench/run.sh to load the API
-- authorizations of the authorization benchmark (and their namespaces).
--
-- KW_REQUESTS is a file of lines "PATH<TAB>X-Namespace<TAB>JSON body", e.g.
--   /apiauthorizations	/tenants/t000	{"name":"p00",...}
-- Line k goes to wrk thread k % KW_THREADS; all lines of one file must be
-- independent of each other (load parents in an earlier file). A thread that
-- has sent its lines parks its connections (delay()) and, once every answer
-- is in, writes "done" to its progress file and stops; bench/run.sh watches the
-- progress files (same format as load.lua's) and ends wrk with SIGINT.
--
-- Environment:
--   KW_TOKEN       bearer token
--   KW_REQUESTS    the request file
--   KW_THREADS     wrk's -t value
--   KW_PROGRESS    progress file prefix (thread id appended)
--   KW_ACCEPT_DUP  "1": a 422 Duplicate Key counts as done (repair pass)

local token     = os.getenv("KW_TOKEN") or ""
local nthreads  = tonumber(os.getenv("KW_THREADS") or "1")
local progress  = os.getenv("KW_PROGRESS") or "/tmp/keyward-post-progress."
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

local lines = {}
local mine, finished, skip_verify

local function write_progress()
   local f = io.open(progress .. tostring(tid), "w")
   if f then
      f:write(string.format("%d %d %d %d %d\n", acked, dup, failed, mine,
                            finished and 1 or 0))
      f:close()
   end
end

function init(args)
   local k = 0
   for line in io.lines(os.getenv("KW_REQUESTS")) do
      if k % nthreads == tid then
         local path, ns, body = string.match(line, "^([^\t]+)\t([^\t]+)\t(.*)$")
         if path then
            lines[#lines + 1] = wrk.format("POST", path, {
               ["Authorization"] = "Bearer " .. token,
               ["Content-Type"]  = "application/json",
               ["X-Namespace"]   = ns,
            }, body)
         end
      end
      k = k + 1
   end
   mine = #lines
   finished = (mine == 0)
   -- wrk calls request() once on thread 0 before starting it, to check the
   -- request; that call must not use up a line.
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
   if skip_verify or sent >= mine then
      skip_verify = false
      return wrk.format("GET", "/health", {}, nil)
   end
   sent = sent + 1
   return lines[sent]
end

function response(status, hdrs, body)
   if status == 200 then
      if string.find(body, '"status":"ok"', 1, true) and
         not string.find(body, '"object":', 1, true) then
         return -- a /health answer
      end
      acked = acked + 1
   elseif status == 422 and acceptdup and
          string.find(body, "Duplicate", 1, true) then
      dup = dup + 1
   else
      failed = failed + 1
      if failed <= 3 then
         io.stderr:write(string.format("post: status %d: %s\n", status,
                                       string.sub(body, 1, 300)))
      end
   end
   local n = acked + dup + failed
   if n >= mine then
      finished = true
      write_progress()
      wrk.thread:stop()
   elseif n % 200 == 0 then
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
