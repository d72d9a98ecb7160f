-- acl.lua - the standard sharing contract (docs/SHARING.md): who may fetch one digital
-- asset, decided on chain, every request recorded. `ecert asset publish` deploys a copy per
-- asset (as acl-<12 random hex digits>) unless the owner names their own contract; its deployer is the
-- owner (contract.owner), and only the owner changes the rules.
--
-- A rule grants a requester, named by address, by organization (any role held for it)
-- or by role (e.g. inspector), with optional conditions: a purpose, a validity window, a
-- maximum number of granted accesses, and a required attestation of the requester's
-- real-name identity. The first rule that holds grants; when none does, the request is
-- refused; either way the request is recorded (who, asset, version, purpose, when,
-- granted or refused, and which rule) and announced as an `access` event.
--
-- init(asset)                     once, by the owner: the asset this contract guards
-- grant(rule)                     owner: rule = {address | org | role, purpose, from_ms,
--                                 until_ms, max, attested} -> its number
-- revoke(n)                       owner: rule n stops granting
-- rules()                         the rules, revoked ones marked
-- request(asset, version, purpose)  a requester asks; the answer {granted, rule, access}
-- may(address, roles, attested, purpose, now_ms)  read-only: what request would answer
--                                 for such a requester at that time (roles as
--                                 call.roles() lists them; a query has no clock)
-- log(after)                      the recorded requests after number `after` (0: from the
--                                 first), 100 a call, in order

local function must(cond, msg)
  if not cond then error(msg, 2) end
end

local function owner_only()
  must(call.caller == contract.owner, 'only the owner (' .. contract.owner ..
       ') changes the access rules')
end

function init(asset)
  owner_only()
  must(not storage.get('asset'), 'this contract already guards ' .. tostring(storage.get('asset')))
  must(type(asset) == 'string' and #asset >= 1 and #asset <= 63, 'asset: its id')
  storage.put('asset', asset)
  return asset
end

local function opt_str(v, max, what)
  if v == nil then return nil end
  must(type(v) == 'string' and #v >= 1 and #v <= max, what .. ': 1..' .. max .. ' bytes')
  return v
end

local function opt_int(v, what)
  if v == nil then return nil end
  must(math.type(v) == 'integer' and v >= 0, what .. ': a non-negative integer')
  return v
end

function grant(r)
  owner_only()
  must(type(r) == 'table', 'grant takes one table')
  local rule = {address = opt_str(r.address, 63, 'address'), org = opt_str(r.org, 31, 'org'),
                role = opt_str(r.role, 16, 'role'), purpose = opt_str(r.purpose, 100, 'purpose'),
                from_ms = opt_int(r.from_ms, 'from_ms'), until_ms = opt_int(r.until_ms, 'until_ms'),
                max = opt_int(r.max, 'max'), attested = r.attested == true or nil,
                granted = 0, height = call.height}
  local named = (rule.address and 1 or 0) + (rule.org and 1 or 0) + (rule.role and 1 or 0)
  must(named == 1, 'a rule names exactly one of address, org or role')
  local n = (storage.get('rules') or 0) + 1
  must(n <= 64, 'at most 64 rules')
  storage.put('rules', n)
  storage.put('r/' .. string.format('%02d', n), rule)
  emit('rule granted', {rule = n})
  return n
end

function revoke(n)
  owner_only()
  local k = 'r/' .. string.format('%02d', math.tointeger(n) or 0)
  local rule = storage.get(k)
  must(rule, 'no rule ' .. tostring(n))
  must(not rule.revoked, 'rule ' .. n .. ' was revoked already')
  rule.revoked = call.height
  storage.put(k, rule)
  emit('rule revoked', {rule = n})
  return n
end

function rules()
  local out = {}
  for _, e in ipairs(storage.range('r/')) do
    local r = e.value
    r.n = math.tointeger(tonumber(e.key:sub(3)))
    out[#out + 1] = r
  end
  return out
end

-- Whether rule r admits a requester of these facts now; nil or the reason it does not.
local function why_not(r, who, roles, attested, purpose, now)
  if r.revoked then return 'revoked' end
  if r.address and r.address ~= who then return 'another address' end
  if r.org then
    local found = false
    for _, x in ipairs(roles) do if x.org == r.org then found = true end end
    if not found then return 'not of ' .. r.org end
  end
  if r.role then
    local found = false
    for _, x in ipairs(roles) do if x.role == r.role then found = true end end
    if not found then return 'not a ' .. r.role end
  end
  if r.purpose and r.purpose ~= purpose then return 'for ' .. r.purpose .. ' only' end
  if r.from_ms and now < r.from_ms then return 'not yet valid' end
  if r.until_ms and now > r.until_ms then return 'expired' end
  if r.max and r.granted >= r.max then return 'used up (' .. r.max .. ')' end
  if r.attested and not attested then return 'the requester is not attested' end
  return nil
end

-- The first rule that admits, or nil and the reasons of the others.
local function decide(who, roles, attested, purpose, now)
  local reasons = {}
  for _, e in ipairs(storage.range('r/')) do
    local n = math.tointeger(tonumber(e.key:sub(3)))
    local why = why_not(e.value, who, roles, attested, purpose, now)
    if not why then return n, e.key, e.value end
    reasons[#reasons + 1] = 'rule ' .. n .. ': ' .. why
  end
  return nil, table.concat(reasons, '; ')
end

function request(asset, version, purpose)
  local guarded = storage.get('asset')
  must(guarded, 'this contract guards no asset yet (init)')
  must(asset == guarded, 'this contract guards ' .. guarded .. ', not ' .. tostring(asset))
  must(math.type(version) == 'integer' and version >= 1, 'version: 1, 2, ...')
  opt_str(purpose, 100, 'purpose')
  local n, k, rule = decide(call.caller, call.roles(), call.attested(), purpose, call.time_ms)
  local granted = n ~= nil
  if granted then
    rule.granted = rule.granted + 1
    storage.put(k, rule)
  end
  local seq = (storage.get('accesses') or 0) + 1
  storage.put('accesses', seq)
  local rec = {who = call.caller, asset = asset, version = version, purpose = purpose,
               time_ms = call.time_ms, height = call.height, tx = call.tx, granted = granted,
               rule = n, why = (not granted) and (k ~= '' and k or 'no rule grants') or nil}
  storage.put('x/' .. string.format('%010d', seq), rec)
  emit('access', {access = seq, who = call.caller, asset = asset, version = version,
                  granted = granted})
  return {granted = granted, rule = n, access = seq, asset = asset, version = version,
          why = rec.why}
end

function may(address, roles, attested, purpose, now_ms)
  must(type(address) == 'string', 'address: the requester')
  must(math.type(now_ms) == 'integer', 'now_ms: the time to judge at')
  local n, why = decide(address, roles or {}, attested == true, purpose, now_ms)
  return {may = n ~= nil, rule = n, why = n == nil and (why ~= '' and why or 'no rule grants') or nil}
end

function log(after)
  local out = {}
  local from = math.tointeger(after) and after > 0 and string.format('x/%010d', after) or nil
  for _, e in ipairs(storage.range('x/', from)) do
    local r = e.value
    r.access = math.tointeger(tonumber(e.key:sub(3)))
    out[#out + 1] = r
  end
  return out
end
