-- assets.lua - the directory of shared data (docs/SHARING.md): every digital asset the
-- agencies publish on the share chain, with its versions, its owner and its history.
-- Deployed once per share chain (by convention as `assets`). The data itself never comes
-- here: a version names the integrity hash of the encrypted file and the ODS (operational
-- data store, `odsd`) of the owning agency that serves it; who may fetch it is decided by
-- the asset's own access contract (deploy/contracts/acl.lua, or the owner's own).
--
-- An agency acts for an organization when it holds the issuer role of the share chain
-- for that organization ("publisher").
--
-- publish(a)             a = {org, title, description, data_type ('structured' or
--                        'unstructured'), schema (structured only), keywords = {...},
--                        acl (the access contract's name), ods (endpoint), size, hash
--                        (BLAKE2b-256 of the encrypted file: bin32), access (the content key sealed to
--                        the owner: bin), text (optional: small data on chain, sealed)}
--                        -> {id, version}
-- update(id, v)          a new version: v = {size, hash, ods, access, text, note}
-- withdraw(id, reason)   no version is served any more
-- set_acl(id, acl)       the owner names another access contract
-- transfer(id, org)      offers the asset to another organization ...
-- accept(id)             ... whose publisher takes it; the history keeps who held it when
-- asset(id)              the record and its current version
-- version(id, n)         version n
-- search(f)              f = {data_type, org, keyword, since_ms, after}: up to 50 matches,
--                        newest id first is not promised: ids in key order, and `next`
--                        to go on from

local PAGE, SCAN = 50, 20 -- matches a search returns; ranges (of 100) it looks at

local function must(cond, msg)
  if not cond then error(msg, 2) end
end

local function str(v, max, what)
  must(type(v) == 'string' and #v >= 1 and #v <= max, what .. ': 1..' .. max .. ' bytes')
  return v
end

local function publisher(org)
  must(call.has_role('issuer', org), call.caller .. ' does not publish for ' .. org ..
       ' (it needs the issuer role of this chain for that organization)')
end

local function key(id) return 'a/' .. id end
local function vkey(id, n) return 'v/' .. id .. '/' .. string.format('%06d', n) end

local function load(id)
  local a = storage.get(key(tostring(id)))
  must(a, 'no asset ' .. tostring(id))
  return a
end

-- The fields of a version, checked.
local function version_of(v)
  must(type(v) == 'table', 'a version is a table')
  must(math.type(v.size) == 'integer' and v.size >= 0, 'size: bytes of the data')
  must(type(v.hash) == 'string' and #v.hash == 32, 'hash: the encrypted file\'s hash (32 bytes)')
  must(type(v.access) == 'string' and #v.access > 0 and #v.access <= 256,
       'access: the content key sealed to the owner')
  if v.ods ~= nil then str(v.ods, 200, 'ods') end
  if v.text ~= nil then str(v.text, 4096, 'text') end
  if v.note ~= nil then str(v.note, 200, 'note') end
  must(v.ods or v.text, 'a version is served by an ODS (ods) or carried on chain (text)')
  return {size = v.size, hash = v.hash, access = v.access, ods = v.ods, text = v.text,
          note = v.note, by = call.caller, height = call.height, time_ms = call.time_ms,
          tx = call.tx}
end

function publish(a)
  must(type(a) == 'table', 'publish takes one table')
  local org = str(a.org, 31, 'org')
  publisher(org)
  must(a.data_type == 'structured' or a.data_type == 'unstructured',
       'data_type: structured or unstructured')
  if a.data_type == 'structured' then str(a.schema, 4096, 'schema (structured data)') end
  str(a.acl, 63, 'acl (the access contract)')
  local words = {}
  for i, w in ipairs(a.keywords or {}) do
    if i > 16 then break end
    words[#words + 1] = string.lower(str(w, 40, 'keyword'))
  end
  local n = (storage.get('count') or 0) + 1
  storage.put('count', n)
  local id = 'A' .. n
  local v = version_of(a)
  storage.put(vkey(id, 1), v)
  storage.put(key(id), {id = id, org = org, owner = call.caller,
                        title = str(a.title, 200, 'title'),
                        description = a.description and str(a.description, 2000, 'description'),
                        data_type = a.data_type, schema = a.schema, keywords = words,
                        algorithm = 'blake2b-256', cipher = 'xchacha20poly1305-secretstream',
                        acl = a.acl, state = 'published', version = 1,
                        published_ms = call.time_ms, updated_ms = call.time_ms,
                        history = {{org = org, from_height = call.height, tx = call.tx}}})
  emit('published', {id = id, org = org, version = 1, data_type = a.data_type, title = a.title})
  return {id = id, version = 1}
end

local function owned(id)
  local a = load(id)
  publisher(a.org)
  must(a.state ~= 'withdrawn', 'asset ' .. id .. ' was withdrawn')
  return a
end

function update(id, v)
  local a = owned(id)
  a.version = a.version + 1
  a.updated_ms = call.time_ms
  storage.put(vkey(id, a.version), version_of(v))
  storage.put(key(id), a)
  emit('updated', {id = id, org = a.org, version = a.version})
  return {id = id, version = a.version}
end

function withdraw(id, reason)
  local a = owned(id)
  a.state = 'withdrawn'
  a.withdrawn = {reason = str(reason, 200, 'reason'), height = call.height, tx = call.tx}
  storage.put(key(id), a)
  emit('withdrawn', {id = id, org = a.org})
  return {id = id, state = a.state}
end

function set_acl(id, acl)
  local a = owned(id)
  a.acl = str(acl, 63, 'acl')
  storage.put(key(id), a)
  emit('acl', {id = id, acl = acl})
  return {id = id, acl = acl}
end

function transfer(id, org)
  local a = owned(id)
  a.offered_to = str(org, 31, 'org')
  storage.put(key(id), a)
  emit('offered', {id = id, from = a.org, to = org})
  return {id = id, offered_to = org}
end

function accept(id)
  local a = load(id)
  must(a.offered_to, 'asset ' .. id .. ' is not offered to anyone')
  publisher(a.offered_to)
  local from = a.org
  a.org, a.owner, a.offered_to = a.offered_to, call.caller, nil
  a.history[#a.history + 1] = {org = a.org, from_height = call.height, tx = call.tx}
  storage.put(key(id), a)
  emit('transferred', {id = id, from = from, to = a.org})
  return {id = id, org = a.org}
end

function asset(id)
  local a = storage.get(key(tostring(id)))
  if a then a.current = storage.get(vkey(a.id, a.version)) end
  return a
end

function version(id, n)
  return storage.get(vkey(tostring(id), n))
end

local function matches(a, f)
  if f.data_type and a.data_type ~= f.data_type then return false end
  if f.org and a.org ~= f.org then return false end
  if f.since_ms and a.updated_ms < f.since_ms then return false end
  if f.state and a.state ~= f.state then return false end
  if f.keyword then
    local k = string.lower(f.keyword)
    if string.find(string.lower(a.title), k, 1, true) then return true end
    if a.description and string.find(string.lower(a.description), k, 1, true) then return true end
    for _, w in ipairs(a.keywords) do if w == k then return true end end
    return false
  end
  return true
end

function search(f)
  f = f or {}
  local out, after = {}, f.after
  for _ = 1, SCAN do
    local page = storage.range('a/', after)
    for _, e in ipairs(page) do
      after = e.key
      local a = e.value
      if matches(a, f) then
        out[#out + 1] = {id = a.id, org = a.org, title = a.title, data_type = a.data_type,
                         keywords = a.keywords, version = a.version, state = a.state,
                         acl = a.acl, updated_ms = a.updated_ms}
        if #out == PAGE then return {assets = out, next = after} end
      end
    end
    if #page < 100 then return {assets = out} end
  end
  return {assets = out, next = after}
end
