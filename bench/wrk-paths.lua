-- Many viewers in one wrk run: each request takes the next path from a file (one path per line,
-- `wrk … -s wrk-paths.lua URL -- PATHS_FILE`), round robin. The summary line comes from wrk-report.lua.
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
dofile(here .. 'wrk-report.lua')

local paths = {}
local i = 0

init = function(args)
  for line in io.lines(args[1]) do
    if line ~= '' then paths[#paths + 1] = line end
  end
  if #paths == 0 then error('no paths in ' .. tostring(args[1])) end
end

request = function()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
