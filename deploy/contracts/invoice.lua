-- invoice.lua - electronic invoices (docs/CONTRACTS.md), deployed on the invoice side
-- chain by the tax bureau: its account (contract.owner) receives a sealed copy of every
-- invoice, and the holders of the issuer role of the invoice chain for its organization
-- (contract.org) register the companies that may issue invoices.
--
-- register_issuer(address, name)    the tax bureau registers an invoice issuer
-- issue(number, buyer, amount, box) a registered issuer issues invoice `number` (unique
--                                   on the chain) of `amount` cents to `buyer`; `box` is
--                                   what `ecert contract call --seal FILE --to BUYER,TAX`
--                                   adds: {sealed = {address = box}, sha256}, the
--                                   contents sealed to the buyer and the tax bureau
-- accept(number)                    the buyer accepts it
-- reimburse(number)                 a company records its reimbursement, exactly once
-- get(number)                       the invoice (`ecert contract open` opens the box)
-- list(issuer, from_ms, to_ms [, after])
--                                   the tax bureau's view: the issuer's invoices issued
--                                   in [from_ms, to_ms], by time, up to 50 a call, with
--                                   the cursor to go on from

local PAGE = 50

local function must(cond, msg)
  if not cond then error(msg, 2) end
end

local function is_number(n)
  return type(n) == 'string' and #n >= 1 and #n <= 40 and n:match('^[%w%-/]+$') ~= nil
end

function register_issuer(address, name)
  must(call.has_role('issuer', contract.org), 'only the tax bureau (' .. contract.org ..
       ') registers invoice issuers')
  must(type(address) == 'string' and address:match('^ec1') ~= nil, 'address: an ecert address')
  must(type(name) == 'string' and #name > 0 and #name <= 128, 'name: 1..128 bytes')
  storage.put('issuer/' .. address, {name = name, by = call.caller, height = call.height})
  emit('issuer registered', {address = address, name = name})
  return true
end

function issue(number, buyer, amount, box)
  local issuer = storage.get('issuer/' .. call.caller)
  must(issuer, call.caller .. ' is not a registered invoice issuer')
  must(is_number(number), 'number: 1..40 of letters, digits, - and /')
  must(type(buyer) == 'string' and buyer:match('^ec1') ~= nil, 'buyer: an ecert address')
  must(math.type(amount) == 'integer' and amount > 0, 'amount: a positive integer (cents)')
  must(type(box) == 'table' and type(box.sealed) == 'table' and type(box.sha256) == 'string'
       and #box.sha256 == 32, 'the contents must come sealed (--seal FILE --to BUYER,TAX)')
  must(box.sealed[buyer], 'the contents are not sealed to the buyer')
  must(box.sealed[contract.owner], 'the contents are not sealed to the tax bureau (' ..
       contract.owner .. ')')
  local key = 'inv/' .. number
  must(not storage.get(key), 'invoice ' .. number .. ' exists')
  storage.put(key, {number = number, issuer = call.caller, issuer_name = issuer.name,
                    buyer = buyer, amount = amount, sha256 = box.sha256,
                    sealed = box.sealed, time_ms = call.time_ms, height = call.height,
                    state = 'issued'})
  storage.put('by/' .. call.caller .. '/' .. string.format('%015d', call.time_ms) .. '/' ..
              number, true)
  emit('issued', {number = number, issuer = call.caller, buyer = buyer, amount = amount})
  return {number = number, state = 'issued'}
end

local function load(number)
  local inv = storage.get('inv/' .. tostring(number))
  must(inv, 'no invoice ' .. tostring(number))
  return inv
end

function accept(number)
  local inv = load(number)
  must(call.caller == inv.buyer, 'only the buyer accepts invoice ' .. number)
  must(inv.state == 'issued', 'invoice ' .. number .. ' is ' .. inv.state)
  inv.state = 'accepted'
  inv.accepted_ms = call.time_ms
  storage.put('inv/' .. number, inv)
  emit('accepted', {number = number})
  return {number = number, state = 'accepted'}
end

function reimburse(number)
  local inv = load(number)
  must(inv.state ~= 'reimbursed', 'invoice ' .. number .. ' was reimbursed already (by ' ..
       tostring(inv.reimbursed_by) .. ')')
  must(inv.state == 'accepted', 'invoice ' .. number .. ' is not accepted by its buyer')
  inv.state = 'reimbursed'
  inv.reimbursed_by = call.caller
  inv.reimbursed_ms = call.time_ms
  storage.put('inv/' .. number, inv)
  emit('reimbursed', {number = number, by = call.caller, amount = inv.amount})
  return {number = number, state = 'reimbursed'}
end

function get(number)
  return storage.get('inv/' .. tostring(number))
end

function list(issuer, from_ms, to_ms, after)
  must(type(issuer) == 'string', 'issuer: an address')
  must(math.type(from_ms) == 'integer' and math.type(to_ms) == 'integer', 'from_ms, to_ms: integers')
  local prefix = 'by/' .. issuer .. '/'
  local start = after or (prefix .. string.format('%015d', from_ms > 0 and from_ms - 1 or 0) .. '/~')
  local out, last = {}, nil
  for _, e in ipairs(storage.range(prefix, start, PAGE)) do
    local t = tonumber(e.key:sub(#prefix + 1, #prefix + 15))
    if t > to_ms then return {invoices = out} end
    local inv = storage.get('inv/' .. e.key:sub(#prefix + 17))
    out[#out + 1] = {number = inv.number, buyer = inv.buyer, amount = inv.amount,
                     time_ms = inv.time_ms, state = inv.state, sha256 = inv.sha256}
    last = e.key
  end
  return {invoices = out, next = #out == PAGE and last or nil}
end
