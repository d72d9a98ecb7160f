-- license.lua - the business-license rule ("intelligent law", docs/CONTRACTS.md), deployed
-- on the license side chain by the licensing authority (its organization is contract.org).
--
-- An applicant applies with the facts a regulation asks for. The rule decides what is
-- clear and forwards what is not:
--   refused    when a condition clearly fails; the result names the rule that failed
--   approved   when every condition holds
--   escalated  when the application is ambiguous (its name is close to a name already
--              licensed or applied for): a licensing officer, a holder of the issuer role
--              of the license chain for contract.org, settles it with a signed decision
--              (ecert contract decide ... --decision '"approve"' or
--              '{"refuse": "reason"}'), which calls on_decision.
-- The authority then issues the license certificate and records it with issued(), so
-- the application, the decision and the certificate are linked on chain; audit_trail()
-- lists those transactions for `ecert audit decision`.
--
-- apply(app)            app = {name, address, scope, capital}; capital in yuan
-- on_decision(id, request, decision)
-- issued(app_id, cert)  cert: the certificate's id (hex); the authority's issuers only
-- application(app_id)   the record of an application
-- audit_trail(decision) what `ecert audit decision` proves, in order

local MIN_CAPITAL = 30000
local SCOPES = {catering = true, retail = true, software = true, consulting = true,
                manufacturing = true, logistics = true}
local REQUIRED = {'name', 'address', 'scope', 'capital'}

-- A name as people would confuse it: lower case, letters and digits only.
local function norm(s)
  return (string.lower(s):gsub('[^%w]', ''))
end

-- Edit distance of a and b, stopping early once it is above `max`.
local function distance(a, b, max)
  if math.abs(#a - #b) > max then return max + 1 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur, best = {[0] = i}, i
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if cur[j] < best then best = cur[j] end
    end
    if best > max then return max + 1 end
    prev = cur
  end
  return prev[#b]
end

-- A name already taken (licensed or applied for) that is close to n, or nil. Names are
-- kept under 'name/<first three characters>' so only those few are compared.
local function close_name(n)
  for _, e in ipairs(storage.range('name/' .. n:sub(1, 3))) do
    local other = e.key:sub(6)
    if distance(n, other, 2) <= 2 then return other, e.value end
  end
  return nil
end

local function next_id()
  local id = (storage.get('count') or 0) + 1
  storage.put('count', id)
  return id
end

local function save(id, rec)
  storage.put('app/' .. id, rec)
  emit(rec.state, {id = id, name = rec.name, rule = rec.rule})
  return {id = id, state = rec.state, rule = rec.rule, decision = rec.decision}
end

function apply(app)
  if type(app) ~= 'table' then error('apply takes one table: {name, address, scope, capital}') end
  local rec = {applicant = call.caller, tx = call.tx, height = call.height,
               name = app.name, address = app.address, scope = app.scope,
               capital = app.capital, state = 'refused'}
  local id = next_id()
  if not call.attested() then
    rec.rule = 'rule 1: the applicant\'s real-name identity must be attested'
    return save(id, rec)
  end
  for _, f in ipairs(REQUIRED) do
    if app[f] == nil or app[f] == '' then
      rec.rule = 'rule 2: the field \'' .. f .. '\' is required'
      return save(id, rec)
    end
  end
  if type(app.name) ~= 'string' or #norm(app.name) < 3 or #app.name > 128 then
    rec.rule = 'rule 2: the name must have 3..128 characters, letters or digits among them'
    return save(id, rec)
  end
  if math.type(app.capital) ~= 'integer' or app.capital < MIN_CAPITAL then
    rec.rule = 'rule 3: the registered capital must be at least ' .. MIN_CAPITAL .. ' yuan'
    return save(id, rec)
  end
  if type(app.scope) ~= 'string' or not SCOPES[app.scope] then
    rec.rule = 'rule 4: the business scope is not one that can be licensed'
    return save(id, rec)
  end
  local n = norm(app.name)
  local taken = storage.get('name/' .. n)
  if taken then
    rec.rule = 'rule 5: the name is taken (application ' .. taken .. ')'
    return save(id, rec)
  end
  local other, other_id = close_name(n)
  storage.put('name/' .. n, id) -- reserved while it is decided
  if other then
    rec.state = 'escalated'
    rec.similar = other_id
    rec.decision = escalate('issuer', {application = id, name = app.name,
                                       similar_to = other_id}, contract.org)
    storage.put('decision/' .. rec.decision, id)
    return save(id, rec)
  end
  rec.state = 'approved'
  rec.rule = 'all conditions hold'
  return save(id, rec)
end

function on_decision(decision_id, request, decision)
  local id = request.application
  local rec = storage.get('app/' .. id)
  if not rec or rec.state ~= 'escalated' then error('application ' .. id .. ' awaits no decision') end
  rec.officer = call.caller
  rec.decided_tx = call.tx
  if decision == 'approve' then
    rec.state = 'approved'
    rec.rule = 'approved by a licensing officer (decision ' .. decision_id .. ')'
  elseif type(decision) == 'table' and type(decision.refuse) == 'string' then
    rec.state = 'refused'
    rec.rule = 'refused by a licensing officer: ' .. decision.refuse
    storage.del('name/' .. norm(rec.name))
  else
    error('a decision is "approve" or {"refuse": "reason"}')
  end
  return save(id, rec)
end

function issued(id, cert)
  if not call.has_role('issuer', contract.org) then
    error('only an issuer of ' .. contract.org .. ' records an issued license')
  end
  local rec = storage.get('app/' .. id)
  if not rec then error('no application ' .. tostring(id)) end
  if rec.state ~= 'approved' then error('application ' .. id .. ' is ' .. rec.state) end
  if type(cert) ~= 'string' or not cert:match('^%x+$') or #cert ~= 64 then
    error('cert is a certificate id: 64 hex digits')
  end
  rec.state = 'licensed'
  rec.cert = cert
  rec.issued_tx = call.tx
  return save(id, rec)
end

function application(id)
  return storage.get('app/' .. id)
end

function audit_trail(decision_id)
  local id = storage.get('decision/' .. decision_id)
  local r = id and storage.get('app/' .. id)
  if not r then return {} end
  local out = {{what = 'application ' .. id .. ' (' .. r.name .. ')', tx = r.tx}}
  if r.decided_tx then out[#out + 1] = {what = 'decision: ' .. r.rule, tx = r.decided_tx} end
  if r.cert then out[#out + 1] = {what = 'license certificate issued', tx = r.cert} end
  if r.issued_tx then out[#out + 1] = {what = 'issuance recorded', tx = r.issued_tx} end
  return out
end
